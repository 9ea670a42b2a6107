"""The operator modes and every transition between them, with its guard, in one table.

PASSIVE  stiffness 0, damping only: nothing moves on its own. The robot starts here.
STAND    interpolate from the measured pose to the default pose, then hold it.
WALK     the policy, with the gains it was trained with.
DAMPING  stiffness 0, damping only, after a fault that leaves no trustworthy state (a lost or
         invalid sensor, a fall) or on the operator's e-stop. Left only on request.

A robot walks only after it stands, and stands only when its sensors are valid. Faults that
do not threaten the state estimate (a bad or lost command, an inference hiccup) never come
here: the controller walks on (controller.py). docs/contracts.md has the same table.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field

from athena_policy_node.safety import Fault


class Mode(enum.Enum):
    """Operator modes; the numbers are ``athena_msgs/JointCommand``'s ``MODE_*`` constants."""

    PASSIVE = "passive"
    STAND = "stand"
    WALK = "walk"
    DAMPING = "damping"

    @property
    def code(self) -> int:
        """The mode's number on the wire."""
        return _CODES[self]


_CODES = {Mode.PASSIVE: 0, Mode.STAND: 1, Mode.WALK: 2, Mode.DAMPING: 3}


@dataclass(frozen=True)
class Conditions:
    """What the guards look at, as of the latest control tick."""

    inputs_ok: bool       # every sensor present, fresh and valid for ``sensors_ready_s``
    stand_done: bool      # STAND has reached the default pose
    inputs_valid: bool = True   # ... at this tick (no fault, no sensor gap)
    problem: str = ""     # what is wrong with the inputs, when they are not ok


# (from, to) → guard: the conditions under which the operator (or the controller) may take
# that transition, and what is said when they do not hold. A pair not listed is refused.
_ALWAYS = (lambda c: True, "")
TRANSITIONS = {
    (Mode.PASSIVE, Mode.STAND): (lambda c: c.inputs_ok, "sensors are not all valid"),
    (Mode.DAMPING, Mode.STAND): (lambda c: c.inputs_ok, "sensors are not all valid"),
    # Holding the robot (STAND) needs sensors valid for a while (streams are bursty while a
    # graph starts); once it stands, walking needs them valid now: a sensor gap ridden out
    # while standing (safety.SensorGap) does not restart the wait.
    (Mode.STAND, Mode.WALK): (lambda c: c.inputs_valid and c.stand_done,
                              "stand first: the robot is not at its default pose yet"),
    (Mode.WALK, Mode.STAND): _ALWAYS,
    (Mode.STAND, Mode.PASSIVE): _ALWAYS,
    (Mode.DAMPING, Mode.PASSIVE): _ALWAYS,
    (Mode.PASSIVE, Mode.DAMPING): _ALWAYS,
    (Mode.STAND, Mode.DAMPING): _ALWAYS,
    (Mode.WALK, Mode.DAMPING): _ALWAYS,
}


@dataclass(frozen=True)
class Transition:
    """One mode change and why it happened."""

    old: Mode
    new: Mode
    why: str


class Refused(Exception):  # noqa: N818 - reads as "the request was refused"
    """A request the guards do not allow; the message says why."""


@dataclass
class ModeMachine:
    """The current mode, the transitions taken, and the faults counted."""

    mode: Mode = Mode.PASSIVE
    faults: Counter = field(default_factory=Counter)
    last_fault: Fault | None = None
    transitions: list[Transition] = field(default_factory=list)

    def request(self, target: Mode, why: str, cond: Conditions) -> Transition | None:
        """Go to ``target`` if the table allows it now; None if already there.

        Raises Refused with the reason otherwise.
        """
        if target is self.mode:
            return None
        rule = TRANSITIONS.get((self.mode, target))
        if rule is None:
            raise Refused(f"{self.mode.value} -> {target.value} is not a transition "
                          f"({_hint(self.mode, target)})")
        guard, reason = rule
        if not guard(cond):
            # the inputs' problem, where the guard looks at the inputs and they fall short
            inputs = cond.inputs_ok if target is Mode.STAND else cond.inputs_valid
            why_not = f" ({cond.problem})" if not inputs and cond.problem else ""
            raise Refused(f"{self.mode.value} -> {target.value} refused: {reason}{why_not}")
        return self._go(target, why)

    def fault(self, fault: Fault, to: Mode, detail: str = "") -> Transition | None:
        """Count ``fault``; go to ``to`` unless the robot is limp already (PASSIVE, DAMPING)."""
        self.faults[fault] += 1
        self.last_fault = fault
        if self.mode in (Mode.PASSIVE, Mode.DAMPING) or self.mode is to:
            return None
        return self._go(to, f"{fault.value}: {detail}" if detail else fault.value)

    def fault_free_damping(self, why: str) -> Transition | None:
        """→ DAMPING without a fault (shutdown); None if already there."""
        return None if self.mode is Mode.DAMPING else self._go(Mode.DAMPING, why)

    def _go(self, new: Mode, why: str) -> Transition:
        t = Transition(self.mode, new, why)
        self.transitions.append(t)
        del self.transitions[:-50]  # keep the recent history only
        self.mode = new
        return t


def _hint(old: Mode, new: Mode) -> str:
    if new is Mode.WALK:
        return "stand first"
    if old is Mode.WALK and new is Mode.PASSIVE:
        return "stand or damp first: a walking robot is never dropped limp"
    return "see modes.TRANSITIONS"
