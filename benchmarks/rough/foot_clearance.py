"""How high a policy lifts its feet, and what its feet hit, in the MuJoCo worlds (no ROS).

``python benchmarks/rough/foot_clearance.py POLICY.onnx [POLICY ...] [--worlds flat stairs_up]
[--vx 0.3 0.6 0.9] [--seconds 12] [--out JSON]``

A blind policy climbs a step only if its swing foot clears the riser, or if it reacts when
the toe hits it. Per policy, world and straight-ahead command (nominal friction and masses,
no pushes; the policy driven as ``mujoco_direct.rollout`` drives it, at the sim node's
500 Hz), at every physics step:

- the **sole** of each foot: the lowest corner of its collision box;
- a **swing** = the foot out of contact with the ground for at least ``MIN_SWING_S``; its
  **apex** = the sole's greatest height during it above the ground it lifted off from
  (``athena_sim.worlds``' height function under the sole's corners at lift-off: on stairs,
  the tread it stood on), so an apex above the step height clears the next riser;
- a **riser hit** = a foot contact whose normal is within 45° of horizontal (the face of a
  step or box, not a tread), counted once per contact episode.

Also the distance walked, the highest ground reached (steps climbed) and falls (the base
below ``sim_demo.FALL_HEIGHT_M`` over the ground under it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import mujoco
import numpy as np
from athena_bringup.sim_demo import FALL_HEIGHT_M
from athena_description.model_metadata import read_onnx_metadata
from athena_sim.sim_node import load_model

from athena_sim import worlds

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "time_to_walk"))
from mujoco_direct import rollout  # noqa: E402 - the shared MuJoCo rollout of the benchmarks

FEET = ("left_ankle_roll_link", "right_ankle_roll_link")
MIN_SWING_S = 0.1          # shorter gaps in contact are bounces, not steps
RISER_NORMAL_Z = 0.7071    # |n_z| below this: a contact on a vertical face (> 45° from up)


def foot_geom(m: mujoco.MjModel, body: str) -> int:
    """The collision geom of a foot body (the one whose contacts count)."""
    gid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, f"{body}_collision")
    if gid < 0:
        raise RuntimeError(f"no collision geom {body}_collision in the MJCF")
    return gid


def sole(m: mujoco.MjModel, d: mujoco.MjData, gid: int,
         world: worlds.World) -> tuple[float, float]:
    """(height of a box geom's lowest corner, highest ground under its corners), in m."""
    half = m.geom_size[gid]
    corners = np.array(list(itertools.product((-1, 1), repeat=3))) * half
    pts = d.geom_xpos[gid] + corners @ d.geom_xmat[gid].reshape(3, 3).T
    return float(pts[:, 2].min()), max(world.height(p[0], p[1]) for p in pts)


def foot_contacts(m: mujoco.MjModel, d: mujoco.MjData, gid: int) -> tuple[bool, bool]:
    """(any contact, a contact on a riser) of geom ``gid`` with anything but the robot."""
    any_c, riser = False, False
    robot_body = m.geom_bodyid[gid]
    for c in d.contact[:d.ncon]:
        if gid not in (c.geom1, c.geom2):
            continue
        other = c.geom2 if c.geom1 == gid else c.geom1
        if m.body_rootid[m.geom_bodyid[other]] == m.body_rootid[robot_body]:
            continue  # self-contact
        any_c = True
        riser |= abs(float(c.frame[2])) < RISER_NORMAL_Z  # frame[0:3]: the contact normal
    return any_c, riser


def episode(policy: Path, world_name: str, vx: float, seconds: float) -> dict:
    """One straight-ahead episode; the feet's swings, apexes and riser hits."""
    rate = read_onnx_metadata(policy).rates.node_rate_hz
    m, d = load_model(1.0, 1.0, 1.0 / rate, world_name)
    _, world = worlds.build(world_name)
    gids = [foot_geom(m, f) for f in FEET]
    min_swing = int(MIN_SWING_S * rate)
    state = [{"air": 0, "apex": 0.0, "riser": False, "apexes": [], "risers": 0,
              "ground": world.start_z} for _ in FEET]
    x0, top, fell = float(d.qpos[0]), world.start_z, False

    def step(k: int) -> bool:
        nonlocal top, fell
        for s, gid in zip(state, gids):
            touching, riser = foot_contacts(m, d, gid)
            z, ground = sole(m, d, gid, world)
            if touching:
                if s["air"] >= min_swing:
                    s["apexes"].append(s["apex"])
                s["air"], s["apex"], s["ground"] = 0, 0.0, ground  # lift-off ground, so far
                s["risers"] += int(riser and not s["riser"])
                s["riser"] = riser
            else:
                s["air"] += 1
                s["apex"] = max(s["apex"], z - s["ground"])
                s["riser"] = False
        ground = world.height(float(d.qpos[0]), float(d.qpos[1]))
        top = max(top, ground)
        fell = bool(d.qpos[2] - ground < FALL_HEIGHT_M)
        return fell

    rollout(policy, m, d, np.array([vx, 0.0, 0.0]), seconds, on_step=step)
    apex = np.array([a for s in state for a in s["apexes"]])
    return {
        "world": world_name, "vx": vx, "fell": fell,
        "distance_m": round(float(d.qpos[0]) - x0, 2),
        "climbed_m": round(top - world.start_z, 3),
        "swings": int(apex.size),
        "swings_clearing_step": int((apex > worlds.WorldParams().step_m).sum()),
        "apex_m": {"p10": round(float(np.percentile(apex, 10)), 4),
                   "median": round(float(np.median(apex)), 4),
                   "p90": round(float(np.percentile(apex, 90)), 4),
                   "max": round(float(apex.max()), 4)} if apex.size else None,
        "riser_hits": sum(s["risers"] for s in state),
    }


def main() -> int:
    """Every policy x world x command; print a line each, optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policies", type=Path, nargs="+")
    ap.add_argument("--worlds", nargs="+", default=["flat", "stairs_up"],
                    choices=worlds.WORLDS)
    ap.add_argument("--vx", type=float, nargs="+", default=[0.3, 0.6, 0.9])
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = {"what": __doc__.split("\n\n")[0], "seconds": args.seconds,
           "min_swing_s": MIN_SWING_S, "riser_normal_z_below": RISER_NORMAL_Z,
           "stairs": {"step_m": worlds.WorldParams().step_m,
                      "tread_m": worlds.WorldParams().tread_m}, "results": []}
    t0 = time.time()
    for policy, w, vx in itertools.product(args.policies, args.worlds, args.vx):
        r = {"policy": str(policy), **episode(policy, w, vx, args.seconds)}
        print(json.dumps(r), flush=True)
        out["results"].append(r)
    out["wall_s"] = round(time.time() - t0, 1)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
