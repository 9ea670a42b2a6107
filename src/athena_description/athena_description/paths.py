"""Where athena_description's data files live, installed or in the source tree."""

from __future__ import annotations

from pathlib import Path

PACKAGE_NAME = "athena_description"
_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def share_dir() -> Path:
    """Return the package's share directory.

    Prefers the ament index (a colcon install or a ROS 2 distribution); falls back to the
    source tree so that the API also works from a plain checkout (tests, training on a
    cluster without ROS). Both hold the same files: ``setup.py`` installs the source
    tree's ``config/``, ``urdf/``, ``mjcf/`` and ``usd/`` into ``share/``.
    """
    try:
        from ament_index_python.packages import (
            PackageNotFoundError,
            get_package_share_directory,
        )

        try:
            return Path(get_package_share_directory(PACKAGE_NAME))
        except (PackageNotFoundError, OSError):
            # OSError: AMENT_PREFIX_PATH unset (no workspace or ROS sourced).
            pass
    except ImportError:
        pass
    return _SOURCE_ROOT


def data_file(*parts: str) -> Path:
    """Return the path of a data file, e.g. ``data_file("mjcf", "athena.xml")``.

    Raises:
        FileNotFoundError: if the file is not there, naming where it was looked for.
    """
    path = share_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"athena_description data file not found: {path}")
    return path


def robot_yaml() -> Path:
    """The robot contract file."""
    return data_file("config", "robot.yaml")


def policy_yaml() -> Path:
    """The policy contract defaults used by training."""
    return data_file("config", "policy.yaml")


def urdf_path() -> Path:
    """The URDF (for robot_state_publisher and URDF tools)."""
    return data_file("urdf", "athena.urdf")


def mjcf_path() -> Path:
    """The MJCF robot model (no floor)."""
    return data_file("mjcf", "athena.xml")


def mjcf_scene_path() -> Path:
    """The MJCF scene: the robot plus floor and lights."""
    return data_file("mjcf", "scene.xml")


def usd_path() -> Path:
    """The USD for Isaac Lab."""
    return data_file("usd", "athena.usda")
