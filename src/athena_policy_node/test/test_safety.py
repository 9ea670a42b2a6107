"""Safety helpers: the target limiter (limits, bounded steps, never NaN), the stale debounce."""

import numpy as np
from athena_policy_node.safety import TargetLimiter

from athena_description import default_policy_contract, load_robot_contract


def make() -> tuple[TargetLimiter, object, float]:
    robot = load_robot_contract()
    window = default_policy_contract().rates.policy_dt
    return TargetLimiter(robot, window), robot, window


def test_clamps_to_position_limits() -> None:
    lim, robot, _ = make()
    out = lim(robot.upper_limits + 10.0)     # no previous target: limits only
    assert np.array_equal(out, robot.upper_limits)


def test_step_bounded_by_velocity_limit_over_policy_period() -> None:
    lim, robot, window = make()
    lim.reset(robot.default_positions)
    out = lim(robot.upper_limits)
    step = out - robot.default_positions
    assert np.all(step <= robot.velocity_limits * window + 1e-12)
    # a small policy step passes unchanged (what the policy learned is what the robot gets)
    small = np.clip(out + 0.1, robot.lower_limits, robot.upper_limits)
    assert np.allclose(lim(small), small)


def test_non_finite_target_holds_previous() -> None:
    lim, robot, _ = make()
    lim.reset(robot.default_positions)
    bad = robot.default_positions.copy()
    bad[3] = np.nan
    assert np.array_equal(lim(bad), robot.default_positions)


def test_stale_debounce_needs_consecutive_ticks() -> None:
    from athena_policy_node.safety import Fault, StaleDebounce

    d = StaleDebounce(2)
    assert d(Fault.STALE_IMU) is None                  # one late tick: the node's own stall
    assert d(None) is None                             # fresh again: nothing happened
    assert d(Fault.STALE_IMU) is None
    assert d(Fault.STALE_JOINTS) is Fault.STALE_JOINTS  # stale twice in a row: a dropout
    assert d(Fault.NON_FINITE) is Fault.NON_FINITE      # other faults act at once


def _check(quat=(0.0, 0.0, 0.0, 1.0), orientation_valid=True, imu_age=0.0, nan=False):
    from athena_policy_node.safety import SafetyConfig, check_sensors

    gyro = np.array([np.nan if nan else 0.0, 0.0, 0.0])
    q = np.asarray(quat, dtype=float)
    return check_sensors(10.0, 10.0 - imu_age, 10.0, q, orientation_valid, (q, gyro),
                         SafetyConfig())


def test_imu_orientation_must_be_a_unit_quaternion() -> None:
    from athena_policy_node.safety import Fault

    assert _check() is None
    assert _check(quat=(0.0, 0.0, 0.0, 0.0)) is Fault.BAD_QUATERNION   # would read as upright
    assert _check(quat=(0.0, 0.0, 0.0, 2.0)) is Fault.BAD_QUATERNION
    assert _check(quat=(0.0, 0.0, 0.0, 0.99)) is None                  # rounding, not garbage
    assert _check(orientation_valid=False) is Fault.NO_ORIENTATION     # covariance[0] == -1


def test_value_checks_run_even_when_a_sensor_is_stale() -> None:
    """A debounced stale tick must not skip the NaN and tilt checks of that tick."""
    from athena_policy_node.safety import Fault
    from conftest import quat_about_x

    assert _check(imu_age=1.0) is Fault.STALE_IMU
    assert _check(imu_age=1.0, nan=True) is Fault.NON_FINITE
    assert _check(imu_age=1.0, quat=quat_about_x(1.2)) is Fault.TILT
