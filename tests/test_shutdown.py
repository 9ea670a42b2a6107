"""Ctrl-C: every node of the stack exits 0, without a traceback, even when SIGINT comes twice.

Under ``ros2 launch`` a Ctrl-C reaches each node twice: from the terminal (the whole process
group) and from launch, which sends SIGINT to each process it shuts down. Each node here runs
as its installed executable, as launch starts it, and gets two SIGINTs 50 ms apart once it is
in the ROS graph.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _specs():
    from athena_bringup.nodes import sim_nodes

    return sim_nodes(str(ROOT / "src/athena_train/policies/flat2/policy.onnx"), {},
                     (0.0, 0.0, 0.0))


@pytest.mark.parametrize("name", ["sim_node", "policy_node", "cmd_vel_source"])
def test_double_ctrl_c_exits_cleanly(name: str) -> None:
    import rclpy
    from athena_bringup.session import command_line

    spec = next(s for s in _specs() if s.name == name)
    proc = subprocess.Popen(command_line(spec), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = rclpy.create_node("shutdown_probe", context=context)
    try:
        deadline = time.monotonic() + 60.0
        while name not in probe.get_node_names() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(0.1)
        assert name in probe.get_node_names(), f"{name} never joined the graph"
        time.sleep(0.5)  # spinning by now
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        probe.destroy_node()
        rclpy.shutdown(context=context)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{out[-3000:]}"
    assert "Traceback" not in out, out[-3000:]


def test_ctrl_c_leaves_the_robot_in_damping() -> None:
    """The last command a driver receives from a policy node stopped by Ctrl-C is DAMPING."""
    import rclpy
    from athena_bringup.session import command_line
    from athena_policy_node.node import COMMAND_QOS

    from athena_msgs.msg import JointCommand

    procs = {s.name: subprocess.Popen(command_line(s), stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, env=dict(os.environ))
             for s in _specs() if s.name in ("sim_node", "policy_node")}
    context = rclpy.Context()
    rclpy.init(context=context)
    probe = rclpy.create_node("shutdown_probe", context=context)
    got: list[JointCommand] = []
    probe.create_subscription(JointCommand, "joint_command", got.append, COMMAND_QOS)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(probe)
    try:
        deadline = time.monotonic() + 90.0
        while not (got and got[-1].mode == JointCommand.MODE_WALK) \
                and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        assert got and got[-1].mode == JointCommand.MODE_WALK, "the robot never walked"
        procs["policy_node"].send_signal(signal.SIGINT)
        out, _ = procs["policy_node"].communicate(timeout=30)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            executor.spin_once(timeout_sec=0.05)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.communicate(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.communicate()
        executor.shutdown()
        probe.destroy_node()
        rclpy.shutdown(context=context)
    assert procs["policy_node"].returncode == 0, out[-3000:]
    last = got[-1]
    assert last.mode == JointCommand.MODE_DAMPING, last
    assert not any(last.stiffness) and all(d > 0 for d in last.damping)
