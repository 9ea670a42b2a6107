"""The main job (``make sim``): sim + policy node + command headless for a while, then a summary.

``python -m athena_bringup.sim_demo [--duration 20] [--vx 0.5 --vy 0 --yaw 0] [--model X.onnx]
[--world stairs_up] [--record out.gif]``. Same nodes and parameter files as ``sim.launch.py``
(athena_bringup.nodes).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from athena_sim.worlds import WORLDS, build

from athena_bringup.nodes import configured_model_path, sim_nodes
from athena_bringup.session import arrays, run_nodes
from athena_description import walking_gate

FALL_HEIGHT_M = 0.45     # pelvis below this (nominal 0.75 m) = fallen
WARMUP_S = 3.0           # policy node STAND (2 s) + settling: not scored


def base_height(pose: np.ndarray, world: str = "flat") -> np.ndarray:
    """The base's height above the ground under it, per odometry sample (pose: x, y, z, ...)."""
    if world == "flat":
        return pose[:, 2]
    ground = build(world)[1].height
    return pose[:, 2] - np.array([ground(float(x), float(y)) for x, y in pose[:, :2]])


def resolve_model(requested: str | None, log=print) -> str:  # noqa: ANN001
    """The configured/requested policy, or a freshly generated test policy when it is missing."""
    path = Path(requested or configured_model_path())
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.exists():
        log(f"policy: {path}")
        return str(path)
    from athena_policy_node.test_policy import make_test_policy

    out = Path(tempfile.gettempdir()) / "athena_test_policy.onnx"
    make_test_policy(out)
    log(f"policy: {path} not found -> using the UNTRAINED test policy {out} "
        "(athena_policy_node.test_policy); it will not walk")
    return str(out)


def score(obs, cmd: tuple[float, float, float], warmup_s: float = WARMUP_S,  # noqa: ANN001
          world: str = "flat") -> dict:
    """walking_gate episode metrics of one observed run (after the warm-up).

    Fallen = the base less than FALL_HEIGHT_M above the ground under it (``world``'s).
    """
    t, pose, twist = arrays(obs)
    if len(t) < 2:
        raise RuntimeError("no odometry received from the sim node")
    below = np.nonzero(base_height(pose, world) < FALL_HEIGHT_M)[0]
    fell = len(below) > 0
    end = below[0] if fell else len(t)
    keep = np.arange(len(t)) < end
    keep &= t >= warmup_s
    if keep.sum() < 2:
        keep = np.arange(len(t)) < max(end, 2)
    c = np.tile(cmd, (int(keep.sum()), 1))
    m = walking_gate.episode_metrics(t[keep], c, twist[keep], fell, pose[keep, :2],
                                     command_change_times=[t[keep][0]])
    m["fall_time_s"] = float(t[below[0]]) if fell else None
    # where it ended (fell or not), relative to the start: on a terrain strip, ahead (x) and
    # beside (y) the terrain
    m["end_xy"] = [float(v) for v in pose[end - 1, :2] - pose[0, :2]]
    return m


def main(argv: list[str] | None = None) -> int:
    """Run the demo and print its summary; exit 0 if nothing crashed (a fall is reported)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--vx", type=float, default=None)
    ap.add_argument("--vy", type=float, default=None)
    ap.add_argument("--yaw", type=float, default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--world", default="flat", help="athena_sim.worlds: " + ", ".join(WORLDS)
                    + "; NAME@D at difficulty D from 0 to 1 (stairs_up@1: 12 cm steps)")
    ap.add_argument("--record", default="log/sim_demo/sim_demo.gif", help="'' = no recording")
    ap.add_argument("--json", default="log/sim_demo/summary.json")
    a = ap.parse_args(argv)
    os.environ.setdefault("MUJOCO_GL", "egl")
    import yaml

    from athena_bringup.nodes import config
    defaults = yaml.safe_load(config("sim.yaml").read_text())["cmd_vel_source"]["ros__parameters"]
    cmd = (a.vx if a.vx is not None else defaults["lin_vel_x"],
           a.vy if a.vy is not None else defaults["lin_vel_y"],
           a.yaw if a.yaw is not None else defaults["ang_vel_z"])
    model = resolve_model(a.model)
    overrides = {"world": a.world}
    if a.record:
        Path(a.record).parent.mkdir(parents=True, exist_ok=True)
        overrides["record_path"] = str(Path(a.record).resolve())
    print(f"running sim + policy node + cmd_vel {cmd} for {a.duration:.0f} s (headless) ...",
          flush=True)
    t0 = time.monotonic()
    obs = run_nodes(sim_nodes(model, overrides, cmd), a.duration)
    m = score(obs, cmd, world=a.world)
    sim_d = obs.diagnostics.get("athena_sim", {})
    pol_d = next((v for k, v in obs.diagnostics.items() if k != "athena_sim"), {})
    summary = {
        "policy": model, "world": a.world, "command": dict(zip(("vx", "vy", "yaw_rate"), cmd)),
        "duration_s": a.duration, "wall_s": round(time.monotonic() - t0, 1),
        "fell": m["fell"], "fall_time_s": m["fall_time_s"],
        "distance_m": m.get("distance"), "displacement_m": m.get("displacement"),
        "straightness": m.get("straightness"),
        "mean_speed_mps": m["mean_speed"], "command_speed_mps": float(np.hypot(cmd[0], cmd[1])),
        "lin_vel_error_mps": m["lin_vel_error"], "yaw_rate_error_radps": m["yaw_rate_error"],
        "sim": sim_d, "policy_node": pol_d, "recording": a.record or None,
    }
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(summary, indent=2))
    print("\n=== athena sim-to-sim summary ===")
    print(f"policy            {model}")
    print(f"world             {a.world}")
    print(f"command           vx={cmd[0]:.2f} vy={cmd[1]:.2f} yaw={cmd[2]:.2f}")
    fell_at = f" at t={m['fall_time_s']:.1f} s" if m["fell"] else ""
    print(f"fell              {m['fell']}{fell_at}")
    print(f"distance          {m.get('distance', 0):.2f} m (displacement "
          f"{m.get('displacement', 0):.2f} m)")
    print(f"mean speed        {m['mean_speed']:.2f} m/s vs command "
          f"{summary['command_speed_mps']:.2f}")
    print(f"tracking error    lin {m['lin_vel_error']:.3f} m/s, "
          f"yaw {m['yaw_rate_error']:.3f} rad/s")
    print(f"sim               rtf {sim_d.get('real_time_factor', '?')}, "
          f"rate {sim_d.get('rate_hz', '?')} Hz")
    print("policy node       " + ", ".join(f"{k}={pol_d[k]}" for k in (
        "mode", "backend", "loop_rate_hz", "period_p99_ms", "jitter_p99_ms", "deadline_misses",
        "inference_p50_us", "inference_p99_us") if k in pol_d))
    if a.record:
        print(f"recording         {a.record}" + ("" if Path(a.record).exists() else " (MISSING)"))
    print(f"summary json      {a.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
