"""Teleop: a gamepad (``sensor_msgs/Joy``) or the terminal's keyboard → ``cmd_vel`` and modes.

``ros2 run athena_bringup joy_teleop`` (beside ``ros2 run joy joy_node``) and
``ros2 run athena_bringup keyboard_teleop``, parameters in config/teleop.yaml. Both publish
``geometry_msgs/Twist`` on ``cmd_vel`` (REP-103: x forward, y left, yaw counter-clockwise) and
ask the policy node for its modes through its services (``/policy_node/stand``, ``walk``,
``damp``, ``passive``); the node decides whether a request is allowed (modes.py) and the
answer is printed. A teleop that dies simply stops publishing: the node then ramps the
command to zero and the robot stands in place (command.py).

The mappings are plain functions (:func:`joy_to_command`, :func:`pressed`, :func:`apply_key`)
so that they are tested without a gamepad or a terminal.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from dataclasses import dataclass

import rclpy
from geometry_msgs.msg import Twist
from rclpy.node import Node
from sensor_msgs.msg import Joy
from std_srvs.srv import Trigger

from athena_bringup.cmd_vel_source import CMD_QOS, spin

MODES = ("passive", "stand", "walk", "damp")


@dataclass(frozen=True)
class Limits:
    """Full stick (or the keyboard's limit) in each direction, m/s and rad/s."""

    vx_forward: float = 1.0
    vx_backward: float = 0.5
    vy: float = 0.3
    yaw: float = 0.8


@dataclass(frozen=True)
class JoyMapping:
    """Which axis and button does what (defaults: an Xbox-layout pad under joy_node)."""

    axis_vx: int = 1          # left stick up/down (+1 up = forward)
    axis_vy: int = 0          # left stick left/right (+1 left = left)
    axis_yaw: int = 3         # right stick left/right (+1 left = counter-clockwise)
    deadzone: float = 0.1
    button_stand: int = 0     # A
    button_damp: int = 1      # B: the e-stop
    button_walk: int = 2      # X
    button_passive: int = 3   # Y


def _axis(axes: list[float], i: int, deadzone: float) -> float:
    v = float(axes[i]) if 0 <= i < len(axes) else 0.0
    if abs(v) <= deadzone:
        return 0.0
    # rescale so that the command starts from 0 at the deadzone's edge, not from a jump
    return max(-1.0, min(1.0, (abs(v) - deadzone) / (1.0 - deadzone))) * (1 if v > 0 else -1)


def joy_to_command(axes: list[float], m: JoyMapping, lim: Limits) -> tuple[float, float, float]:
    """The velocity command (vx, vy, yaw rate) for the sticks' positions."""
    x = _axis(axes, m.axis_vx, m.deadzone)
    return (x * (lim.vx_forward if x > 0 else lim.vx_backward),
            _axis(axes, m.axis_vy, m.deadzone) * lim.vy,
            _axis(axes, m.axis_yaw, m.deadzone) * lim.yaw)


def pressed(previous: list[int], buttons: list[int], m: JoyMapping) -> list[str]:
    """The modes whose buttons went down in this message (rising edges; e-stop first)."""
    order = (("damp", m.button_damp), ("passive", m.button_passive),
             ("stand", m.button_stand), ("walk", m.button_walk))

    def down(b: list[int], i: int) -> bool:
        return 0 <= i < len(b) and bool(b[i])
    return [mode for mode, i in order if down(buttons, i) and not down(previous, i)]


@dataclass(frozen=True)
class KeyState:
    """The keyboard teleop's current command."""

    vx: float = 0.0
    vy: float = 0.0
    yaw: float = 0.0


KEY_HELP = """athena keyboard teleop
  w/s  forward/backward  +/-{step_v:.2f} m/s      a/d  left/right  +/-{step_v:.2f} m/s
  q/e  turn left/right   +/-{step_yaw:.2f} rad/s   space  zero velocity
  1 stand   2 walk   p passive   x or 0  DAMP (e-stop)      Ctrl-C quit
"""
_KEY_MODES = {"1": "stand", "2": "walk", "p": "passive", "x": "damp", "0": "damp"}


def apply_key(s: KeyState, key: str, step_v: float, step_yaw: float,
              lim: Limits) -> tuple[KeyState, str | None]:
    """The command after ``key``, and the mode it asks for (or None)."""
    def clamp(v: float, lo: float, hi: float) -> float:
        return round(max(lo, min(hi, v)), 6)

    if key in _KEY_MODES:
        # the e-stop also zeroes the command: nothing moves when the robot is brought back
        return (KeyState() if _KEY_MODES[key] == "damp" else s), _KEY_MODES[key]
    dv = {"w": (step_v, 0, 0), "s": (-step_v, 0, 0), "a": (0, step_v, 0), "d": (0, -step_v, 0),
          "q": (0, 0, step_yaw), "e": (0, 0, -step_yaw)}.get(key)
    if key == " ":
        return KeyState(), None
    if dv is None:
        return s, None
    return KeyState(clamp(s.vx + dv[0], -lim.vx_backward, lim.vx_forward),
                    clamp(s.vy + dv[1], -lim.vy, lim.vy),
                    clamp(s.yaw + dv[2], -lim.yaw, lim.yaw)), None


# --------------------------------------------------------------------------- ROS nodes
def _twist(v: tuple[float, float, float]) -> Twist:
    msg = Twist()
    msg.linear.x, msg.linear.y, msg.angular.z = map(float, v)
    return msg


class _Teleop(Node):
    """Common to both: limits, the cmd_vel publisher, the policy node's mode services."""

    def __init__(self, name: str, **kwargs) -> None:
        super().__init__(name, **kwargs)
        d = Limits()
        p = self.declare_parameter
        self.limits = Limits(*(float(p(k, getattr(d, k)).value)
                               for k in ("vx_forward", "vx_backward", "vy", "yaw")))
        target = str(p("policy_node", "/policy_node").value).rstrip("/")
        self.pub = self.create_publisher(Twist, "cmd_vel", CMD_QOS)
        self._mode_clients = {m: self.create_client(Trigger, f"{target}/{m}") for m in MODES}

    def request(self, mode: str) -> None:
        """Ask the policy node for ``mode``; its answer is logged when it comes."""
        client = self._mode_clients[mode]
        if not client.service_is_ready():
            self.get_logger().error(f"{client.srv_name} is not available: is the policy "
                                    "node running?")
            return
        future = client.call_async(Trigger.Request())

        def done(f) -> None:  # noqa: ANN001 - rclpy Future
            r = f.result()
            text = f"{mode}: {r.message}" if r is not None else f"{mode}: no answer"
            if r is not None and r.success:
                self.get_logger().info(text)
            else:
                self.get_logger().warning(text)
        future.add_done_callback(done)


class JoyTeleop(_Teleop):
    """sensor_msgs/Joy → cmd_vel (one per Joy message) and mode requests on button presses."""

    def __init__(self, **kwargs) -> None:
        super().__init__("joy_teleop", **kwargs)
        d = JoyMapping()
        p = self.declare_parameter
        self.mapping = JoyMapping(**{k: type(getattr(d, k))(p(k, getattr(d, k)).value)
                                     for k in JoyMapping.__dataclass_fields__})
        self._buttons: list[int] = []
        self.create_subscription(Joy, "joy", self._on_joy, 10)

    def _on_joy(self, msg: Joy) -> None:
        for mode in pressed(self._buttons, list(msg.buttons), self.mapping):
            self.request(mode)
        self._buttons = list(msg.buttons)
        self.pub.publish(_twist(joy_to_command(list(msg.axes), self.mapping, self.limits)))


class KeyboardTeleop(_Teleop):
    """Keys from the terminal → the command (published at ``rate_hz``) and mode requests."""

    def __init__(self, **kwargs) -> None:
        super().__init__("keyboard_teleop", **kwargs)
        p = self.declare_parameter
        self.step_v = float(p("step_v", 0.1).value)
        self.step_yaw = float(p("step_yaw", 0.2).value)
        rate = float(p("rate_hz", 10.0).value)
        self.state = KeyState()
        self.closed = False            # the keyboard's input went away
        self._lock = threading.Lock()
        self.create_timer(1.0 / rate, self._publish)

    def on_key(self, key: str) -> None:
        """One key press."""
        with self._lock:
            self.state, mode = apply_key(self.state, key, self.step_v, self.step_yaw,
                                         self.limits)
            s = self.state
        if mode is not None:
            self.request(mode)
        sys.stdout.write(f"\rvx {s.vx:+.2f} m/s  vy {s.vy:+.2f} m/s  yaw {s.yaw:+.2f} rad/s   ")
        sys.stdout.flush()

    def _publish(self) -> None:
        with self._lock:
            s = self.state
        if self.closed:
            return
        self.pub.publish(_twist((s.vx, s.vy, s.yaw)))

    def read_keys(self, fd: int, stop: threading.Event) -> None:
        """Read single keys from ``fd`` until ``stop`` is set or the input closes."""
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(fd, 32)
            if not data:  # the terminal went away: stop publishing (the node ramps to zero)
                self.closed = True
                self.get_logger().warning("keyboard input closed: no more cmd_vel")
                return
            for ch in data.decode(errors="ignore"):
                self.on_key(ch)


def joy_main(args: list[str] | None = None) -> None:
    """``ros2 run athena_bringup joy_teleop --ros-args --params-file config/teleop.yaml``."""
    rclpy.init(args=args)
    spin(JoyTeleop())


def keyboard_main(args: list[str] | None = None) -> None:
    """``ros2 run athena_bringup keyboard_teleop`` in a terminal of its own."""
    rclpy.init(args=args)
    node = KeyboardTeleop()
    fd = sys.stdin.fileno()
    stop = threading.Event()
    old = None
    if os.isatty(fd):  # keys one at a time, without echo; restored on exit
        import termios
        import tty
        old = termios.tcgetattr(fd)
        tty.setcbreak(fd)
    print(KEY_HELP.format(step_v=node.step_v, step_yaw=node.step_yaw), flush=True)
    reader = threading.Thread(target=node.read_keys, args=(fd, stop), daemon=True)
    reader.start()
    try:
        spin(node)
    finally:
        stop.set()
        if old is not None:
            import termios
            try:
                termios.tcsetattr(fd, termios.TCSADRAIN, old)
            except termios.error:
                pass  # the terminal is gone: nothing to restore
