"""The athena policy node: Imu + JointState + cmd_vel → 23 joint targets at 500 Hz.

Where things live: the observation is built in observation.py, the safety logic (checks, state
machine, target limiter) in safety.py, inference in inference.py. This file wires them to ROS
and runs the loop.

Loop (``loop_mode``), measured side by side in benchmarks/policy_node_rate.py:
``timer`` (default) — an rclpy timer in the executor's thread: one Python thread for callbacks
and control, so no GIL contention; the steadiest period here (p99 = the bare-timer floor) and
the lowest inference jitter. ``thread`` — a dedicated thread on the monotonic clock with
absolute deadlines. ``event`` — one tick per ``joint_states`` message, the driver's clock
(lowest latency from measurement to target; a watchdog ticks at 1.5 periods without data so
that stale sensors are still detected). The control thread (the spinning thread for
``timer``) gets the configured SCHED_FIFO priority and CPU affinity. The latest sensor tuples
are replaced atomically by the callbacks; a tick only reads them.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections import deque

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import Twist, TwistStamped
from rclpy.clock import Clock, ClockType
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Imu, JointState
from std_srvs.srv import Trigger

from athena_description import ContractError, default_policy_contract, load_robot_contract
from athena_policy_node.command import CommandConfig, CommandFilter
from athena_policy_node.inference import load_backend
from athena_policy_node.observation import (
    JointMatcher,
    MissingJointsError,
    ObservationBuilder,
)
from athena_policy_node.realtime import (
    GcPauseMonitor,
    apply_realtime,
    current_policy,
    freeze_startup_objects,
    parse_cpus,
)
from athena_policy_node.safety import (
    Fault,
    SafetyConfig,
    StaleDebounce,
    State,
    StateMachine,
    TargetLimiter,
    check_sensors,
)

DIAG_NAME = "athena_policy_node: control loop"


def _percentiles(samples: deque, qs=(50, 99)) -> list[float]:
    if not samples:
        return [float("nan")] * (len(qs) + 1)
    arr = np.fromiter(samples, dtype=float)
    return [*np.percentile(arr, qs), float(arr.max())]


class PolicyNode(Node):
    """Runs the walking policy with the safety state machine of the contract."""

    def __init__(self, **kwargs) -> None:
        super().__init__("policy_node", **kwargs)
        p = self.declare_parameter
        model_path = p("model_path", "").value
        backend = p("backend", "auto").value
        self.loop_mode = p("loop_mode", "timer").value
        self.infer_every_tick = bool(p("infer_every_tick", False).value)
        self.auto_enable = bool(p("auto_enable", True).value)
        self.cfg = SafetyConfig(
            sensor_timeout_s=p("sensor_timeout_s", SafetyConfig.sensor_timeout_s).value,
            stale_ticks=p("stale_ticks", SafetyConfig.stale_ticks).value,
            max_tilt_rad=p("max_tilt_rad", 1.0).value,
            quat_norm_tol=p("quat_norm_tol", SafetyConfig.quat_norm_tol).value,
            max_inference_s=p("max_inference_s", SafetyConfig.max_inference_s).value,
            soft_start_s=p("soft_start_s", SafetyConfig.soft_start_s).value,
            sensors_ready_s=p("sensors_ready_s", SafetyConfig.sensors_ready_s).value,
        )
        cmd_cfg = CommandConfig(
            timeout_s=p("cmd_timeout_s", CommandConfig.timeout_s).value,
            ramp_s=p("cmd_ramp_s", CommandConfig.ramp_s).value,
            absurd_factor=p("cmd_absurd_factor", CommandConfig.absurd_factor).value)
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
        self.builder = ObservationBuilder(self.contract)
        self.matcher = JointMatcher(self.robot.joint_names)
        rates = self.contract.rates
        self.tick_s = 1.0 / rates.node_rate_hz
        self.ticks_per_policy = 1 if self.infer_every_tick else rates.ticks_per_policy_step
        self.limiter = TargetLimiter(self.robot, rates.policy_dt, rate_scale)
        self.sm = StateMachine()
        self._stale_debounce = StaleDebounce(self.cfg.stale_ticks)
        self.cmd = CommandFilter(self.contract.command_ranges, cmd_cfg)
        self._cmd_lost = False    # the command's timeout has been logged

        # latest inputs, each replaced as a whole tuple by its callback (atomic under the GIL)
        self._imu = None          # (quat_xyzw, ang_vel, t_recv, orientation_valid)
        self._joints = None       # (q, qd, t_recv, stamp_msg)
        self._joint_error: str | None = None
        self._stop_requested = False
        self._enable_requested = False

        self._tick_count = 0      # ticks since RUNNING began: the policy's clock
        self._ready_ticks = 0     # consecutive fault-free ticks while WAITING
        self._soft_start_t0 = 0.0
        self._soft_start_q0 = self.robot.default_positions
        self._last_action = np.zeros(self.robot.num_joints)
        self._policy_target = self.robot.default_positions.copy()
        self._hold = self.robot.default_positions.copy()
        self._last_good_q: np.ndarray | None = None

        self.tick_log: deque = deque(maxlen=4096)   # monotonic time of each tick (tests)
        self.safe_since: float | None = None         # monotonic time the safe mode began
        self._periods: deque = deque(maxlen=2000)
        self._infer_times: deque = deque(maxlen=2000)
        self._gc = GcPauseMonitor()
        self._last_tick_t: float | None = None
        self._deadline_misses = 0
        self._ticks_in_window = 0
        self._window_t0 = time.monotonic()
        self._rate_hz = 0.0

        self.pub_targets = self.create_publisher(JointState, "joint_targets",
                                                 qos_profile_sensor_data)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics",
                                              QoSProfile(depth=10,
                                                         reliability=ReliabilityPolicy.RELIABLE))
        self.create_subscription(Imu, "imu", self._on_imu, qos_profile_sensor_data)
        self.create_subscription(JointState, "joint_states", self._on_joints,
                                 qos_profile_sensor_data)
        self.create_subscription(TwistStamped if cmd_stamped else Twist, "cmd_vel", self._on_cmd,
                                 QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        self.create_service(Trigger, "~/enable", self._srv_enable)
        self.create_service(Trigger, "~/stop", self._srv_stop)
        self.create_timer(1.0, self._publish_diagnostics)

        self._msg = JointState(name=self.robot.joint_names)
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
            f"{rates.node_rate_hz:.0f} Hz, policy every {self.ticks_per_policy} tick(s), "
            f"loop {self.loop_mode}, state {self.sm.state.value}")

    # ----------------------------------------------------------------------- inputs
    def _on_imu(self, msg: Imu) -> None:
        o, w = msg.orientation, msg.angular_velocity
        # orientation_covariance[0] == -1: the IMU has no orientation estimate (REP-145 / the
        # sensor_msgs/Imu convention); its quaternion, often all zeros, means nothing
        self._imu = (np.array([o.x, o.y, o.z, o.w]), np.array([w.x, w.y, w.z]),
                     time.monotonic(), msg.orientation_covariance[0] != -1.0)

    def _on_joints(self, msg: JointState) -> None:
        try:
            q = self.matcher.reorder(msg.name, msg.position)
            qd = self.matcher.reorder(msg.name, msg.velocity)
        except MissingJointsError as exc:
            self._joint_error = str(exc)
            return
        self._joints = (q, qd, time.monotonic(), msg.header.stamp)
        if self.loop_mode == "event":  # (the other modes have no one waiting on it)
            self._wake.set()

    def _on_cmd(self, msg: Twist | TwistStamped) -> None:
        tw = msg.twist if isinstance(msg, TwistStamped) else msg
        reason = self.cmd.offer((tw.linear.x, tw.linear.y, tw.angular.z), time.monotonic())
        if reason is not None:  # the robot walks on with the last good command
            self.get_logger().warning(
                f"cmd_vel rejected ({reason}: {tw.linear.x}, {tw.linear.y}, {tw.angular.z}); "
                f"keeping the last valid command", throttle_duration_sec=1.0)

    def _srv_enable(self, _req, resp):
        self._enable_requested = True
        resp.success, resp.message = True, f"enable requested (state {self.sm.state.value})"
        return resp

    def _srv_stop(self, _req, resp):
        self._stop_requested = True
        resp.success, resp.message = True, "stop requested: entering safe mode"
        return resp

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
        """Stop the control thread."""
        self._running = False
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self._gc.close()

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

    def _transition(self, t) -> None:
        if t is not None:
            old, new, why = t
            text = f"state {old.value} -> {new.value}: {why}"
            # (rclpy binds one severity to each logging call site: two calls, not one)
            if new is State.SAFE:
                self.get_logger().error(text)
            else:
                self.get_logger().info(text)

    def _enter_safe(self, fault: Fault) -> None:
        self._hold = (self._last_good_q if self._last_good_q is not None
                      else self.limiter.previous if self.limiter.previous is not None
                      else self.robot.default_positions).copy()
        t = self.sm.fault(fault)
        if t is not None:
            self.safe_since = time.monotonic()
        self._transition(t)

    def _tick(self) -> None:
        now = time.monotonic()
        self._record_period(now)
        imu, joints, sm = self._imu, self._joints, self.sm

        if self._stop_requested:
            self._stop_requested = False
            self._enter_safe(Fault.STOP_REQUEST)
        if self._joint_error is not None:
            self.get_logger().error(self._joint_error, throttle_duration_sec=1.0)
            self._joint_error = None
            if sm.state is not State.WAITING or joints is None:
                self._enter_safe(Fault.MISSING_JOINTS)
        if imu is None or joints is None:
            return  # nothing measured yet: publish nothing
        quat, ang_vel, imu_t, orientation_valid = imu
        q, qd, joints_t, stamp = joints
        fault = self._stale_debounce(check_sensors(now, imu_t, joints_t, quat, orientation_valid,
                                                   (quat, ang_vel, q, qd), self.cfg))
        if fault is None:
            self._last_good_q = q
        if self._enable_requested:
            self._enable_requested = False
            if fault is None:
                self._begin_soft_start(q, self.sm.enable())
            else:
                self.get_logger().warning(f"enable refused: {fault.value}")
        if sm.state is State.WAITING:
            self._ready_ticks = self._ready_ticks + 1 if fault is None else 0
            if self.auto_enable and self._ready_ticks * self.tick_s >= self.cfg.sensors_ready_s:
                self._begin_soft_start(q, sm.sensors_ready())
            else:
                return
        elif sm.state in (State.SOFT_START, State.RUNNING) and fault is not None:
            if fault in StaleDebounce.STALE:  # which input went quiet, and for how long
                self.get_logger().error(
                    f"sensor ages: imu {(now - imu_t) * 1e3:.1f} ms, joint_states "
                    f"{(now - joints_t) * 1e3:.1f} ms "
                    f"(limit {self.cfg.sensor_timeout_s * 1e3:.0f} ms)")
            self._enter_safe(fault)

        if sm.state is State.SOFT_START:
            alpha = min(1.0, (now - self._soft_start_t0) / max(self.cfg.soft_start_s, 1e-6))
            target = self._soft_start_q0 + alpha * (self.robot.default_positions
                                                    - self._soft_start_q0)
            if alpha >= 1.0:
                self._transition(sm.soft_start_done())
                self._tick_count = 0
                self._last_action[:] = 0.0
                self._policy_target = self.robot.default_positions.copy()
        elif sm.state is State.RUNNING:
            if self._tick_count % self.ticks_per_policy == 0:
                self._run_policy(quat, ang_vel, q, qd, self._command(now))
            self._tick_count += 1
            target = self._policy_target if sm.state is State.RUNNING else self._hold
        else:
            target = self._hold
        self._publish(self.limiter(target), stamp)

    def _begin_soft_start(self, q: np.ndarray, transition) -> None:
        if transition is None:
            return
        self._transition(transition)
        self.cmd.reset()  # a command from before the enable does not come back
        self._soft_start_t0 = time.monotonic()
        self._soft_start_q0 = np.clip(q, self.robot.lower_limits, self.robot.upper_limits)
        self.limiter.reset(self._soft_start_q0)

    def _command(self, now: float) -> np.ndarray:
        """The velocity command for this policy step; logs when the operator's went quiet."""
        lost = self.cmd.timed_out(now)
        if lost and not self._cmd_lost:
            age = self.cmd.age(now)
            since = "since the enable" if age == float("inf") else f"for {age:.2f} s"
            self.get_logger().warning(
                f"no valid cmd_vel {since}: the command ramps to zero over "
                f"{self.cmd.cfg.ramp_s:.1f} s (the robot stops walking, keeps balancing)")
        self._cmd_lost = lost
        return self.cmd.value(now)

    def _run_policy(self, quat, ang_vel, q, qd, cmd) -> None:
        # Gait phase on the control clock (ticks × period), as training counts policy steps:
        # it advances exactly one policy period per policy step, whatever the wall clock did.
        obs = self.builder.build(ang_vel, quat, cmd, self._tick_count * self.tick_s, q, qd,
                                 self._last_action)
        t0 = time.perf_counter()
        try:
            action = self.backend.infer(obs[None, :])[0]
        except Exception as exc:  # any backend failure is a fault, never a crash
            self.get_logger().error(f"inference failed: {exc!r}")
            self._enter_safe(Fault.INFERENCE_ERROR)
            return
        dt = time.perf_counter() - t0
        self._infer_times.append(dt)
        if dt > self.cfg.max_inference_s:
            self._enter_safe(Fault.INFERENCE_OVERRUN)
            return
        if not np.isfinite(action).all():
            self._enter_safe(Fault.NON_FINITE_ACTION)
            return
        clip = self.contract.action_clip
        self._last_action = np.clip(action.astype(np.float64), -clip, clip)
        self._policy_target = self.contract.actions_to_targets(self._last_action, self.robot)

    def _publish(self, target: np.ndarray, stamp) -> None:
        msg = self._msg
        # Stamped with the joint_states it reacts to, so latency is measurable end to end.
        msg.header.stamp = stamp
        msg.position = target.tolist()
        self.pub_targets.publish(msg)

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
        """The node's status: loop statistics, state, faults."""
        p50, p99, pmax = _percentiles(self._periods)
        i50, i99, imax = _percentiles(self._infer_times)
        level = {State.RUNNING: DiagnosticStatus.OK, State.SOFT_START: DiagnosticStatus.OK,
                 State.WAITING: DiagnosticStatus.WARN,
                 State.SAFE: DiagnosticStatus.ERROR}[self.sm.state]
        values = {
            "state": self.sm.state.value,
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
            "last_fault": self.sm.last_fault.value if self.sm.last_fault else "",
            "cmd_age_s": f"{self.cmd.age(time.monotonic()):.3f}",  # "inf": none since enable
            "cmd_accepted": str(self.cmd.accepted),
            "cmd_rejected.non_finite": str(self.cmd.rejected["non-finite"]),
            "cmd_rejected.absurd": str(self.cmd.rejected["absurd"]),
        }
        for fault in Fault:
            values[f"faults.{fault.name.lower()}"] = str(self.sm.faults[fault])
        return DiagnosticStatus(level=level, name=DIAG_NAME, hardware_id=self.robot.name,
                                message=self.sm.state.value,
                                values=[KeyValue(key=k, value=v) for k, v in values.items()])

    def _publish_diagnostics(self) -> None:
        arr = DiagnosticArray(status=[self.diagnostics()])
        arr.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(arr)


def main(args: list[str] | None = None) -> int:
    """Entry point: ``ros2 run athena_policy_node policy_node``."""
    rclpy.init(args=args)
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
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        # Ctrl-C under `ros2 launch` arrives twice (the terminal's, then the one launch sends
        # each process): the second must not interrupt the clean-up (exit -2, a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        node.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
