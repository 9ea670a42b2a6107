"""The velocity command on a fake clock: validation, timeout, ramp, reset."""

import math

import numpy as np
import pytest
from athena_policy_node.command import CommandConfig, CommandFilter

from athena_description import default_policy_contract


def make(**cfg) -> CommandFilter:
    return CommandFilter(default_policy_contract().command_ranges, CommandConfig(**cfg))


def test_valid_command_is_used_until_the_timeout() -> None:
    f = make(timeout_s=0.5, ramp_s=1.0)
    assert f.offer((0.6, 0.1, -0.2), now=10.0) is None
    assert np.array_equal(f.value(10.0), [0.6, 0.1, -0.2])
    assert np.array_equal(f.value(10.5), [0.6, 0.1, -0.2]) and not f.timed_out(10.5)


def test_lost_command_ramps_to_zero() -> None:
    f = make(timeout_s=0.5, ramp_s=1.0)
    f.offer((0.8, 0.0, 0.4), now=0.0)
    assert f.timed_out(0.6)
    assert f.value(1.0) == pytest.approx([0.4, 0.0, 0.2])   # halfway down the ramp
    assert np.array_equal(f.value(1.5), [0.0, 0.0, 0.0])
    assert np.array_equal(f.value(100.0), [0.0, 0.0, 0.0])
    f.offer((0.3, 0.0, 0.0), now=100.0)                       # the operator is back
    assert np.array_equal(f.value(100.1), [0.3, 0.0, 0.0])


@pytest.mark.parametrize("bad, reason", [
    ((math.nan, 0.0, 0.0), "non-finite"),
    ((0.0, math.inf, 0.0), "non-finite"),
    ((0.0, 0.0, -math.inf), "non-finite"),
    ((50.0, 0.0, 0.0), "absurd"),       # 50 m/s: a unit error, not an eager operator
    ((0.0, 0.0, 1e6), "absurd"),
])
def test_bad_command_is_rejected_and_counted_keeping_the_last_good_one(bad, reason) -> None:
    f = make()
    f.offer((0.5, 0.0, 0.0), now=1.0)
    assert f.offer(bad, now=1.1) == reason
    assert f.rejected[reason] == 1 and f.accepted == 1
    assert np.array_equal(f.value(1.2), [0.5, 0.0, 0.0])
    # rejected messages do not keep a command alive: it still times out from the good one
    assert f.timed_out(1.0 + f.cfg.timeout_s + 0.01)


def test_eager_but_plausible_command_is_accepted() -> None:
    f = make()
    assert f.offer((2.0, -0.5, 1.5), now=0.0) is None   # beyond the trained range: the
    assert np.array_equal(f.value(0.0), [2.0, -0.5, 1.5])   # observation clips it


def test_reset_forgets_the_last_command() -> None:
    f = make()
    f.offer((0.5, 0.0, 0.3), now=0.0)
    f.reset()
    assert f.age(0.1) == math.inf and f.timed_out(0.1)
    assert np.array_equal(f.value(0.1), [0.0, 0.0, 0.0])
