"""The main job's pipeline, for real: sim, policy node and command source as separate processes.

The committed default policy (config/sim.yaml) must walk through the ROS nodes in MuJoCo: the
node reaches ``walk`` without a fault, the robot stays up and follows the command. The same
code path as ``make sim`` and the MuJoCo walking gate (athena_bringup.session / sim_demo.score).
"""

from pathlib import Path

import pytest
from athena_bringup.nodes import configured_model_path, sim_nodes
from athena_bringup.session import run_nodes
from athena_bringup.sim_demo import WARMUP_S, score

WORKSPACE = Path(__file__).resolve().parents[3]
CMD = (0.5, 0.0, 0.0)


def test_default_policy_walks_through_the_ros_nodes() -> None:
    model = WORKSPACE / configured_model_path()
    if not model.exists():
        pytest.fail(f"the default policy {model} is missing")
    obs = run_nodes(sim_nodes(str(model), {}, CMD), WARMUP_S + 10.0)
    m = score(obs, CMD)
    node = next(v for k, v in obs.diagnostics.items() if k.startswith("athena_policy_node"))
    assert node["mode"] == "walk", node
    assert all(node[k] == "0" for k in node if k.startswith("faults.")), node
    assert not m["fell"], m
    # 10 s scored at 0.5 m/s: the robot covers most of the 5 m and tracks the speed
    assert m["distance"] > 3.5, m
    assert m["lin_vel_error"] < 0.15, m
