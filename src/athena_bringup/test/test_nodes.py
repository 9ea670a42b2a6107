"""The node sets: one declaration, real installed executables and parameter files."""

import os

from athena_bringup.nodes import configured_model_path, robot_nodes, sim_nodes
from athena_bringup.session import command_line


def test_sim_node_set_command_lines() -> None:
    specs = sim_nodes("/tmp/p.onnx", {"push_period_s": 5.0}, (0.5, 0.0, 0.1))
    assert [s.name for s in specs] == ["sim_node", "policy_node", "cmd_vel_source"]
    for s in specs:
        cmd = command_line(s)
        assert os.access(cmd[0], os.X_OK), cmd[0]
        files = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--params-file"]
        assert files and all(os.path.exists(f) for f in files)
        # overrides come after the files so that they win
        if s.parameters:
            assert cmd.index("-p") > max(i for i, a in enumerate(cmd) if a == "--params-file")
    assert "model_path:=/tmp/p.onnx" in command_line(specs[1])
    assert configured_model_path().endswith(".onnx")


def test_robot_node_set_remaps_driver_topics() -> None:
    (spec,) = robot_nodes()
    assert {a for a, _ in spec.remappings} == {"joint_states", "imu", "joint_targets", "cmd_vel"}


def test_robot_launch_arguments_override_the_yaml() -> None:
    (spec,) = robot_nodes("/m/policy.engine", {"backend": "tensorrt", "rt_priority": 80,
                                               "cpu_affinity": "3"})
    cmd = command_line(spec)
    last_file = max(i for i, a in enumerate(cmd) if a == "--params-file")
    for p in ("model_path:=/m/policy.engine", "backend:=tensorrt", "rt_priority:=80",
              "cpu_affinity:=3"):
        assert p in cmd and cmd.index(p) > last_file, (p, cmd)
