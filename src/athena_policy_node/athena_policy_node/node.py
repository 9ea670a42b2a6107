"""The athena policy node: ROS wiring around the controller core (controller.py).

Imu + JointState + cmd_vel in; ``joint_command`` (athena_msgs/JointCommand: position,
velocity, kp, kd, feed-forward torque per joint, and the mode) out at 500 Hz; operator modes
by services ``~/passive``, ``~/stand``, ``~/walk``, ``~/damp``; ``/diagnostics`` at 1 Hz. The
modes, checks, observation, policy and gains are all in the controller; this file turns
messages into its inputs and its commands into messages, and runs the loop.

Loop (``loop_mode``), measured side by side in benchmarks/policy_node_rate.py:
``timer`` (default) — an rclpy timer (steady clock) in the executor's thread: one Python
thread for callbacks and control, so no GIL contention; the steadiest period here.
``thread`` — a dedicated thread on the monotonic clock with absolute deadlines. ``event`` —
one tick per ``joint_states`` message, the driver's clock (a watchdog ticks at 1.5 periods
without data so that stale sensors are still detected). The control thread (the spinning
thread for ``timer``) gets the configured SCHED_FIFO priority and CPU affinity. The latest
inputs are replaced atomically by the callbacks; a tick only reads them.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from array import array
from collections import deque

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist, TwistStamped
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger

from athena_description import ContractError, default_policy_contract, load_robot_contract
from athena_msgs.msg import JointCommand as JointCommandMsg
from athena_policy_node.command import CommandConfig
from athena_policy_node.controller import (
    CmdSample,
    Controller,
    ControllerConfig,
    ImuSample,
    JointCommand,
    JointSample,
)
from athena_policy_node.inference import load_backend
from athena_policy_node.modes import Mode, Refused
from athena_policy_node.observation import JointMatcher, MissingJointsError
from athena_policy_node.realtime import (
    GcPauseMonitor,
    apply_realtime,
    current_policy,
    freeze_startup_objects,
    parse_cpus,
)
from athena_policy_node.safety import Fault, SafetyConfig

DIAG_NAME = "athena_policy_node: control loop"
# Commands are reliable (depth 1: only the newest matters), so that a driver subscribing with
# the default QoS (reliable) connects as well as one subscribing with sensor-data QoS.
COMMAND_QOS = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)


def _percentiles(samples: deque, qs=(50, 99)) -> list[float]:
    if not samples:
        return [float("nan")] * (len(qs) + 1)
    arr = np.fromiter(samples, dtype=float)
    return [*np.percentile(arr, qs), float(arr.max())]


def _f64(x: np.ndarray) -> array:
    """A float64[] message field without rosidl's per-element type check."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(x, dtype=np.float64).tobytes())
    return out


class PolicyNode(Node):
    """The controller core on ROS: inputs from topics, commands to the driver, modes by service."""

    def __init__(self, **kwargs) -> None:
        super().__init__("policy_node", **kwargs)
        p = self.declare_parameter
        model_path = p("model_path", "").value
        backend = p("backend", "auto").value
        self.loop_mode = p("loop_mode", "timer").value
        safety = SafetyConfig(
            sensor_timeout_s=p("sensor_timeout_s", SafetyConfig.sensor_timeout_s).value,
            sensor_lost_s=p("sensor_lost_s", SafetyConfig.sensor_lost_s).value,
            max_tilt_rad=p("max_tilt_rad", SafetyConfig.max_tilt_rad).value,
            quat_norm_tol=p("quat_norm_tol", SafetyConfig.quat_norm_tol).value,
            max_inference_s=p("max_inference_s", SafetyConfig.max_inference_s).value)
        command = CommandConfig(
            timeout_s=p("cmd_timeout_s", CommandConfig.timeout_s).value,
            ramp_s=p("cmd_ramp_s", CommandConfig.ramp_s).value,
            absurd_factor=p("cmd_absurd_factor", CommandConfig.absurd_factor).value)
        c = ControllerConfig
        auto_mode = str(p("auto_mode", "passive").value)
        if auto_mode not in ("passive", "walk"):
            raise ValueError(f"auto_mode must be 'passive' (wait for the operator) or 'walk' "
                             f"(simulation: stand and walk by itself), not {auto_mode!r}")
        cfg = ControllerConfig(
            stand_s=p("stand_s", c.stand_s).value,
            sensors_ready_s=p("sensors_ready_s", c.sensors_ready_s).value,
            auto_walk=auto_mode == "walk",
            stop_s=p("stop_s", c.stop_s).value,
            stand_from_walk_s=p("stand_from_walk_s", c.stand_from_walk_s).value,
            passive_damping_scale=p("passive_damping_scale", c.passive_damping_scale).value,
            damping_scale=p("damping_scale", c.damping_scale).value,
            max_policy_failures=p("max_policy_failures", c.max_policy_failures).value,
            infer_every_tick=bool(p("infer_every_tick", False).value))
        cmd_stamped = bool(p("cmd_vel_stamped", False).value)
        rate_scale = p("target_rate_scale", 1.0).value
        # Real-time settings of the control thread (for timer: the spinning thread), applied
        # from inside it; a refusal by the kernel is logged, a malformed value refused here.
        self.rt_priority = int(p("rt_priority", 0).value)
        self.cpu_affinity = parse_cpus(str(p("cpu_affinity", "").value))
        if self.rt_priority and not 1 <= self.rt_priority <= 99:
            raise ValueError(f"rt_priority {self.rt_priority} outside SCHED_FIFO's 1..99")
        self.scheduler = "default"
        if not model_path:
            raise ContractError("parameter model_path is empty: point it at an exported "
                                ".onnx (or .engine) policy")

        self.robot = load_robot_contract()
        self.backend = load_backend(model_path, backend, logger=self.get_logger())
        self.contract = self.backend.contract
        # Refuse to run a model built for another robot or another observation layout.
        self.contract.check_against_robot(self.robot, expected=default_policy_contract())
        self.ctl = Controller(self.robot, self.contract, self.backend.infer, safety, command,
                              cfg, rate_scale=rate_scale, log=self._log)
        self.matcher = JointMatcher(self.robot.joint_names)
        self.tick_s = self.ctl.tick_s

        # latest inputs, each replaced as a whole by its callback (atomic under the GIL)
        self._imu: ImuSample | None = None
        self._joints: JointSample | None = None
        self._cmd: CmdSample | None = None

        self.tick_log: deque = deque(maxlen=4096)   # monotonic time of each tick (tests)
        self._periods: deque = deque(maxlen=2000)
        self._gc = GcPauseMonitor()
        self._last_tick_t: float | None = None
        self._deadline_misses = 0
        self._ticks_in_window = 0
        self._window_t0 = time.monotonic()
        self._rate_hz = 0.0

        self.pub_cmd = self.create_publisher(JointCommandMsg, "joint_command", COMMAND_QOS)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics",
                                              QoSProfile(depth=10,
                                                         reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(Imu, "imu", self._on_imu, qos_profile_sensor_data)
        self.create_subscription(JointState, "joint_states", self._on_joints,
                                 qos_profile_sensor_data)
        self.create_subscription(TwistStamped if cmd_stamped else Twist, "cmd_vel", self._on_cmd,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        for mode in Mode:
            name = "damp" if mode is Mode.DAMPING else mode.value
            self.create_service(Trigger, f"~/{name}", self._mode_service(mode))
        self.create_timer(1.0, self._publish_diagnostics)

        self._msg = JointCommandMsg(name=self.robot.joint_names)
        self._running = True
        self._thread = None
        self._wake = threading.Event()  # set by each joint_states message (loop_mode event)
        if self.loop_mode in ("thread", "event"):
            loop = self._loop if self.loop_mode == "thread" else self._event_loop
            self._thread = threading.Thread(target=loop, name="athena_control", daemon=True)
        elif self.loop_mode == "timer":
            # on the steady clock: a step of the system clock (NTP, a user) must not stall it
            self.create_timer(self.tick_s, self._tick,
                              clock=Clock(clock_type=ClockType.STEADY_TIME))
        else:
            raise ValueError(f"loop_mode must be 'thread', 'event' or 'timer', "
                             f"not {self.loop_mode!r}")
        self.get_logger().info(
            f"policy node ready: model {model_path} (run {self.contract.run_id}), "
            f"{self.contract.rates.node_rate_hz:.0f} Hz, policy every "
            f"{self.ctl.ticks_per_policy} tick(s), loop {self.loop_mode}, mode "
            f"{self.ctl.mode.value}" + (", stands and walks by itself once the sensors are "
                                        "ready" if cfg.auto_walk else ", waiting for the "
                                        "operator (~/stand, then ~/walk)"))

    def _log(self, level: str, text: str) -> None:
        # (rclpy binds one severity and one throttle to each logging call site: one per level)
        log = self.get_logger()
        if level == "error":
            log.error(text)
        elif level == "warning":
            log.warning(text, throttle_duration_sec=1.0)
        else:
            log.info(text)

    # ----------------------------------------------------------------------- inputs
    def _on_imu(self, msg: Imu) -> None:
        o, w = msg.orientation, msg.angular_velocity
        # orientation_covariance[0] == -1: the IMU has no orientation estimate (the
        # sensor_msgs/Imu convention); its quaternion, often all zeros, means nothing
        self._imu = ImuSample(np.array([o.x, o.y, o.z, o.w]), np.array([w.x, w.y, w.z]),
                              time.monotonic(), msg.orientation_covariance[0] != -1.0)

    def _on_joints(self, msg: JointState) -> None:
        now = time.monotonic()
        try:
            q = self.matcher.reorder(msg.name, msg.position)
            qd = self.matcher.reorder(msg.name, msg.velocity)
        except MissingJointsError as exc:
            # until a good message comes, every tick sees the error (not only the next one)
            old = self._joints
            self._joints = JointSample(old.q if old else None, old.qd if old else None,
                                       old.t if old else now, msg.header.stamp, str(exc))
        else:
            self._joints = JointSample(q, qd, now, msg.header.stamp)
        if self.loop_mode == "event":  # (the other modes have no one waiting on it)
            self._wake.set()

    def _on_cmd(self, msg: Twist | TwistStamped) -> None:
        tw = msg.twist if isinstance(msg, TwistStamped) else msg
        self._cmd = CmdSample((tw.linear.x, tw.linear.y, tw.angular.z), time.monotonic())

    def _mode_service(self, mode: Mode):  # noqa: ANN202 - a Trigger callback
        def serve(_req: Trigger.Request, resp: Trigger.Response) -> Trigger.Response:
            try:
                resp.message = self.ctl.request(mode, "operator", time.monotonic())
                resp.success = True
            except Refused as exc:
                resp.success, resp.message = False, str(exc)
                self.get_logger().warning(f"request {mode.value}: {exc}")
            return resp
        return serve

    # ----------------------------------------------------------------------- loop
    def start(self) -> None:
        """Start the control thread (thread, event); for timer, call from the spinning thread.

        Everything built so far is frozen out of the garbage collector first (realtime.py).
        """
        frozen = freeze_startup_objects()
        self._gc.reset()  # from here on: the pauses the control loop can meet
        self.get_logger().info(f"{frozen} start-up objects frozen out of the garbage collector")
        if self._thread is not None:
            self._thread.start()
        else:  # timer: the ticks run in the thread that spins the executor, i.e. this one
            self._apply_realtime()

    def shutdown(self) -> None:
        """Stop the control loop, then send the driver one DAMPING command."""
        self._running = False
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self._gc.close()
        cmd = self.ctl.shutdown_command() if self._joints is not None else None
        if cmd is not None and self.context.ok():
            self._publish(cmd)

    def _apply_realtime(self) -> None:
        """SCHED_FIFO / CPU affinity for the calling (control) thread, as configured."""
        if self.rt_priority or self.cpu_affinity:
            apply_realtime(self.rt_priority, self.cpu_affinity, logger=self.get_logger())
        policy, prio, cpus = current_policy()
        self.scheduler = f"{policy} {prio} cpus {','.join(map(str, cpus))}"

    def _loop(self) -> None:
        self._apply_realtime()
        next_t = time.monotonic()
        while self._running and rclpy.ok(context=self.context):
            next_t += self.tick_s
            self._tick()
            delay = next_t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -5 * self.tick_s:
                next_t = time.monotonic()  # far behind: re-anchor instead of bursting

    def _event_loop(self) -> None:
        self._apply_realtime()
        watchdog = 1.5 * self.tick_s
        while self._running and rclpy.ok(context=self.context):
            self._wake.wait(timeout=watchdog)
            self._wake.clear()
            self._tick()

    def _tick(self) -> None:
        if not self._running:
            return
        now = time.monotonic()
        self._record_period(now)
        cmd = self.ctl.step(now, self._imu, self._joints, self._cmd)
        if cmd is not None:
            self._publish(cmd)

    def _publish(self, cmd: JointCommand) -> None:
        msg = self._msg
        # Stamped with the joint_states it reacts to, so latency is measurable end to end.
        if cmd.stamp is not None:
            msg.header.stamp = cmd.stamp
        msg.mode = cmd.mode.code
        msg.position = _f64(cmd.position)
        msg.velocity = _f64(cmd.velocity)
        msg.stiffness = _f64(cmd.stiffness)
        msg.damping = _f64(cmd.damping)
        msg.effort = _f64(cmd.effort)
        self.pub_cmd.publish(msg)

    # ----------------------------------------------------------------------- diagnostics
    def _record_period(self, now: float) -> None:
        self.tick_log.append(now)
        if self._last_tick_t is not None:
            period = now - self._last_tick_t
            self._periods.append(period)
            if period > self.tick_s + 0.001:
                self._deadline_misses += 1
        self._last_tick_t = now
        self._ticks_in_window += 1
        if now - self._window_t0 >= 1.0:
            self._rate_hz = self._ticks_in_window / (now - self._window_t0)
            self._ticks_in_window, self._window_t0 = 0, now

    def diagnostics(self) -> DiagnosticStatus:
        """The node's status: loop statistics, mode, faults, command."""
        p50, p99, pmax = _percentiles(self._periods)
        i50, i99, imax = _percentiles(self.ctl.infer_times)
        ctl, m = self.ctl, self.ctl.machine
        level = {Mode.WALK: DiagnosticStatus.OK, Mode.STAND: DiagnosticStatus.OK,
                 Mode.PASSIVE: DiagnosticStatus.WARN,
                 Mode.DAMPING: DiagnosticStatus.ERROR}[m.mode]
        t = ctl.last_transition
        values = {
            "mode": m.mode.value,
            "last_transition": f"{t.old.value} -> {t.new.value}: {t.why}" if t else "",
            "backend": self.backend.name,
            "model_run_id": self.contract.run_id,
            "control_thread_scheduler": self.scheduler,
            "loop_rate_hz": f"{self._rate_hz:.1f}",
            "period_p50_ms": f"{p50 * 1e3:.3f}",
            "period_p99_ms": f"{p99 * 1e3:.3f}",
            "period_max_ms": f"{pmax * 1e3:.3f}",
            "jitter_p99_ms": f"{(p99 - self.tick_s) * 1e3:.3f}",
            "deadline_misses": str(self._deadline_misses),
            "inference_p50_us": f"{i50 * 1e6:.1f}",
            "inference_p99_us": f"{i99 * 1e6:.1f}",
            "gc_collections": str(self._gc.count),
            "gc_pause_max_ms": f"{self._gc.max_s * 1e3:.3f}",
            "last_fault": m.last_fault.value if m.last_fault else "",
            "inputs": ctl.input_fault.value if ctl.input_fault else "ok",
            # stale sensors ridden out by holding the last command (a lost one is a fault)
            "sensor_gaps": str(ctl.gap.count),
            "sensor_gap_max_ms": f"{ctl.gap.longest_s * 1e3:.1f}",
            "cmd_age_s": f"{ctl.cmd.age(time.monotonic()):.3f}",  # "inf": none since walking
            "cmd_accepted": str(ctl.cmd.accepted),
            "cmd_rejected.non_finite": str(ctl.cmd.rejected["non-finite"]),
            "cmd_rejected.absurd": str(ctl.cmd.rejected["absurd"]),
        }
        for fault in Fault:
            values[f"faults.{fault.name.lower()}"] = str(m.faults[fault])
        return DiagnosticStatus(level=level, name=DIAG_NAME, hardware_id=self.robot.name,
                                message=m.mode.value,
                                values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _publish_diagnostics(self) -> None:
        arr = DiagnosticArray(status=[self.diagnostics()])
        arr.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(arr)


_STOP = threading.Event()   # set by SIGINT / SIGTERM; the main loop ends at its next turn


def _request_stop(_signum: int, _frame: object) -> None:
    # Only a flag: an exception raised from a signal handler lands wherever the main thread is,
    # e.g. inside rclpy's executor taking a message, and leaves it broken (a traceback, exit 1).
    _STOP.set()


def main(args: list[str] | None = None) -> int:
    """Entry point: ``ros2 run athena_policy_node policy_node``."""
    # rclpy's own signal handler shuts the context down at once on Ctrl-C, before the node
    # could send its driver the DAMPING command of a shutdown: handle SIGINT/SIGTERM here.
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    # (SIGINT too: a process started in the background of a script inherits it ignored)
    signal.signal(signal.SIGINT, _request_stop)
    signal.signal(signal.SIGTERM, _request_stop)
    try:
        node = PolicyNode()
    except (ContractError, FileNotFoundError, ValueError, RuntimeError) as exc:
        # Refuse to start: a clear reason, a non-zero exit, and never a target sent.
        rclpy.logging.get_logger("policy_node").fatal(f"refusing to start: {exc}")
        rclpy.try_shutdown()
        return 2
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    node.start()
    try:
        while rclpy.ok() and not _STOP.is_set():
            # (a bounded wait: the stop flag is seen within 50 ms even with no timer due)
            executor.spin_once(timeout_sec=0.05)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Ctrl-C under `ros2 launch` arrives twice (the terminal's, then the one launch sends
        # each process): the second must not interrupt the clean-up (exit -2, a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        node.shutdown()   # sends the driver DAMPING
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
