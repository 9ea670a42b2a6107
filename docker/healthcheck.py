#!/usr/bin/env python3
"""Container health: is the policy node alive and not in DAMPING (its ERROR level)?

Listens on /diagnostics for the policy node's status for up to ``--timeout`` seconds.
Exit 0: a status arrived with level OK or WARN (WARN = waiting for sensors, still alive).
Exit 1: level ERROR/STALE, or nothing heard (node dead, or DDS not reaching it).
"""

from __future__ import annotations

import argparse
import sys
import time

DIAG_NAME = "athena_policy_node: control loop"  # athena_policy_node.node.DIAG_NAME


def _as_int(level: bytes | int) -> int:
    """DiagnosticStatus levels are ``byte`` fields: bytes in rclpy, compare as ints."""
    return level[0] if isinstance(level, bytes) else int(level)


def check(timeout_s: float, name: str = DIAG_NAME) -> tuple[bool, str]:
    """Wait for ``name`` on /diagnostics; return (healthy, explanation)."""
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    rclpy.init()
    node = rclpy.create_node("athena_healthcheck", start_parameter_services=False)
    seen: list[DiagnosticStatus] = []

    def on_diag(msg: DiagnosticArray) -> None:
        seen.extend(s for s in msg.status if s.name == name)

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    deadline = time.monotonic() + timeout_s
    try:
        while not seen and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    if not seen:
        return False, f"no '{name}' status on /diagnostics within {timeout_s:.1f} s"
    last = seen[-1]
    level, ok_levels = _as_int(last.level), (_as_int(DiagnosticStatus.OK),
                                             _as_int(DiagnosticStatus.WARN))
    ok = level in ok_levels
    values = {kv.key: kv.value for kv in last.values}
    return ok, (f"level {level} ({last.message}); mode={values.get('mode', '?')} "
                f"backend={values.get('backend', '?')} rate={values.get('loop_rate_hz', '?')} Hz")


def main(argv: list[str] | None = None) -> int:
    """Command line: print the verdict, exit 0 if healthy else 1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--name", default=DIAG_NAME)
    args = parser.parse_args(argv)
    healthy, why = check(args.timeout, args.name)
    print(("healthy: " if healthy else "UNHEALTHY: ") + why)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
