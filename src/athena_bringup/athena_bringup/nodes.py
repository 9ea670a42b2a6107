"""The node sets, declared once: sim.launch.py, robot.launch.py, sim_demo and evaluate read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

PACKAGE = "athena_bringup"


@dataclass
class NodeSpec:
    """One node: what to run, its name, parameter files (in order, later wins), overrides."""

    package: str
    executable: str
    name: str
    params_files: list[Path] = field(default_factory=list)
    parameters: dict = field(default_factory=dict)
    remappings: list[tuple[str, str]] = field(default_factory=list)


def share(package: str) -> Path:
    """A package's share directory (ament index; source tree as fallback)."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(package))
    except Exception:  # noqa: BLE001 - no index: running from the source tree
        return Path(__file__).resolve().parents[2] / package


def config(name: str) -> Path:
    """A file of athena_bringup's config/."""
    return share(PACKAGE) / "config" / name


def sim_nodes(model_path: str, sim_overrides: dict | None = None,
              cmd: tuple[float, float, float] | None = None,
              node_overrides: dict | None = None) -> list[NodeSpec]:
    """MuJoCo sim + policy node + fixed command source, parameters from config/sim.yaml."""
    bringup = config("sim.yaml")
    cmd_params = {} if cmd is None else dict(zip(("lin_vel_x", "lin_vel_y", "ang_vel_z"),
                                                  map(float, cmd)))
    return [
        NodeSpec("athena_sim", "sim_node", "sim_node",
                 [share("athena_sim") / "config" / "sim.yaml", bringup], sim_overrides or {}),
        NodeSpec("athena_policy_node", "policy_node", "policy_node",
                 [share("athena_policy_node") / "config" / "policy_node.yaml", bringup],
                 {"model_path": model_path, **(node_overrides or {})}),
        NodeSpec(PACKAGE, "cmd_vel_source", "cmd_vel_source", [bringup], cmd_params),
    ]


def robot_nodes(model_path: str | None = None, overrides: dict | None = None) -> list[NodeSpec]:
    """The policy node alone, remapped to the driver topics of config/robot_topics.yaml.

    ``overrides`` (e.g. backend, rt_priority, cpu_affinity) win over config/robot.yaml.
    """
    topics = yaml.safe_load(config("robot_topics.yaml").read_text())
    params = {**({"model_path": model_path} if model_path else {}), **(overrides or {})}
    return [NodeSpec("athena_policy_node", "policy_node", "policy_node",
                     [share("athena_policy_node") / "config" / "policy_node.yaml",
                      config("robot.yaml")], params,
                     [(k, v) for k, v in topics.items()])]


def configured_model_path(params_file: Path | None = None) -> str:
    """The policy_node.model_path set in config/sim.yaml."""
    data = yaml.safe_load((params_file or config("sim.yaml")).read_text())
    return data["policy_node"]["ros__parameters"]["model_path"]
