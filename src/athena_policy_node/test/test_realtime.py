"""realtime.py against the real kernel: granted and refused paths.

Each case runs in a child process, so the test runner itself never becomes SCHED_FIFO on
this shared 2-core machine. The refused path is produced for real: as root by starting the
child with every capability dropped (util-linux ``setpriv``, securebits noroot), as non-root
with RLIMIT_RTPRIO 0 -- the situation of a container started without --cap-add SYS_NICE.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import shutil
import subprocess
import sys

import pytest
from athena_policy_node.realtime import (
    GcPauseMonitor,
    apply_realtime,
    freeze_startup_objects,
    parse_cpus,
)

CHILD = """
import json, logging, sys
from athena_policy_node.realtime import apply_realtime, current_policy
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
r = apply_realtime(int(sys.argv[1]), sys.argv[2] or None)
print(json.dumps({"fifo": r.fifo_applied, "aff": r.affinity_applied, "msgs": r.messages,
                  "now": current_policy()}))
"""


def run_child(priority: int, cpus: str, unprivileged: bool = False) -> tuple[dict, str]:
    def no_rtprio() -> None:
        resource.setrlimit(resource.RLIMIT_RTPRIO, (0, 0))

    cmd = [sys.executable, "-c", CHILD, str(priority), cpus]
    if unprivileged and os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot drop CAP_SYS_NICE")
        cmd = ["setpriv", "--securebits", "+noroot", "--inh-caps=-all",
               "--bounding-set=-all", "--"] + cmd
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          preexec_fn=no_rtprio if unprivileged else None)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc.stderr


def test_refused_fifo_is_logged_and_not_fatal():
    out, log = run_child(10, "", unprivileged=True)
    assert out["fifo"] is False
    assert out["now"][0] == "SCHED_OTHER"
    assert "NOT applied" in log and "CAP_SYS_NICE" in log


def test_fifo_applied_when_permitted():
    out, log = run_child(10, "")
    if not out["fifo"]:
        # root without CAP_SYS_NICE (an unprivileged container) refuses too: say so.
        assert "NOT applied" in log
        pytest.skip("kernel refused SCHED_FIFO to this test process: " + out["msgs"][0])
    assert out["now"][:2] == ["SCHED_FIFO", 10]
    assert "applied" in log


def test_affinity_applied_and_bad_cpu_refused():
    cpu = min(os.sched_getaffinity(0))
    out, _ = run_child(0, str(cpu))
    assert out["aff"] is True and out["now"][2] == [cpu]
    out, log = run_child(0, "4000")
    assert out["aff"] is False and "NOT applied" in log
    assert out["now"][2] == sorted(os.sched_getaffinity(0))


def test_configuration_errors_raise():
    with pytest.raises(ValueError):
        apply_realtime(1000)
    with pytest.raises(ValueError):
        parse_cpus("3-1")
    assert parse_cpus("0, 2-3,2") == (0, 2, 3)
    assert parse_cpus(None) == () and parse_cpus([1, 1]) == (1,)
    assert apply_realtime(0, None).messages == []


def test_node_pins_its_control_thread(harness):
    from athena_policy_node.modes import Mode

    h = harness(cpu_affinity="0", loop_mode="thread")  # (timer would pin the test's thread)
    assert h.wait_mode(Mode.WALK)
    assert h.node.scheduler.endswith("cpus 0"), h.node.scheduler
    values = {kv.key: kv.value for kv in h.node.diagnostics().values}
    assert values["control_thread_scheduler"] == h.node.scheduler


def test_node_refuses_a_malformed_realtime_setting(harness):
    with pytest.raises(ValueError):
        harness(rt_priority=150)
    with pytest.raises(ValueError):
        harness(cpu_affinity="3-1")


def test_gc_freeze_and_pause_monitor() -> None:
    """Freezing leaves objects out of collections; the monitor times, resets, unregisters."""
    mon = GcPauseMonitor()
    try:
        assert freeze_startup_objects() > 0 and gc.get_freeze_count() > 0
        assert mon.count >= 1  # the deliberate collection before the freeze
        mon.reset()
        assert (mon.count, mon.max_s) == (0, 0.0)
        gc.collect()
        assert mon.count == 1 and mon.max_s > 0.0
    finally:
        mon.close()
        gc.unfreeze()
    assert mon._on_gc not in gc.callbacks
