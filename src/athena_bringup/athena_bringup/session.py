"""Run a node set as separate processes (as on the robot) and observe it over ROS."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import Odometry
from rclpy.node import Node

from athena_bringup.nodes import NodeSpec


def command_line(spec: NodeSpec) -> list[str]:
    """The node's command: its installed executable with --ros-args."""
    from ament_index_python.packages import get_package_prefix

    exe = os.path.join(get_package_prefix(spec.package), "lib", spec.package, spec.executable)
    args = [exe, "--ros-args", "-r", f"__node:={spec.name}"]
    for f in spec.params_files:
        args += ["--params-file", str(f)]
    for k, v in spec.parameters.items():
        args += ["-p", f"{k}:={v}"]
    for a, b in spec.remappings:
        args += ["-r", f"{a}:={b}"]
    return args


@dataclass
class Observation:
    """What the observer saw: ground-truth odometry and the latest diagnostics per name."""

    t: list = field(default_factory=list)          # monotonic receive time
    stamp: list = field(default_factory=list)      # the odometry's header stamp: sim time (s)
    pose: list = field(default_factory=list)       # x, y, z
    twist: list = field(default_factory=list)      # body vx, vy, wz
    diagnostics: dict = field(default_factory=dict)


class Observer(Node):
    """Records odom and /diagnostics."""

    def __init__(self) -> None:
        super().__init__("athena_observer")
        self.obs = Observation()
        self.create_subscription(Odometry, "odom", self._on_odom, 500)
        self.create_subscription(DiagnosticArray, "/diagnostics", self._on_diag, 20)

    def _on_odom(self, m: Odometry) -> None:
        p, v, w = m.pose.pose.position, m.twist.twist.linear, m.twist.twist.angular
        self.obs.t.append(time.monotonic())
        self.obs.stamp.append(m.header.stamp.sec + m.header.stamp.nanosec * 1e-9)
        self.obs.pose.append((p.x, p.y, p.z))
        self.obs.twist.append((v.x, v.y, w.z))

    def _on_diag(self, m: DiagnosticArray) -> None:
        for s in m.status:
            self.obs.diagnostics[s.name] = {kv.key: kv.value for kv in s.values}


def run_nodes(specs: list[NodeSpec], duration_s: float, log=print,  # noqa: ANN001
              verbose: bool = False, startup_timeout_s: float = 60.0) -> Observation:
    """Start the nodes, observe for ``duration_s``, stop them with SIGINT; the observation.

    ``duration_s`` counts from the simulation's first step (the first odometry sample's receive
    time less its stamp), so process start-up and discovery, which vary with the machine's
    load, never eat into the observed time.
    """
    procs = []
    rclpy.init()
    observer = Observer()
    try:
        for s in specs:
            procs.append(subprocess.Popen(command_line(s), stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
        start_deadline = time.monotonic() + startup_timeout_s
        end = None
        while end is None or time.monotonic() < end:
            rclpy.spin_once(observer, timeout_sec=0.05)
            if end is None and observer.obs.t:
                # from the sim's first step (first sample's receive time less its sim time)
                end = observer.obs.t[0] - observer.obs.stamp[0] + duration_s
            elif end is None and time.monotonic() > start_deadline:
                raise RuntimeError(f"no odometry within {startup_timeout_s:.0f} s of start")
            dead = [(s.name, p.returncode) for s, p in zip(specs, procs) if p.poll() is not None]
            if dead:
                raise RuntimeError(f"node(s) exited early: {dead}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for s, p in zip(specs, procs):
            # the sim renders its recording on shutdown: give it time; the others 5 s
            try:
                out, _ = p.communicate(timeout=120 if s.package == "athena_sim" else 5)
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    out, _ = p.communicate(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, _ = p.communicate()
            if verbose or p.returncode not in (0, -signal.SIGINT, -signal.SIGTERM, None) \
                    or "ERROR" in (out or "") or "FATAL" in (out or ""):
                log(f"--- {s.name} (exit {p.returncode}) ---\n{out[-2000:]}")
        observer.destroy_node()
        rclpy.try_shutdown()
    return observer.obs


def arrays(obs: Observation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, pose (N,3), twist (N,3)) as arrays.

    t is the odometry's stamp when it has one: sim time, which starts at the simulator's first
    step, so the warm-up and the scores count simulated seconds however late discovery
    delivered the observer's first sample. Without stamps: receive time since the first sample.
    """
    if len(obs.stamp) == len(obs.t) and any(obs.stamp):
        t = np.asarray(obs.stamp, dtype=float)
    else:
        t = np.asarray(obs.t, dtype=float) - (obs.t[0] if obs.t else 0.0)
    return t, np.asarray(obs.pose).reshape(-1, 3), np.asarray(obs.twist).reshape(-1, 3)
