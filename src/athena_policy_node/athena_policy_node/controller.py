"""The controller core: the latest inputs in, one joint command out, every control tick. No ROS.

``Controller.step(now, imu, joints, cmd)`` runs every check on every tick, takes the mode
transitions of modes.py, and returns what the motors should do (:class:`JointCommand`:
position, velocity, kp, kd, feed-forward torque per joint, and the mode). Operator requests
arrive through ``Controller.request``. ``now`` is the caller's monotonic clock in seconds: the
node passes its steady clock, tests pass numbers (a fake clock), so every fault and every
transition is tested deterministically.

What each mode sends (docs/driver.md):
  PASSIVE  kp 0, kd = trained damping × ``passive_damping_scale``: the joints move freely
           but not fast; position = the measured pose.
  STAND    the trained gains; position goes linearly from the pose measured on entry to the
           default pose over ``stand_s``, then stays there.
  WALK     the trained gains; position = the policy's targets (contract action law) through
           the target limiter (safety.TargetLimiter).
  DAMPING  kp 0, kd = trained damping × ``damping_scale``: the robot sinks slowly.

A sensor older than ``sensor_timeout_s`` is a gap (safety.SensorGap): the last command is
held, nothing is computed from the stale sample, and the robot goes on once it is fresh.
Faults (safety.py): one in STATE_FAULTS (a sensor lost: older than ``sensor_lost_s``, NaN,
tilt, ...) while standing or walking → DAMPING. A policy fault
(inference error, overrun, NaN action) keeps the robot walking on the targets it has; only
``max_policy_failures`` in a row → STAND. A bad or lost velocity command is not a fault at
all (command.py: rejected and counted, or ramped to zero). An operator's "stand" while walking
first walks in place with a zero command for ``stop_s``, then stands: a robot is never frozen
mid-stride.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from athena_description.policy_contract import PolicyContract
from athena_description.robot_contract import RobotContract

from athena_policy_node.command import CommandConfig, CommandFilter
from athena_policy_node.modes import Conditions, Mode, ModeMachine, Refused, Transition
from athena_policy_node.observation import ObservationBuilder, integrate_gyro
from athena_policy_node.safety import (
    ORIENTATION_FAULTS,
    POLICY_FAULTS,
    STALE_FAULTS,
    Fault,
    SafetyConfig,
    SensorGap,
    TargetLimiter,
    check_sensors,
)

__all__ = ["Controller", "ControllerConfig", "ImuSample", "JointSample", "CmdSample",
           "JointCommand", "Mode", "Refused"]


@dataclass(frozen=True, slots=True)
class ImuSample:
    """One IMU message: orientation (x, y, z, w), angular velocity (rad/s), receipt time."""

    quat_xyzw: np.ndarray
    ang_vel: np.ndarray
    t: float
    orientation_valid: bool = True   # False: covariance[0] == -1 (no orientation estimate)


@dataclass(frozen=True, slots=True)
class JointSample:
    """One joint_states message in contract order, or the reason it could not be read."""

    q: np.ndarray | None
    qd: np.ndarray | None
    t: float
    stamp: object = None           # the message's header stamp, echoed in the command
    error: str | None = None       # missing / duplicate joints, wrong lengths


@dataclass(frozen=True, slots=True)
class CmdSample:
    """One velocity command (vx m/s, vy m/s, yaw rate rad/s, body frame) and its receipt time."""

    v: tuple[float, float, float]
    t: float


@dataclass(frozen=True, slots=True)
class JointCommand:
    """What every motor should do: tau = kp (position - q) + kd (velocity - dq) + effort."""

    mode: Mode
    position: np.ndarray
    velocity: np.ndarray
    stiffness: np.ndarray
    damping: np.ndarray
    effort: np.ndarray
    stamp: object = None


@dataclass(frozen=True)
class ControllerConfig:
    """Mode behaviour (node parameters)."""

    stand_s: float = 2.0              # STAND: measured pose → default pose over this long
    # STAND (by request or by itself) only once every sensor has been valid this long without
    # a break: streams are often bursty while DDS discovery and the driver start up.
    sensors_ready_s: float = 0.2
    auto_walk: bool = False           # simulation: PASSIVE → STAND → WALK without an operator
    stop_s: float = 1.5               # WALK → STAND on request: walk in place this long first
    # ... then to the default pose this fast: about one step. Over ``stand_s`` (2 s) the feet
    # come down too slowly from mid-gait and the robot tips over (measured in MuJoCo).
    stand_from_walk_s: float = 0.3
    passive_damping_scale: float = 1.0
    damping_scale: float = 1.0
    max_policy_failures: int = 3      # policy faults in a row before WALK → STAND
    infer_every_tick: bool = False    # run the policy at the node rate (benchmarks)


class Controller:
    """Modes, safety checks, observation, policy and gains behind one ``step``."""

    def __init__(self, robot: RobotContract, contract: PolicyContract,
                 infer: Callable[[np.ndarray], np.ndarray], safety: SafetyConfig,
                 command: CommandConfig, cfg: ControllerConfig, *, rate_scale: float = 1.0,
                 log: Callable[[str, str], None] | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.robot, self.contract, self.cfg, self.safety = robot, contract, cfg, safety
        self._infer, self._timer = infer, timer
        self._log = log or (lambda level, text: None)
        rates = contract.rates
        self.tick_s = 1.0 / rates.node_rate_hz
        self.ticks_per_policy = 1 if cfg.infer_every_tick else rates.ticks_per_policy_step
        self.builder = ObservationBuilder(contract)
        self.limiter = TargetLimiter(robot, rates.policy_dt, rate_scale)
        self.cmd = CommandFilter(contract.command_ranges, command)
        self.machine = ModeMachine()
        self.gap = SensorGap(safety.sensor_lost_s)   # stale sensors ridden out (counted)
        self._lock = threading.Lock()   # request() comes from the service thread

        n = robot.num_joints
        self.default = robot.default_positions
        # the gains the model was trained with (its contract; checked against the robot's)
        self.kp = np.asarray(contract.stiffness, dtype=np.float64)
        self.kd = np.asarray(contract.damping, dtype=np.float64)
        self._kp0 = np.zeros(n)
        self._kd_passive = self.kd * cfg.passive_damping_scale
        self._kd_damping = self.kd * cfg.damping_scale
        self._zeros = np.zeros(n)

        self._fault: Fault | None = None        # this tick's input problem (None: all valid)
        self._acted: Fault | None = None        # ... the fault acted on (not a ridden-out one)
        self._ok_since: float | None = None     # inputs valid without a break since
        self._now = -math.inf                   # time of the latest step
        self._auto = cfg.auto_walk
        self._stand_t0, self._stand_q0, self._stand_alpha = 0.0, self.default, 0.0
        self._stand_s = cfg.stand_s
        self._stop_t0: float | None = None      # WALK → STAND requested at
        self._cmd_t: float | None = None        # receipt time of the last command offered
        self._cmd_lost = False
        self._policy_ticks = 0                  # ticks since WALK began: the policy's clock
        self._last_action = np.zeros(n)
        self._policy_target = self.default.copy()
        self._policy_failures = 0
        self._last_good_q = self.default.copy()
        # the orientation: the IMU's, or carried on with the gyro while it is lost (degraded)
        self._quat: np.ndarray | None = None
        self._quat_t = 0.0
        self.degraded: Fault | None = None     # the orientation fault being ridden out
        self.infer_times: deque = deque(maxlen=2000)
        self.last_transition: Transition | None = None

    # ---------------------------------------------------------------------- operator
    @property
    def mode(self) -> Mode:
        """The current mode."""
        return self.machine.mode

    def request(self, target: Mode, why: str = "operator", now: float | None = None) -> str:
        """An operator's request for ``target``; what happens, or Refused with the reason."""
        with self._lock:
            now = self._now if now is None else now
            mode = self.machine.mode
            self._auto = False   # an operator has taken over
            if mode is Mode.WALK and target is Mode.STAND:
                if self._stop_t0 is None:
                    self._stop_t0 = now
                return (f"stopping: walking in place with a zero command for "
                        f"{self.cfg.stop_s:.1f} s, then standing")
            if mode is Mode.WALK and target is Mode.WALK and self._stop_t0 is not None:
                if self.degraded is not None:
                    raise Refused(f"stopping: {self.degraded.value}")
                self._stop_t0 = None
                return "walking on (stop cancelled)"
            t = self.machine.request(target, f"{why}: {target.value}", self._conditions())
            if t is None:
                return f"already {target.value}"
            self._took(t)
            return f"{t.old.value} -> {t.new.value}"

    def shutdown_command(self) -> JointCommand:
        """The node is going down: DAMPING now, and the command that says so."""
        with self._lock:
            self._auto = False
            self._took(self.machine.fault_free_damping("shutdown"))
            return self._limp(self._kd_damping, None)

    # ---------------------------------------------------------------------- the tick
    def step(self, now: float, imu: ImuSample | None, joints: JointSample | None,
             cmd: CmdSample | None) -> JointCommand | None:
        """One control tick; the command to send, or None when nothing has been measured."""
        with self._lock:
            self._now = now
            if cmd is not None and cmd.t != self._cmd_t:   # each message is offered once
                self._cmd_t = cmd.t
                reason = self.cmd.offer(cmd.v, cmd.t)
                if reason is not None:  # the robot walks on with the last good command
                    self._log("warning", f"cmd_vel rejected ({reason}: {cmd.v}); keeping the "
                              "last valid command")
            if imu is None or joints is None or joints.q is None:
                if joints is not None and joints.error and self._fault is None:
                    self._fault = Fault.MISSING_JOINTS
                    self._on_fault(Fault.MISSING_JOINTS, joints.error)
                return None
            fault = self._check(now, imu, joints)
            self._advance(now, fault)
            return self._command(now, imu, joints)

    def _check(self, now: float, imu: ImuSample, joints: JointSample) -> Fault | None:
        """This tick's input fault (None: all valid); acts on the faults that begin."""
        if joints.error is not None:
            fault: Fault | None = Fault.MISSING_JOINTS
        else:
            fault = check_sensors(now, imu.t, joints.t, imu.quat_xyzw, imu.orientation_valid,
                                  (imu.quat_xyzw, imu.ang_vel, joints.q, joints.qd), self.safety)
            fault = self._orientation(now, imu, joints, fault)
        fault = self._ride_gap(fault, now, imu, joints)
        gap = self.gap.fault
        if fault is None and gap is None:
            self._last_good_q = joints.q
        if fault is None and gap is None and self.degraded is None:
            if self._ok_since is None:
                self._ok_since = now
        else:
            self._ok_since = None
        if fault is not None and fault is not self._acted:  # each fault once, where it begins
            detail = joints.error if fault is Fault.MISSING_JOINTS else (
                self._ages(now, imu, joints) if fault in STALE_FAULTS else "")
            self._on_fault(fault, detail)
        self._acted = fault
        self._fault = fault or gap or self.degraded
        return fault

    def _ages(self, now: float, imu: ImuSample, joints: JointSample) -> str:
        s = self.safety
        return (f"imu {(now - imu.t) * 1e3:.1f} ms, joint_states {(now - joints.t) * 1e3:.1f} ms "
                f"old (stale after {s.sensor_timeout_s * 1e3:.0f} ms, lost after "
                f"{s.sensor_lost_s * 1e3:.0f} ms)")

    def _ride_gap(self, fault: Fault | None, now: float, imu: ImuSample,
                  joints: JointSample) -> Fault | None:
        """Stale sensors: ridden out (None) until lost; says so when a gap ends."""
        was, since = self.gap.fault, self.gap.since
        out = self.gap(fault, now, imu.t, joints.t)
        if was is not None and self.gap.fault is None:
            ridden = self._acted not in STALE_FAULTS   # it never became a fault
            held = " on the last command" if self.machine.mode in (Mode.STAND, Mode.WALK) else ""
            self._log("warning" if ridden else "info",
                      f"{was.value}: fresh again after {(now - since) * 1e3:.0f} ms"
                      + (f" (ridden out{held})" if ridden else ""))
        return out

    def _orientation(self, now: float, imu: ImuSample, joints: JointSample,
                     fault: Fault | None) -> Fault | None:
        """Keep the orientation; ride out a lost IMU orientation on the gyro while held.

        Returns the fault to act on: while degraded, that of the checks of the carried-on
        orientation (tilt, stale sensors), so that only those put the robot into DAMPING.
        """
        held = self.machine.mode in (Mode.STAND, Mode.WALK)
        if fault in ORIENTATION_FAULTS and held and self._quat is not None:
            self._quat = integrate_gyro(self._quat, imu.ang_vel, now - self._quat_t)
            self._quat_t = now
            other = check_sensors(now, imu.t, joints.t, self._quat, True,
                                  (imu.ang_vel, joints.q, joints.qd), self.safety)
            if other is None and self.degraded is None:   # it begins
                self.degraded = fault
                self.machine.faults[fault] += 1
                self.machine.last_fault = fault
                self._auto = False
                walking = self.machine.mode is Mode.WALK
                self._log("error", f"fault: {fault.value}: " + (
                    "walking to a stop on the gyro-propagated orientation, then standing"
                    if walking else "standing on (standing needs no orientation)"))
                if walking and self._stop_t0 is None:
                    self._stop_t0 = now
            return other
        if self.degraded is not None and fault is None:
            self._log("info", "imu orientation valid again")
        self.degraded = None
        if fault is None:
            self._quat, self._quat_t = imu.quat_xyzw, now
        return fault

    def _on_fault(self, fault: Fault, detail: str = "") -> None:
        """A state fault begins: counted, and → DAMPING if the robot is held (STAND, WALK).

        In PASSIVE or DAMPING nothing is held; the fault only keeps STAND from being entered.
        """
        text = f"{fault.value}{': ' + detail if detail else ''}"
        if self.machine.mode not in (Mode.STAND, Mode.WALK):
            self._log("warning", f"inputs not valid ({self.machine.mode.value}): {text}")
            return
        self._auto = False
        self._took(self.machine.fault(fault, Mode.DAMPING, detail), "error")

    def _advance(self, now: float, fault: Fault | None) -> None:
        """The transitions the controller takes by itself this tick."""
        m = self.machine
        if self._auto and fault is None:
            try:
                if m.mode is Mode.PASSIVE and self._conditions().inputs_ok:
                    self._took(m.request(Mode.STAND, "auto: sensors ready", self._conditions()))
                elif m.mode is Mode.STAND and self._stand_alpha >= 1.0 and self._fault is None:
                    self._took(m.request(Mode.WALK, "auto: standing", self._conditions()))
                    self._auto = False
            except Refused as exc:
                self._log("warning", str(exc))
        if m.mode is Mode.WALK and self._stop_t0 is not None \
                and now - self._stop_t0 >= self.cfg.stop_s:
            why = self.degraded.value if self.degraded is not None else "operator"
            self._took(m.request(Mode.STAND, f"{why}: stand (stopped walking)",
                                 self._conditions()))

    def _enter(self, mode: Mode, now: float, came_from: Mode) -> None:
        """Entry actions of ``mode``, at the transition (with the latest measurements)."""
        self._stop_t0 = None
        if mode is Mode.STAND:
            # From WALK, bumpless: from the targets the motors hold now (the measured pose
            # would drop the torques that carry the robot at once); else from where it is.
            walking = self.limiter.previous is not None and came_from is Mode.WALK
            q0 = self.limiter.previous.copy() if walking else np.clip(
                self._last_good_q, self.robot.lower_limits, self.robot.upper_limits)
            self._stand_t0, self._stand_q0, self._stand_alpha = now, q0, 0.0
            self._stand_s = self.cfg.stand_from_walk_s if walking else self.cfg.stand_s
            self.limiter.reset(q0)
        elif mode is Mode.WALK:
            self.cmd.reset(now)   # a command from before this walk does not come back
            self._policy_ticks = 0
            self._policy_failures = 0
            self.builder.reset()   # no history from before this walk (as after a reset)
            self._last_action[:] = 0.0
            self._policy_target = self.default.copy()

    @property
    def input_fault(self) -> Fault | None:
        """What is wrong with the inputs as of the latest tick (None: all valid)."""
        return self._fault

    def _conditions(self) -> Conditions:
        since = self._ok_since
        valid_for = -1.0 if since is None or self._fault else self._now - since
        if self._fault is not None:
            problem = self._fault.value
        elif since is None:
            problem = "no sensor data yet"
        else:
            problem = (f"valid for {valid_for:.2f} s of the {self.cfg.sensors_ready_s:.2f} s "
                       f"required")
        return Conditions(inputs_ok=valid_for >= self.cfg.sensors_ready_s, problem=problem,
                          stand_done=self._stand_alpha >= 1.0
                          and self.machine.mode is Mode.STAND,
                          inputs_valid=self._fault is None)

    # ---------------------------------------------------------------------- outputs
    def _command(self, now: float, imu: ImuSample, joints: JointSample) -> JointCommand:
        mode = self.machine.mode
        if mode is Mode.PASSIVE:
            return self._limp(self._kd_passive, joints.stamp)
        if mode is Mode.DAMPING:
            return self._limp(self._kd_damping, joints.stamp)
        if self.gap.fault is not None and self.limiter.previous is not None:
            # a sensor gap being ridden out: the last targets, held (nothing computed from a
            # stale sample); the policy's clock waits, the stand ramp (timed) catches up
            # afterwards through the target limiter
            return JointCommand(mode, self.limiter.previous, self._zeros, self.kp, self.kd,
                                self._zeros, joints.stamp)
        if mode is Mode.STAND:
            a = min(1.0, (now - self._stand_t0) / max(self._stand_s, 1e-6))
            self._stand_alpha = a
            target = self._stand_q0 + a * (self.default - self._stand_q0)
        else:
            if self._policy_ticks % self.ticks_per_policy == 0:
                self._policy_step(now, imu, joints)
            self._policy_ticks += 1
            target = self._policy_target
        return JointCommand(self.machine.mode, self.limiter(target), self._zeros, self.kp,
                            self.kd, self._zeros, joints.stamp)

    def _limp(self, kd: np.ndarray, stamp: object) -> JointCommand:
        """Kp 0: position is only the measured pose (a driver may log it); damping ``kd``."""
        q = np.clip(self._last_good_q, self.robot.lower_limits, self.robot.upper_limits)
        self.limiter.reset(q)
        return JointCommand(self.machine.mode, q, self._zeros, self._kp0, kd, self._zeros, stamp)

    def _policy_step(self, now: float, imu: ImuSample, joints: JointSample) -> None:
        cmd = np.zeros(3) if self._stop_t0 is not None else self._command_value(now)
        # Gait phase on the control clock (ticks × period), as training counts policy steps.
        quat = self._quat if self.degraded is not None else imu.quat_xyzw
        obs = self.builder.build(imu.ang_vel, quat, cmd, self._policy_ticks * self.tick_s,
                                 joints.q, joints.qd, self._last_action)
        t0 = self._timer()
        try:
            action = np.asarray(self._infer(obs[None, :])[0], dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - any backend failure is a fault, never a crash
            self._policy_fault(Fault.INFERENCE_ERROR, repr(exc))
            return
        dt = self._timer() - t0
        self.infer_times.append(dt)
        if not np.isfinite(action).all():
            self._policy_fault(Fault.NON_FINITE_ACTION)
            return
        clip = self.contract.action_clip
        self._last_action = np.clip(action, -clip, clip)
        self._policy_target = self.contract.actions_to_targets(self._last_action, self.robot)
        if dt > self.safety.max_inference_s:  # late but valid: used, and counted
            self._policy_fault(Fault.INFERENCE_OVERRUN, f"{dt * 1e3:.1f} ms")
        else:
            self._policy_failures = 0

    def _policy_fault(self, fault: Fault, detail: str = "") -> None:
        assert fault in POLICY_FAULTS
        self._policy_failures += 1
        m = self.machine
        n, limit = self._policy_failures, self.cfg.max_policy_failures
        self._log("error", f"fault: {fault.value}{': ' + detail if detail else ''} "
                  f"({n} in a row; {'standing' if n >= limit else 'walking on'})")
        if n >= limit:
            self._took(m.fault(fault, Mode.STAND), "error")
        else:  # counted, no transition
            m.faults[fault] += 1
            m.last_fault = fault

    def _command_value(self, now: float) -> np.ndarray:
        """The velocity command for this policy step; says once when the operator's went quiet."""
        lost = self.cmd.timed_out(now)
        if lost and not self._cmd_lost:
            age = self.cmd.age(now)
            since = "since walking began" if age == math.inf else f"for {age:.2f} s"
            self._log("warning", f"no valid cmd_vel {since}: the command ramps to zero over "
                      f"{self.cmd.cfg.ramp_s:.1f} s (the robot stops walking, keeps balancing)")
        self._cmd_lost = lost
        return self.cmd.value(now)

    def _took(self, t: Transition | None, level: str = "info") -> None:
        """A transition was taken: say so, and run the new mode's entry actions."""
        if t is not None:
            self.last_transition = t
            self._log(level, f"mode {t.old.value} -> {t.new.value}: {t.why}")
            self._enter(t.new, self._now, t.old)
