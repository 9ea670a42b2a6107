"""Workspace layout and ROS packaging: every package is a well-formed ament_python package."""

import configparser
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p.parent for p in (ROOT / "src").glob("*/package.xml"))
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
    assert root.find("export/build_type").text == "ament_python"


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.name)
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
