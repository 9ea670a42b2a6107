"""Style: ruff (pycodestyle, pyflakes, isort, pydocstyle) over this package."""

import subprocess
import sys
from pathlib import Path


def test_ruff() -> None:
    pkg = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, "-m", "ruff", "check", str(pkg)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
