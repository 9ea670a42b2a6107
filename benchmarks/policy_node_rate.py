"""Policy node at 500 Hz with inference on every tick: how steady, how fast.

``python benchmarks/policy_node_rate.py [--seconds 60] [--modes thread event timer]
[--out benchmarks/results/policy_node_rate.json]``

For each loop mode the real ``PolicyNode`` (ONNX Runtime, the repo's 47→512→256→128→23 test
policy, ``infer_every_tick``) runs in this process, spun like its ``main()`` does, while a
feeder in *another process* publishes ``imu`` + ``joint_states`` at 500 Hz and receives the
``joint_command``. Measured over the run (the first ``--warmup`` seconds dropped):

- the node's tick periods (rate, p50/p99/max, deadline misses = a period > 1 ms late),
- inference time per call (p50/p99), and the backends' isolated batch-1 latency,
- end to end: ``joint_states`` stamp → the node publishing the target that answers it
  (``stamp_to_publish``, the node's clock at publish), and → the feeder receiving that target
  back (``end_to_end``, both DDS hops included),
- the floor: a bare rclpy 500 Hz timer under the same feeder load, same statistics.

Figures go to the JSON file; nothing here is asserted (the tests assert behaviour).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path

import numpy as np

TICK_S = 0.002
LATE_S = 0.001


def period_stats(times: list[float]) -> dict:
    """Rate and period statistics of a list of tick times (s, monotonic)."""
    t = np.asarray(times, dtype=float)
    p = np.diff(t)
    return {"ticks": int(len(t)), "rate_hz": float((len(t) - 1) / (t[-1] - t[0])),
            "period_p50_ms": float(np.percentile(p, 50) * 1e3),
            "period_p99_ms": float(np.percentile(p, 99) * 1e3),
            "period_max_ms": float(p.max() * 1e3),
            "deadline_misses": int((p > TICK_S + LATE_S).sum()),
            "deadline_miss_pct": float((p > TICK_S + LATE_S).mean() * 100)}


def latency_stats(samples_s: list[float], prefix: str) -> dict:
    """p50/p99/max of latency samples (s) in microseconds."""
    a = np.asarray(samples_s, dtype=float) * 1e6
    return {f"{prefix}_p50_us": float(np.percentile(a, 50)),
            f"{prefix}_p99_us": float(np.percentile(a, 99)),
            f"{prefix}_max_us": float(a.max()), f"{prefix}_samples": int(len(a))}


# --------------------------------------------------------------------------- feeder process
def feeder(seconds: float, warmup: float, out: Path) -> None:
    """Publish imu + joint_states at 500 Hz; record stamp → target-received latency."""
    import threading

    import rclpy
    from athena_policy_node.node import COMMAND_QOS
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import qos_profile_sensor_data
    from rclpy.time import Time
    from sensor_msgs.msg import Imu, JointState

    from athena_description import load_robot_contract
    from athena_msgs.msg import JointCommand

    robot = load_robot_contract()
    rclpy.init()
    node = rclpy.create_node("rate_feeder")
    clock = node.get_clock()
    lat: list[float] = []
    t_start = time.monotonic()

    def on_target(msg: JointCommand) -> None:
        if time.monotonic() - t_start > warmup:
            lat.append((clock.now() - Time.from_msg(msg.header.stamp)).nanoseconds * 1e-9)

    node.create_subscription(JointCommand, "joint_command", on_target, COMMAND_QOS)
    pub_imu = node.create_publisher(Imu, "imu", qos_profile_sensor_data)
    pub_js = node.create_publisher(JointState, "joint_states", qos_profile_sensor_data)
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    spin = threading.Thread(target=ex.spin, daemon=True)
    spin.start()
    js = JointState(name=list(robot.joint_names), position=robot.default_positions.tolist(),
                    velocity=[0.0] * robot.num_joints)
    imu = Imu()
    imu.orientation.w = 1.0
    nxt = time.monotonic()
    while time.monotonic() - t_start < seconds:
        stamp = clock.now().to_msg()
        imu.header.stamp = js.header.stamp = stamp
        pub_imu.publish(imu)
        pub_js.publish(js)
        nxt += TICK_S
        time.sleep(max(0.0, nxt - time.monotonic()))
    ex.shutdown(timeout_sec=1.0)
    out.write_text(json.dumps(lat))
    rclpy.try_shutdown()


def start_feeder(seconds: float, warmup: float, out: Path) -> subprocess.Popen:
    """The feeder as a separate process."""
    return subprocess.Popen([sys.executable, __file__, "--feeder", str(seconds), str(warmup),
                             str(out)])


# --------------------------------------------------------------------------- measured side
def run_node(mode: str, model: Path, seconds: float, warmup: float) -> dict:
    """The policy node in loop ``mode`` against the feeder; its statistics."""
    import rclpy
    from athena_policy_node.modes import Mode
    from athena_policy_node.node import PolicyNode
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.time import Time

    out = Path(tempfile.mkdtemp()) / "lat.json"
    feed = start_feeder(seconds + 3.0, warmup + 1.0, out)
    rclpy.init()
    node = PolicyNode(parameter_overrides=[
        Parameter("model_path", value=str(model)), Parameter("loop_mode", value=mode),
        Parameter("infer_every_tick", value=True), Parameter("stand_s", value=0.2),
        Parameter("auto_mode", value="walk")])
    n = int(seconds / TICK_S * 1.5)
    node.tick_log, node.ctl.infer_times = deque(maxlen=n), deque(maxlen=n)
    to_publish: deque = deque(maxlen=n)
    publish, clock = node._publish, node.get_clock()

    def timed_publish(cmd) -> None:  # noqa: ANN001 - the node's own signature
        publish(cmd)
        if cmd.stamp is not None:   # (the shutdown's DAMPING command answers no message)
                to_publish.append((clock.now() - Time.from_msg(cmd.stamp)).nanoseconds * 1e-9)
    node._publish = timed_publish
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    node.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ex.spin_once(timeout_sec=0.05)
    node.shutdown()
    t0 = node.tick_log[0] + warmup if node.tick_log else 0.0
    ticks = [t for t in node.tick_log if t >= t0]
    infer = list(node.ctl.infer_times)[int(warmup / TICK_S):]
    machine = node.ctl.machine
    result = {"mode": mode, "operator_mode": machine.mode.value,
              "faults": {f.name.lower(): c for f, c in machine.faults.items()},
              "backend": node.backend.name, **period_stats(ticks),
              **latency_stats(infer, "inference"),
              **latency_stats(list(to_publish)[int(warmup / TICK_S):], "stamp_to_publish")}
    ran = Mode.WALK in [t.new for t in machine.transitions]
    node.destroy_node()
    rclpy.try_shutdown()
    feed.wait(timeout=30)
    result.update(latency_stats(json.loads(out.read_text()), "end_to_end"))
    result["reached_walk"] = ran
    return result


def run_bare_timer(seconds: float, warmup: float) -> dict:
    """A bare rclpy 500 Hz timer under the same feeder load: the floor."""
    import rclpy
    from rclpy.executors import SingleThreadedExecutor

    out = Path(tempfile.mkdtemp()) / "lat.json"
    feed = start_feeder(seconds + 1.0, warmup, out)
    rclpy.init()
    node = rclpy.create_node("bare_timer")
    ticks: list[float] = []
    node.create_timer(TICK_S, lambda: ticks.append(time.monotonic()))
    ex = SingleThreadedExecutor()
    ex.add_node(node)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ex.spin_once(timeout_sec=0.05)
    node.destroy_node()
    rclpy.try_shutdown()
    feed.wait(timeout=30)
    return {"mode": "bare rclpy timer", **period_stats([t for t in ticks
                                                         if t >= ticks[0] + warmup])}


def isolated_inference(model: Path, calls: int = 20000) -> dict:
    """Batch-1 latency of each backend that loads here, without ROS around it."""
    from athena_policy_node.inference import BACKENDS, BackendUnavailable, load_backend

    out = {}
    obs = np.random.default_rng(0).standard_normal((1, 47)).astype(np.float32)
    for kind in BACKENDS:
        try:
            b = load_backend(model, kind)
        except BackendUnavailable as exc:
            out[kind] = {"available": False, "why": str(exc)[:200]}
            continue
        if b.name != kind:  # fell back to another backend: not this one
            out[kind] = {"available": False, "why": f"fell back to {b.name}"}
            continue
        for _ in range(500):
            b.infer(obs)
        times = []
        for _ in range(calls):
            t = time.perf_counter()
            b.infer(obs)
            times.append(time.perf_counter() - t)
        out[kind] = {"available": True, **latency_stats(times, "inference")}
    return out


def main() -> int:
    """Run the floor and each loop mode; write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--modes", nargs="+", default=["thread", "event", "timer"])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/policy_node_rate.json"))
    a = ap.parse_args()
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    from athena_policy_node.test_policy import HIDDEN, make_test_policy

    model = make_test_policy(Path(tempfile.mkdtemp()) / "bench_policy.onnx")
    result = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "processor": platform.processor() or platform.machine()},
              "policy": f"test policy 47→{'→'.join(map(str, HIDDEN))}→23 (ONNX, random init)",
              "seconds_per_run": a.seconds, "warmup_s": a.warmup,
              "isolated_inference": isolated_inference(model)}
    print(json.dumps(result["isolated_inference"], indent=1), flush=True)
    result["floor"] = run_bare_timer(a.seconds, a.warmup)
    print(json.dumps(result["floor"]), flush=True)
    result["node"] = []
    for mode in a.modes:
        r = run_node(mode, model, a.seconds, a.warmup)
        r["period_p99_vs_floor"] = r["period_p99_ms"] / result["floor"]["period_p99_ms"]
        result["node"].append(r)
        print(json.dumps(r), flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--feeder":
        feeder(float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4]))
        raise SystemExit(0)
    raise SystemExit(main())
