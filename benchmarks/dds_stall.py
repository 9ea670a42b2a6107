"""Measure the DDS delivery stall that made the walking gate fall through ROS (docs/sim.md).

``python benchmarks/dds_stall.py [--trials 8] [--seconds 10] [--join_at 0]
[--out benchmarks/results/dds_stall.json]``

Plain rclpy, no athena code: a 500 Hz "driver" (JointState + Imu out, sensor-data QoS, from a
thread, like the sim node) and a 500 Hz "controller" (a timer answering each joint_states with a
joint_targets, like the policy node) in their own processes, this process as an observer, and,
for the 4-participant case, one more node that does nothing (started with the others, or
``--join_at`` seconds later: a participant joining a running graph). Each trial records every
message's arrival; a stall is a gap of more than 100 ms on either link. Both cases run
``--trials`` times, alternating. Figures go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

STALL_S = 0.1
RATE_HZ = 500.0


def _driver(seconds: float, log: Path) -> None:
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Imu, JointState

    rclpy.init()
    node = rclpy.create_node("dds_stall_driver")
    pub_js = node.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
    pub_imu = node.create_publisher(Imu, "imu", qos_profile_sensor_data)
    arrivals: list[float] = []
    node.create_subscription(JointState, "joint_targets",
                             lambda _m: arrivals.append(time.monotonic()),
                             qos_profile_sensor_data)
    js = JointState(name=[f"joint_{i:02d}" for i in range(23)])
    t_start = time.monotonic()

    def publish_loop() -> None:
        next_t = time.monotonic()
        while time.monotonic() - t_start < seconds:
            js.position, js.velocity, js.effort = [0.0] * 23, [0.0] * 23, [0.0] * 23
            pub_js.publish(js)
            pub_imu.publish(Imu())
            next_t += 1.0 / RATE_HZ
            time.sleep(max(0.0, next_t - time.monotonic()))

    thread = threading.Thread(target=publish_loop)
    thread.start()
    while thread.is_alive():
        rclpy.spin_once(node, timeout_sec=0.05)
    log.write_text(json.dumps({"start": t_start, "arrivals": arrivals}))


def _controller(seconds: float, log: Path) -> None:
    import rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import JointState

    rclpy.init()
    node = rclpy.create_node("dds_stall_controller")
    arrivals: list[float] = []
    node.create_subscription(JointState, "joint_states",
                             lambda _m: arrivals.append(time.monotonic()),
                             qos_profile_sensor_data)
    pub = node.create_publisher(JointState, "joint_targets", qos_profile_sensor_data)
    msg = JointState(name=[f"joint_{i:02d}" for i in range(23)])

    def tick() -> None:
        if arrivals:
            msg.position = [0.0] * 23
            pub.publish(msg)

    node.create_timer(1.0 / RATE_HZ, tick)
    t_start = time.monotonic()
    while time.monotonic() - t_start < seconds:
        rclpy.spin_once(node, timeout_sec=0.05)
    log.write_text(json.dumps({"start": t_start, "arrivals": arrivals}))


def _bare(seconds: float) -> None:
    import rclpy

    rclpy.init()
    node = rclpy.create_node("dds_stall_bystander")
    t_start = time.monotonic()
    while time.monotonic() - t_start < seconds:
        rclpy.spin_once(node, timeout_sec=0.05)


def _link(log: Path) -> dict:
    """The largest arrival gap of one link and when it began (s after that process started)."""
    data = json.loads(log.read_text())
    arr = data["arrivals"]
    if len(arr) < 2:
        return {"messages": len(arr), "max_gap_ms": None, "at_s": None}
    gaps = [(b - a, a) for a, b in zip(arr, arr[1:])]
    gap, at = max(gaps)
    return {"messages": len(arr), "max_gap_ms": round(gap * 1e3, 1),
            "at_s": round(at - data["start"], 2),
            "stalls": sum(g > STALL_S for g, _ in gaps),
            "stalls_at_s_ms": [(round(a - data["start"], 2), round(g * 1e3, 1))
                               for g, a in gaps if g > STALL_S]}


def trial(participants: int, seconds: float, join_at_s: float = 0.0) -> dict:
    """One start of driver + controller (+ a bystander ``join_at_s`` later), observed here."""
    import rclpy

    tmp = Path(tempfile.mkdtemp(prefix="dds_stall_"))
    me = [sys.executable, str(Path(__file__).resolve()), "--seconds", str(seconds)]
    rclpy.init()
    observer = rclpy.create_node("dds_stall_observer")
    procs = [subprocess.Popen([*me, "--role", "driver", "--log", str(tmp / "driver.json")]),
             subprocess.Popen([*me, "--role", "controller", "--log", str(tmp / "ctrl.json")])]
    t0, joined = time.monotonic(), participants < 4
    while not joined or any(p.poll() is None for p in procs):
        rclpy.spin_once(observer, timeout_sec=0.05)
        if not joined and time.monotonic() - t0 >= join_at_s:
            procs.append(subprocess.Popen([*me, "--seconds", str(max(seconds - join_at_s, 1.0)),
                                           "--role", "bare"]))
            joined = True
    observer.destroy_node()
    rclpy.try_shutdown()
    out = {"participants": participants, "bystander_join_at_s": join_at_s,
           "targets_at_driver": _link(tmp / "driver.json"),
           "states_at_controller": _link(tmp / "ctrl.json")}
    out["stalled"] = any((v.get("stalls") or 0) > 0 for v in out.values() if isinstance(v, dict))
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def main() -> int:
    """Run the trials, print and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8, help="per case")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--join_at", type=float, default=0.0,
                    help="start the 4th participant this long after the others (s)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/dds_stall.json"))
    ap.add_argument("--role", choices=("driver", "controller", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--log", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.role == "driver":
        _driver(a.seconds, a.log)
        return 0
    if a.role == "controller":
        _controller(a.seconds + 0.5, a.log)
        return 0
    if a.role == "bare":
        _bare(a.seconds)
        return 0
    trials = []
    for _ in range(a.trials):
        for participants in (3, 4):
            trials.append(trial(participants, a.seconds, a.join_at))
            print(json.dumps(trials[-1]), flush=True)
    summary = {n: {"trials": sum(t["participants"] == n for t in trials),
                   "trials_with_stall": sum(t["participants"] == n and t["stalled"]
                                            for t in trials)} for n in (3, 4)}
    versions = {}
    for dist in ("ros-fastdds", "ros-rmw-fastrtps-cpp", "ros-rclpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    result = {"stall_threshold_ms": STALL_S * 1e3, "rate_hz": RATE_HZ, "seconds": a.seconds,
              "bystander_join_at_s": a.join_at,
              "summary_by_participants": summary, "versions": versions,
              "env": {k: os.environ.get(k) for k in ("RMW_IMPLEMENTATION", "ROS_DOMAIN_ID",
                                                     "ROS_AUTOMATIC_DISCOVERY_RANGE",
                                                     "FASTDDS_BUILTIN_TRANSPORTS")},
              "cpus": os.cpu_count(),
              "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "trials": trials}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("summary_by_participants", "versions")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
