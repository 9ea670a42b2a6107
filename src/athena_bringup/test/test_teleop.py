"""Teleop: the mappings as functions, then a gamepad and a keyboard driving the real node.

Over DDS, against the real PolicyNode (the generated test policy, no sensors fed: the e-stop
and PASSIVE need none, and STAND must be refused without them).
"""

from __future__ import annotations

import os
import pty
import subprocess
import threading
import time
from pathlib import Path

import pytest
import rclpy
from athena_bringup.teleop import (
    JoyMapping,
    JoyTeleop,
    KeyState,
    Limits,
    apply_key,
    joy_to_command,
    pressed,
)
from geometry_msgs.msg import Twist
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from sensor_msgs.msg import Joy

LIM = Limits()
MAP = JoyMapping()


def test_sticks_map_to_rep103_velocities_with_a_deadzone() -> None:
    axes = [0.0] * 6
    assert joy_to_command(axes, MAP, LIM) == (0.0, 0.0, 0.0)
    axes[MAP.axis_vx], axes[MAP.axis_vy], axes[MAP.axis_yaw] = 1.0, 1.0, -1.0
    assert joy_to_command(axes, MAP, LIM) == pytest.approx((1.0, 0.3, -0.8))
    axes[MAP.axis_vx] = -1.0                      # full back: the backward limit
    assert joy_to_command(axes, MAP, LIM)[0] == pytest.approx(-0.5)
    axes[MAP.axis_vx] = 0.05                      # inside the deadzone
    assert joy_to_command(axes, MAP, LIM)[0] == 0.0
    axes[MAP.axis_vx] = 0.55                      # half-way between deadzone and full
    assert joy_to_command(axes, MAP, LIM)[0] == pytest.approx(0.5)
    assert joy_to_command([], MAP, LIM) == (0.0, 0.0, 0.0)   # a pad with fewer axes


def test_buttons_act_on_press_only_and_the_e_stop_comes_first() -> None:
    b = [0] * 8
    down = list(b)
    down[MAP.button_stand] = down[MAP.button_damp] = 1
    assert pressed(b, down, MAP) == ["damp", "stand"]
    assert pressed(down, down, MAP) == []        # held: nothing new
    assert pressed(down, b, MAP) == []           # released


def test_keys_step_the_command_within_limits_and_x_stops_everything() -> None:
    s = KeyState()
    for _ in range(20):
        s, mode = apply_key(s, "w", 0.1, 0.2, LIM)
    assert s.vx == pytest.approx(LIM.vx_forward) and mode is None
    s, _ = apply_key(s, "q", 0.1, 0.2, LIM)
    assert s.yaw == pytest.approx(0.2)
    assert apply_key(s, "2", 0.1, 0.2, LIM) == (s, "walk")
    assert apply_key(s, "x", 0.1, 0.2, LIM) == (KeyState(), "damp")
    assert apply_key(s, " ", 0.1, 0.2, LIM) == (KeyState(), None)
    assert apply_key(s, "?", 0.1, 0.2, LIM) == (s, None)


# ------------------------------------------------------------------ over DDS, the real node
@pytest.fixture
def graph(tmp_path):
    """The policy node and a listener, spun in a thread; yields (node, listener, add)."""
    from athena_policy_node.node import PolicyNode
    from athena_policy_node.test_policy import make_test_policy

    model = make_test_policy(tmp_path / "test_policy.onnx")
    context = rclpy.Context()
    rclpy.init(context=context)
    node = PolicyNode(context=context,
                      parameter_overrides=[Parameter("model_path", value=str(model))])
    listener = rclpy.create_node("listener", context=context)
    got: list[Twist] = []
    from athena_bringup.cmd_vel_source import CMD_QOS
    listener.create_subscription(Twist, "cmd_vel", got.append, CMD_QOS)
    ex = SingleThreadedExecutor(context=context)
    for n in (node, listener):
        ex.add_node(n)
    spinner = threading.Thread(target=ex.spin, daemon=True)
    spinner.start()
    yield node, got, ex, context
    ex.shutdown(timeout_sec=1.0)
    spinner.join(timeout=2.0)
    node.destroy_node()
    listener.destroy_node()
    rclpy.shutdown(context=context)


def _until(cond, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


def test_a_gamepad_drives_the_node(graph) -> None:
    from athena_policy_node.modes import Mode
    node, got, ex, context = graph
    teleop = JoyTeleop(context=context)
    ex.add_node(teleop)
    pad = rclpy.create_node("pad", context=context)
    pub = pad.create_publisher(Joy, "joy", 10)
    assert _until(lambda: all(c.service_is_ready() for c in teleop._mode_clients.values())
                  and pub.get_subscription_count() > 0)

    def send(buttons: dict[int, int] | None = None, vx: float = 0.0) -> None:
        b = [0] * 8
        for i, v in (buttons or {}).items():
            b[i] = v
        axes = [0.0] * 6
        axes[MAP.axis_vx] = vx
        pub.publish(Joy(axes=axes, buttons=b))

    send({MAP.button_damp: 1})                   # e-stop: DAMPING, no sensors needed
    assert _until(lambda: node.ctl.mode is Mode.DAMPING), node.ctl.machine.transitions
    send()
    send({MAP.button_passive: 1})
    assert _until(lambda: node.ctl.mode is Mode.PASSIVE), node.ctl.machine.transitions
    send()
    send({MAP.button_stand: 1})                  # refused: no sensor data
    time.sleep(0.3)
    assert node.ctl.mode is Mode.PASSIVE
    send(vx=1.0)                                 # full stick forward
    assert _until(lambda: got and got[-1].linear.x == pytest.approx(1.0))
    assert _until(lambda: node._cmd is not None and node._cmd.v[0] == pytest.approx(1.0))
    ex.remove_node(teleop)
    teleop.destroy_node()
    pad.destroy_node()


def _installed(executable: str) -> Path:
    from ament_index_python.packages import get_package_prefix
    return Path(get_package_prefix("athena_bringup")) / "lib" / "athena_bringup" / executable


def test_the_keyboard_drives_the_node_and_stops_when_its_terminal_closes(graph) -> None:
    from athena_policy_node.modes import Mode
    node, got, _, _ = graph
    leader, follower = pty.openpty()             # the terminal the operator types into
    proc = subprocess.Popen([str(_installed("keyboard_teleop"))], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ)
    os.close(follower)
    try:
        assert _until(lambda: len(got) > 0, timeout=15.0), "no cmd_vel from the keyboard"
        os.write(leader, b"ww")
        assert _until(lambda: got[-1].linear.x == pytest.approx(0.2))
        os.write(leader, b"x")                   # e-stop: command zero, node DAMPING
        assert _until(lambda: node.ctl.mode is Mode.DAMPING), node.ctl.machine.transitions
        assert _until(lambda: got[-1].linear.x == 0.0)
        os.close(leader)                         # the terminal closes
        leader = None
        time.sleep(0.5)
        n = len(got)
        time.sleep(0.5)
        assert len(got) == n, "still publishing after its terminal closed"
    finally:
        if leader is not None:
            os.close(leader)
        proc.send_signal(2)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out.decode()[-2000:]
    assert b"Traceback" not in out, out.decode()[-2000:]
