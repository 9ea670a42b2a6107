"""Bad inputs against the running sim stack: what the robot does.

``python benchmarks/input_faults.py [--scenarios nan_cmd teleop_dies zero_quat stand e_stop
joints_gap joints_lost] [--out benchmarks/results/input_faults.json]``

Each scenario runs the MuJoCo sim node and the policy node as separate processes
(athena_bringup.session, parameters of config/sim.yaml, the default policy) with an injector
process in place of the command source. The injector publishes ``cmd_vel`` (0.5 m/s) at 10 Hz
and, at a given sim time, does one bad thing:

- ``nan_cmd``: one ``cmd_vel`` with NaN, 0.1 s later one with an absurd yaw rate (10⁴ rad/s),
  then the good command again.
- ``teleop_dies``: stops publishing ``cmd_vel`` (the teleop process died).
- ``zero_quat``: from then on the policy node's IMU (relayed by the injector from the sim's)
  carries the all-zero quaternion with ``orientation_covariance[0] = -1``: no orientation.
- ``stand``: the operator asks the walking robot to stand (``~/stand``).
- ``e_stop``: the operator's e-stop (``~/damp``).
- ``joints_gap``: the policy node's joint_states (relayed by the injector) stop for
  ``GAP_S`` (0.335 s, the DDS link stall of docs/sim.md), then come back.
- ``joints_lost``: ... stop for good (a dead joint encoder bus).

The relayed topics reach the node through one more Python process: a little later and less
regularly than the sim's own (the relay is all that differs in the other scenarios).

Recorded per scenario from ground-truth odometry and the node's /diagnostics: fell or not,
distance and speed before and after the injection, the base height at the end and its fastest
descent (a limp robot sinking vs. one falling), the node's final mode, its last transition,
faults and rejected commands. Nothing is asserted (the tests do that); figures go to the JSON file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CMD = (0.5, 0.0, 0.0)
INJECT_AT_S = 10.0   # sim time of the injection (the node walks from ~6 s on: 4 s + 2 s ramp)
DURATION_S = 20.0
GAP_S = 0.335        # joints_gap: how long joint_states stay away
RELAYED = {"zero_quat": "imu", "joints_gap": "joint_states", "joints_lost": "joint_states"}


def inject(scenario: str) -> None:
    """The injector process: command source, and the IMU relay for zero_quat."""
    import rclpy
    from geometry_msgs.msg import Twist
    from nav_msgs.msg import Odometry
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
    from sensor_msgs.msg import Imu, JointState
    from std_srvs.srv import Trigger

    rclpy.init()
    node = rclpy.create_node("injector")
    pub = node.create_publisher(Twist, "cmd_vel",
                                QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    sim_t = {"t": 0.0, "done": 0}

    def on_odom(m: Odometry) -> None:
        sim_t["t"] = m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec

    node.create_subscription(Odometry, "odom", on_odom, 10)

    def twist(vx: float, vy: float, wz: float) -> Twist:
        msg = Twist()
        msg.linear.x, msg.linear.y, msg.angular.z = vx, vy, wz
        return msg

    service = {"stand": "/policy_node/stand", "e_stop": "/policy_node/damp"}.get(scenario)
    client = node.create_client(Trigger, service) if service else None

    def tick() -> None:
        after = sim_t["t"] >= INJECT_AT_S
        if client is not None and after and not sim_t["done"]:
            sim_t["done"] = 1
            client.call_async(Trigger.Request())
        if scenario == "teleop_dies" and after:
            return
        if scenario == "nan_cmd" and after and sim_t["done"] < 2:
            # one bad message per timer tick: the subscription keeps only the newest (depth 1)
            sim_t["done"] += 1
            pub.publish(twist(float("nan"), 0.0, 0.0) if sim_t["done"] == 1
                        else twist(0.0, 0.0, 1e4))
            return
        pub.publish(twist(*CMD))

    node.create_timer(0.1, tick)
    if scenario == "zero_quat":
        relay = node.create_publisher(Imu, "imu_relayed", qos_profile_sensor_data)

        def on_imu(m: Imu) -> None:
            if sim_t["t"] >= INJECT_AT_S:
                m.orientation.x = m.orientation.y = m.orientation.z = m.orientation.w = 0.0
                m.orientation_covariance[0] = -1.0
            relay.publish(m)

        node.create_subscription(Imu, "imu", on_imu, qos_profile_sensor_data)
    if RELAYED.get(scenario) == "joint_states":
        relay_js = node.create_publisher(JointState, "joint_states_relayed",
                                         qos_profile_sensor_data)
        until = INJECT_AT_S + GAP_S if scenario == "joints_gap" else float("inf")

        def on_js(m: JointState) -> None:
            t = m.header.stamp.sec + 1e-9 * m.header.stamp.nanosec   # sim time, every tick
            if not INJECT_AT_S <= t < until:
                relay_js.publish(m)

        node.create_subscription(JointState, "joint_states", on_js, qos_profile_sensor_data)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


def run(scenario: str, model: str) -> dict:
    """One scenario through the real nodes; what happened."""
    from athena_bringup.nodes import sim_nodes
    from athena_bringup.session import arrays, run_nodes
    from athena_bringup.sim_demo import FALL_HEIGHT_M

    specs = [s for s in sim_nodes(model, {}, CMD) if s.name != "cmd_vel_source"]
    if scenario in RELAYED:
        topic = RELAYED[scenario]
        node = next(s for s in specs if s.name == "policy_node")
        node.remappings.append((topic, f"{topic}_relayed"))
    injector = subprocess.Popen([sys.executable, __file__, "--inject", scenario])
    try:
        obs = run_nodes(specs, DURATION_S)
    finally:
        injector.terminate()
        injector.wait(timeout=10)
    t, pose, twist = arrays(obs)
    diag = next((v for k, v in obs.diagnostics.items() if k.startswith("athena_policy_node")),
                {})
    fell_idx = np.flatnonzero(pose[:, 2] < FALL_HEIGHT_M)   # as make sim and the gate judge
    before = (t > INJECT_AT_S - 3.0) & (t <= INJECT_AT_S)
    late = t > DURATION_S - 3.0
    # vertical speed of the base from the poses (odometry twist is in the body frame)
    twist_z = np.diff(pose[:, 2]) / np.maximum(np.diff(t), 1e-6)

    def dist(mask: np.ndarray) -> float:
        p = pose[mask, :2]
        return float(np.linalg.norm(p[-1] - p[0])) if len(p) > 1 else float("nan")

    return {
        "scenario": scenario,
        "inject_at_sim_s": INJECT_AT_S,
        "duration_sim_s": DURATION_S,
        "fell": bool(fell_idx.size),
        "fall_time_s": float(t[fell_idx[0]]) if fell_idx.size else None,
        "speed_before_m_s": float(np.mean(twist[before, 0])) if before.any() else None,
        "speed_last_3s_m_s": float(np.mean(twist[late, 0])) if late.any() else None,
        "distance_last_3s_m": dist(late),
        "distance_after_injection_m": dist(t > INJECT_AT_S),
        "base_height_end_m": float(pose[-1, 2]),
        "max_descent_speed_m_s": float(-np.min(twist_z)) if len(twist_z) else None,
        "node_mode": diag.get("mode"),
        "node_last_transition": diag.get("last_transition"),
        "node_last_fault": diag.get("last_fault"),
        "node_faults": {k: v for k, v in diag.items() if k.startswith("faults.") and v != "0"},
        "cmd_rejected": {k: v for k, v in diag.items() if k.startswith("cmd_rejected.")},
        "sensor_gaps": diag.get("sensor_gaps"),
        "sensor_gap_max_ms": diag.get("sensor_gap_max_ms"),
    }


def main() -> int:
    """Run the scenarios, print a line each, write the JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", nargs="+",
                    default=["nan_cmd", "teleop_dies", "zero_quat", "stand", "e_stop",
                             "joints_gap", "joints_lost"])
    ap.add_argument("--model", default=str(ROOT / "src/athena_train/policies/flat2/policy.onnx"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/input_faults.json")
    ap.add_argument("--inject", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inject:
        inject(args.inject)
        return 0
    results = []
    for s in args.scenarios:
        r = run(s, args.model)
        results.append(r)
        print(json.dumps(r))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": args.model, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
