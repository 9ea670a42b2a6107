"""Real-time settings: SCHED_FIFO priority and CPU affinity, and the garbage collector.

On Linux both calls act on the *calling thread* when given pid 0, so call
``apply_realtime`` from inside the control loop's thread, not from the node's constructor.

Neither setting is required to run: without CAP_SYS_NICE (or an RLIMIT_RTPRIO high enough,
or ``docker run --cap-add SYS_NICE --ulimit rtprio=99``) the kernel refuses SCHED_FIFO, and
a CPU list naming CPUs the container does not have is refused too. Each refusal is logged
as a warning that says what to change, and the loop runs on with the default scheduler.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from dataclasses import dataclass, field


@dataclass
class RealtimeResult:
    """What was asked for and what the kernel granted."""

    fifo_requested: bool = False
    fifo_applied: bool = False
    affinity_requested: bool = False
    affinity_applied: bool = False
    priority: int = 0
    cpus: tuple[int, ...] = ()
    messages: list[str] = field(default_factory=list)


def parse_cpus(spec: str | list[int] | tuple[int, ...] | None) -> tuple[int, ...]:
    """Parse a CPU list: ``"2,3"``, ``"4-5"``, ``[2, 3]`` or empty/None for "leave as is"."""
    if spec is None:
        return ()
    if isinstance(spec, (list, tuple)):
        cpus = [int(c) for c in spec]
    else:
        cpus = []
        for part in str(spec).replace(" ", "").split(","):
            if not part:
                continue
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError(f"bad CPU range {part!r}")
                cpus.extend(range(lo, hi + 1))
            else:
                cpus.append(int(part))
    if any(c < 0 for c in cpus):
        raise ValueError(f"negative CPU index in {spec!r}")
    return tuple(sorted(set(cpus)))


def apply_realtime(priority: int = 0, cpus: str | list[int] | tuple[int, ...] | None = None,
                   logger: logging.Logger | None = None) -> RealtimeResult:
    """Give the calling thread SCHED_FIFO ``priority`` (0 = leave) and pin it to ``cpus``.

    Never raises for a refusal by the kernel (logged as a warning instead); raises
    ValueError for a priority outside SCHED_FIFO's range or a malformed CPU list, since
    those are configuration errors, not missing permissions.
    """
    log = logger or logging.getLogger("athena_policy_node.realtime")
    result = RealtimeResult(priority=int(priority), cpus=parse_cpus(cpus))

    if result.priority:
        lo, hi = os.sched_get_priority_min(os.SCHED_FIFO), os.sched_get_priority_max(
            os.SCHED_FIFO)
        if not lo <= result.priority <= hi:
            raise ValueError(f"SCHED_FIFO priority {result.priority} outside [{lo}, {hi}]")
        result.fifo_requested = True
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(result.priority))
            result.fifo_applied = True
            result.messages.append(f"SCHED_FIFO priority {result.priority} applied")
            log.info(result.messages[-1])
        except PermissionError as exc:
            result.messages.append(
                f"SCHED_FIFO priority {result.priority} NOT applied ({exc.strerror}): the "
                "process needs CAP_SYS_NICE or RLIMIT_RTPRIO >= priority (docker: --cap-add "
                "SYS_NICE --ulimit rtprio=99); running with the default scheduler")
            log.warning(result.messages[-1])

    if result.cpus:
        result.affinity_requested = True
        try:
            os.sched_setaffinity(0, result.cpus)
            result.affinity_applied = True
            result.messages.append(f"CPU affinity {list(result.cpus)} applied")
            log.info(result.messages[-1])
        except OSError as exc:
            allowed = sorted(os.sched_getaffinity(0))
            result.messages.append(
                f"CPU affinity {list(result.cpus)} NOT applied ({exc.strerror}); this "
                f"process may use CPUs {allowed}; running unpinned")
            log.warning(result.messages[-1])
    return result


def current_policy() -> tuple[str, int, tuple[int, ...]]:
    """The calling thread's scheduler name, priority and CPU set (for diagnostics)."""
    policy = os.sched_getscheduler(0)
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO",
             os.SCHED_RR: "SCHED_RR"}
    return (names.get(policy, str(policy)), os.sched_getparam(0).sched_priority,
            tuple(sorted(os.sched_getaffinity(0))))


def freeze_startup_objects() -> int:
    """Collect once, then move every object alive now into the permanent generation.

    Why: the modules, the model and the node built at start-up are ~60 k objects (rclpy,
    MuJoCo and ONNX Runtime loaded), and every full collection walks them all: 12 ms measured
    on an idle core, more on a busy one — a pause of every Python thread in the process, the
    control loop included. Frozen, they are never traversed again. Returns their number.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


class GcPauseMonitor:
    """Times the interpreter's garbage collections (``gc.callbacks``) for the diagnostics."""

    def __init__(self) -> None:
        """Start timing every collection of this process."""
        self.count = 0
        self.max_s = 0.0
        self._t0: float | None = None
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        elif self._t0 is not None:
            self.max_s = max(self.max_s, time.perf_counter() - self._t0)
            self.count += 1
            self._t0 = None

    def reset(self) -> None:
        """Forget the collections so far (e.g. the deliberate one before ``gc.freeze``)."""
        self.count, self.max_s = 0, 0.0

    def close(self) -> None:
        """Stop timing."""
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
