"""The velocity command: what the operator asked for, validated, and what it is worth now.

A bad or lost command must never stop a walking robot mid-stride (a frozen stance on one foot
falls) nor let it walk on without an operator. So a command is not a sensor: a non-finite or
absurd one is rejected and counted, and the robot keeps walking on the last good command; a
command that stops coming (teleop crashed, link lost) ramps to zero after ``timeout_s``, and the
policy then stands the robot in place. Plain Python on the caller's clock (``now`` in seconds,
monotonic): the node passes its steady clock, tests pass numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CommandConfig:
    """Timeout, ramp and plausibility bound of the velocity command (node parameters)."""

    # No valid command for this long → the command ramps to zero. Teleop and the sim's command
    # source publish at ≥ 10 Hz; half a second is five lost messages in a row.
    timeout_s: float = 0.5
    # ... over this long (linearly), so a robot walking at speed decelerates instead of stopping
    # its command dead in one policy step.
    ramp_s: float = 1.0
    # A component beyond this multiple of the largest trained magnitude on its axis is garbage
    # (a unit error, a corrupted message), not an eager operator: it is rejected, not clipped.
    # Within it, the observation builder clips to the trained ranges as before.
    absurd_factor: float = 3.0


class CommandFilter:
    """Validates incoming (vx, vy, yaw rate) commands and gives the command to use at a time."""

    def __init__(self, ranges: dict[str, tuple[float, float]], cfg: CommandConfig) -> None:
        keys = ("lin_vel_x", "lin_vel_y", "ang_vel_z")
        self.cfg = cfg
        self._bound = np.array([cfg.absurd_factor * max(abs(ranges[k][0]), abs(ranges[k][1]))
                                for k in keys])
        self.rejected: Counter = Counter()   # reason → count
        self.accepted = 0
        self.reset()

    def reset(self, now: float | None = None) -> None:
        """Forget the last command: when walking begins, only a fresh command moves the robot.

        The timeout then counts from ``now`` (if given).
        """
        self._cmd = np.zeros(3)
        self._t: float | None = None
        self._t_reset = now

    def offer(self, cmd: tuple[float, float, float], now: float) -> str | None:
        """Take a command received at ``now``; the reason if it was rejected, else None."""
        v = np.asarray(cmd, dtype=np.float64)
        if not np.isfinite(v).all():
            reason = "non-finite"
        elif (np.abs(v) > self._bound).any():
            reason = "absurd"
        else:
            self._cmd, self._t = v, now
            self.accepted += 1
            return None
        self.rejected[reason] += 1
        return reason

    def age(self, now: float) -> float:
        """Seconds since the last valid command (inf if none since the last reset)."""
        return math.inf if self._t is None else now - self._t

    def timed_out(self, now: float) -> bool:
        """Whether no valid command came for longer than the timeout (since the reset, if none)."""
        ref = self._t if self._t is not None else self._t_reset
        return ref is None or now - ref > self.cfg.timeout_s

    def value(self, now: float) -> np.ndarray:
        """The command to act on at ``now``: the last valid one, ramped to zero once stale."""
        over = self.age(now) - self.cfg.timeout_s   # inf after a reset: zeros either way
        if over <= 0.0:
            return self._cmd
        return self._cmd * max(0.0, 1.0 - over / max(self.cfg.ramp_s, 1e-9))
