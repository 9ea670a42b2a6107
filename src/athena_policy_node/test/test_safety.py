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
