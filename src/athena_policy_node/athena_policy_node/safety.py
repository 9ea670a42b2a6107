"""Safety: the per-tick input checks, which faults mean what, and the target limiter.

What each fault makes the robot do is decided in controller.py with the mode table of
modes.py: a fault in :data:`STATE_FAULTS` → DAMPING, a fault in :data:`POLICY_FAULTS` → walk
on, repeated → STAND (docs/contracts.md, section 3).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np
from athena_description.robot_contract import RobotContract

from athena_policy_node.observation import projected_gravity


class Fault(enum.Enum):
    """What the per-tick checks can find wrong (counted on /diagnostics)."""

    STALE_IMU = "stale imu"
    STALE_JOINTS = "stale joint_states"
    NON_FINITE = "NaN/Inf in input"
    NO_ORIENTATION = "imu reports no orientation"
    BAD_QUATERNION = "imu orientation is not a unit quaternion"
    MISSING_JOINTS = "missing or duplicate joints, or wrong array lengths"
    TILT = "excessive tilt"
    INFERENCE_ERROR = "inference error"
    INFERENCE_OVERRUN = "inference overrun"
    NON_FINITE_ACTION = "NaN/Inf in policy output"


# No trustworthy state estimate (or the robot fell): the controller goes to DAMPING (modes.py).
STATE_FAULTS = frozenset({Fault.STALE_IMU, Fault.STALE_JOINTS, Fault.NON_FINITE,
                          Fault.NO_ORIENTATION, Fault.BAD_QUATERNION, Fault.MISSING_JOINTS,
                          Fault.TILT})
# ... except these while the gyro and the joints are still good: the orientation is carried on
# from its last valid value with the gyro (observation.integrate_gyro) for as long as it takes
# to walk to a stop and stand, which needs no IMU (controller.py). A robot that loses its IMU
# orientation mid-stride and goes limp falls (benchmarks/results/input_faults.json).
ORIENTATION_FAULTS = frozenset({Fault.NO_ORIENTATION, Fault.BAD_QUATERNION})
# The policy failed for one step while the state is sound: the robot walks on with the targets
# it has; only repeated failures stand it (controller.py).
POLICY_FAULTS = frozenset({Fault.INFERENCE_ERROR, Fault.INFERENCE_OVERRUN,
                           Fault.NON_FINITE_ACTION})


@dataclass
class SafetyConfig:
    """Watchdog thresholds (from the node's YAML parameters)."""

    sensor_timeout_s: float = 0.02
    # ... is ridden out (SensorGap) until it is this old; older, it is lost: a fault.
    sensor_lost_s: float = 0.1
    max_tilt_rad: float = 1.0
    # |‖q‖ - 1| above this is not an orientation (an all-zero quaternion reads as upright).
    quat_norm_tol: float = 0.05
    # An inference is an overrun when its action would arrive after the next one is due (one
    # policy period). A single slow call below that is not a fault: the loop holds the last
    # target for a tick. (4 ms was tried: on a loaded 2-core CPU the OS preempts a call now
    # and then: docs/sim.md.)
    max_inference_s: float = 0.02

    def __post_init__(self) -> None:
        if not 0.0 < self.sensor_timeout_s <= self.sensor_lost_s:
            raise ValueError(f"need 0 < sensor_timeout_s <= sensor_lost_s, got "
                             f"{self.sensor_timeout_s} and {self.sensor_lost_s}")


def tilt_angle(gravity_body: np.ndarray) -> float:
    """Angle between the body z-axis and the world vertical (rad), from projected gravity."""
    g = np.asarray(gravity_body, dtype=float)
    norm = float(np.linalg.norm(g))
    if not math.isfinite(norm) or norm < 1e-6:
        return math.pi
    return math.acos(max(-1.0, min(1.0, -g[2] / norm)))


def check_sensors(now: float, imu_time: float, joints_time: float, quat_xyzw: np.ndarray,
                  orientation_valid: bool, arrays: tuple[np.ndarray, ...],
                  cfg: SafetyConfig) -> Fault | None:
    """The per-tick input checks; the first fault found, or None.

    The checks of the values come before the ages: a stale sensor may be ridden out for a while
    (SensorGap), and that must never hide a NaN or a tilt in the same tick.
    ``orientation_valid`` is False when the IMU says it has no orientation estimate
    (``sensor_msgs/Imu``: ``orientation_covariance[0] == -1``).
    """
    if not all(np.isfinite(a).all() for a in arrays):
        return Fault.NON_FINITE
    if not orientation_valid:
        return Fault.NO_ORIENTATION
    if abs(float(np.linalg.norm(quat_xyzw)) - 1.0) > cfg.quat_norm_tol:
        return Fault.BAD_QUATERNION
    if tilt_angle(projected_gravity(quat_xyzw)) > cfg.max_tilt_rad:
        return Fault.TILT
    if now - imu_time > cfg.sensor_timeout_s:
        return Fault.STALE_IMU
    if now - joints_time > cfg.sensor_timeout_s:
        return Fault.STALE_JOINTS
    return None


STALE_FAULTS = frozenset({Fault.STALE_IMU, Fault.STALE_JOINTS})


class SensorGap:
    """A stale sensor is first a gap, ridden out; only a sensor lost for longer is a fault.

    A sensor older than ``sensor_timeout_s`` is stale: the controller stops using it and holds
    the last command, which the driver's PD keeps tracking (controller.py). Gaps come from the
    node's own stalls (preemption on a busy CPU: after one, every sensor looks old for a tick),
    from a driver or a DDS link stalling for a moment (Fast DDS here drops one link for ~335 ms
    now and then; docs/sim.md), and from sensors that have died. Only the last is a fault: a
    sensor older than ``sensor_lost_s`` (→ DAMPING). Going limp at the first late sample would
    drop a standing or walking robot for a hiccup a held pose rides out.
    """

    def __init__(self, lost_s: float) -> None:
        self.lost_s = float(lost_s)
        self.fault: Fault | None = None   # the stale sensor of the gap under way, or None
        self.since = 0.0                  # ... stale since (the tick it was first seen)
        self.count = 0                    # gaps seen (each ridden out or lost)
        self.longest_s = 0.0              # the oldest a sensor has been within a gap

    def __call__(self, fault: Fault | None, now: float, imu_t: float,
                 joints_t: float) -> Fault | None:
        """This tick's checks in, the fault to act on out (None while a gap is ridden out)."""
        if fault not in STALE_FAULTS:
            self.fault = None
            return fault
        age = max(now - imu_t, now - joints_t)
        if self.fault is None:
            self.fault, self.since = fault, now
            self.count += 1
        self.longest_s = max(self.longest_s, age)
        return fault if age > self.lost_s else None


class TargetLimiter:
    """Clamps joint targets to the position limits and rate-limits their change per tick.

    A target may move at most ``velocity_limit × window_s × rate_scale`` in one tick, with
    ``window_s`` the policy period: the policy changes its targets once per period, as in
    training, and a joint cannot follow a larger jump within that period anyway. A tighter
    bound (one tick's worth of velocity) was measured to smear every policy step over several
    ticks and double the yaw wobble of the trained gait in MuJoCo (docs/sim.md). Whatever the
    policy outputs, a target never jumps further, and never leaves the limits.
    """

    def __init__(self, robot: RobotContract, window_s: float, rate_scale: float = 1.0) -> None:
        self.lower = robot.lower_limits
        self.upper = robot.upper_limits
        self.max_step = robot.velocity_limits * window_s * rate_scale
        self.previous: np.ndarray | None = None

    def reset(self, q: np.ndarray) -> None:
        """Start from pose ``q`` (e.g. the measured pose)."""
        self.previous = np.clip(q, self.lower, self.upper)

    def __call__(self, target: np.ndarray) -> np.ndarray:
        """The limited target; always finite and inside the limits."""
        if not np.isfinite(target).all():
            target = self.previous if self.previous is not None else \
                np.clip(np.zeros_like(self.lower), self.lower, self.upper)
        out = np.clip(target, self.lower, self.upper)
        if self.previous is not None:
            out = np.clip(out, self.previous - self.max_step, self.previous + self.max_step)
        self.previous = out
        return out
