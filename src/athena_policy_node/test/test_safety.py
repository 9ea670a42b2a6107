"""Safety helpers: the target limiter (limits, bounded steps, never NaN), the stale debounce."""

import numpy as np
import pytest
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


def test_sensor_gap_rides_out_stale_sensors_until_they_are_lost() -> None:
    from athena_policy_node.safety import Fault, SensorGap

    g = SensorGap(0.1)
    assert g(Fault.STALE_IMU, 10.0, 9.95, 10.0) is None        # stale 50 ms: a gap
    assert g.fault is Fault.STALE_IMU and g.count == 1
    assert g(None, 10.002, 10.002, 10.002) is None             # fresh: the gap is over
    assert g.fault is None
    assert g(Fault.STALE_JOINTS, 11.0, 11.0, 10.95) is None    # a second gap
    assert g(Fault.STALE_JOINTS, 11.06, 11.06, 10.95) is Fault.STALE_JOINTS   # 110 ms: lost
    assert g.count == 2 and g.longest_s == pytest.approx(0.11)
    assert g(Fault.NON_FINITE, 11.1, 11.1, 11.1) is Fault.NON_FINITE  # others pass through


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
