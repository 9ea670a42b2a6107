"""Workspace layout and ROS packaging: well-formed ament_python packages, plus interfaces.

The Python packages are ament_python; interface packages (``msg/``) are ament_cmake, as
rosidl requires.
"""

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in (ROOT / "src").glob("*/package.xml"))
INTERFACES = [p for p in PACKAGES if (p / "msg").is_dir()]
PYTHON_PACKAGES = [p for p in PACKAGES if p not in INTERFACES]
REQUIRED = {"athena_description", "athena_policy_node", "athena_train", "athena_bringup"}


def test_required_packages_exist() -> None:
    present = {p.name for p in PACKAGES}
    missing = REQUIRED - present
    if missing and missing <= {"athena_policy_node", "athena_train", "athena_bringup"}:
        pytest.xfail(f"not yet in the workspace: {sorted(missing)}")
    assert not missing


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
def test_package_xml_format_3(pkg: Path) -> None:
    root = ET.parse(pkg / "package.xml").getroot()
    assert root.tag == "package" and root.get("format") == "3"
    assert root.findtext("name") == pkg.name
    assert root.findtext("license") == "Apache-2.0"
    want = "ament_cmake" if pkg in INTERFACES else "ament_python"
    assert root.find("export/build_type").text == want


@pytest.mark.parametrize("pkg", INTERFACES, ids=lambda p: p.name)
def test_interface_package(pkg: Path) -> None:
    root = ET.parse(pkg / "package.xml").getroot()
    assert root.findtext("member_of_group") == "rosidl_interface_packages"
    assert "rosidl_generate_interfaces" in (pkg / "CMakeLists.txt").read_text()


@pytest.mark.parametrize("pkg", PYTHON_PACKAGES, ids=lambda p: p.name)
def test_ament_python_layout(pkg: Path) -> None:
    assert (pkg / "resource" / pkg.name).is_file(), "resource-index marker missing"
    assert (pkg / pkg.name / "__init__.py").is_file()
    assert (pkg / "test" / "test_style.py").is_file(), "every package runs the style check"
    cfg = configparser.ConfigParser()
    cfg.read(pkg / "setup.cfg")
    assert cfg["develop"]["script_dir"] == f"$base/lib/{pkg.name}"
    assert cfg["install"]["install_scripts"] == f"$base/lib/{pkg.name}"


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
def test_installed_in_ament_index(pkg: Path) -> None:
    from ament_index_python.packages import get_package_share_directory

    share = Path(get_package_share_directory(pkg.name))
    assert (share / "package.xml").is_file()


def test_make_sim_from_a_plain_shell(tmp_path: Path) -> None:
    """The main job as a user runs it: `make sim` from a shell with no venv or overlay sourced."""
    import json
    import os
    import subprocess

    # what activating .venv and sourcing install/setup.bash set (the ROS wheels' loader marks
    # its LD_LIBRARY_PATH set-up as done in _ROS_WHEELS_BOOTSTRAP_COMPLETE)
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "AMENT_PREFIX_PATH", "COLCON_PREFIX_PATH",
            "CMAKE_PREFIX_PATH", "LD_LIBRARY_PATH", "PYTHONHOME")
    env = {k: v for k, v in os.environ.items()
           if k not in drop and not k.startswith(("_ROS_WHEELS", "VIRTUAL_ENV"))}
    ours = (str(ROOT / ".venv"), str(ROOT / "install"))
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(ours))
    summary = tmp_path / "summary.json"
    out = subprocess.run(["make", "sim", f"SIM_ARGS=--duration 6 --record '' --json {summary}"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "=== athena sim-to-sim summary ===" in out.stdout
    s = json.loads(summary.read_text())
    assert s["policy_node"]["mode"] == "walk", s["policy_node"]
    assert not s["fell"], s


def test_make_test_sets_up_everything_the_suite_needs() -> None:
    """`make test` installs the training stack before it tests; CI runs that same command.

    Nothing the suite needs is optional in `make test`, and CI sets up nothing of its own.
    """
    import subprocess

    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "scripts/setup.sh --train" in dry and "scripts/test.sh" in dry, dry
    ci = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text().splitlines()
          if ln.strip() and not ln.lstrip().startswith("#")]
    assert "make test" in ci, ci
    assert not any("setup.sh" in ln for ln in ci), "CI must not set up beyond `make test`"


def test_docs_and_code_reference_only_the_repository() -> None:
    """No pointer to material outside the repository (the contracts live in docs/)."""
    hits = []
    for base in ("src", "docs", "README.md"):
        for path in ([ROOT / base] if base.endswith(".md") else (ROOT / base).rglob("*")):
            if path.suffix in {".py", ".md", ".yaml", ".xml", ".cfg", ".sh", ".txt"}:
                for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if "shared/" in line:
                        hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not hits, "\n".join(hits)
    assert (ROOT / "docs" / "contracts.md").is_file()
