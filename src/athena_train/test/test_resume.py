"""kill -9 during training, then --resume: training continues from the last checkpoint.

Runs the real `python -m athena_train.train` (2 envs on the CPU) in a subprocess, kills it with
SIGKILL once a checkpoint is on disk, and resumes it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")


def _train_cmd(log_root: Path, iters: int, resume: bool) -> list[str]:
    cmd = [sys.executable, "-m", "athena_train.train", "--device", "cpu", "--num_envs", "2",
           "--max_iterations", str(iters), "--save_interval", "1", "--run_name", "kill9",
           "--log_root", str(log_root), "--seed", "3"]
    return cmd + (["--resume"] if resume else [])


def test_resume_after_kill9(tmp_path: Path) -> None:
    run_dir = tmp_path / "athena_flat" / "kill9"
    proc = subprocess.Popen(_train_cmd(tmp_path, 50, False), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.time() + 240
    try:
        while time.time() < deadline and not (run_dir / "model_2.pt").exists():
            assert proc.poll() is None, proc.stdout.read()[-3000:]
            time.sleep(0.2)
        assert (run_dir / "model_2.pt").exists(), "no checkpoint within 240 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = sorted(int(p.stem.split("_")[1]) for p in run_dir.glob("model_*.pt"))
    last = saved[-1]
    target = last + 3  # --max_iterations: iterations 0..target-1, so two more after `last`
    out = subprocess.run(_train_cmd(tmp_path, target, True), capture_output=True, text=True,
                         timeout=240)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert f"resumed from {run_dir / f'model_{last}.pt'}" in out.stdout
    assert (run_dir / f"model_{target - 1}.pt").exists(), sorted(run_dir.glob("model_*"))
    assert "ETA" in out.stdout  # the progress line
