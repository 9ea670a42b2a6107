"""Per-terrain-family checks in Isaac Lab: zero-action standing and policy rollouts.

``python -m athena_train.terrain_eval stand [--per_tile 4] [--steps 50] [--out stand.json]``:
robots holding the default pose (zero actions) at every tile of a one-column-per-family grid
of the rough task's terrain (:func:`athena_train.tasks.terrains.one_column_per_family`), with
the task's randomization but no pushes; per family and level, the share of robots whose
first episode ended on ``base_contact`` (pelvis, torso or a knee touched the terrain) within
10, 25 and ``--steps`` steps, and how every first episode that ended did end.

``python -m athena_train.terrain_eval policy CKPT [CKPT ...] [--per_tile 5]
[--protocol walking] [--tile_m 16] [--out eval.json]``: a gate's protocol
(``athena_description.walking_gate``: ``walking``, the flat gate's commands, pushes,
friction and masses; ``robustness``, the robustness gate's: straight-ahead commands,
1.0 m/s pushes, friction 0.3-1.5, payload, weaker motors; 20 s episodes,
``athena_train.evaluate``) on every tile of the same grid; per family (and level) the
gate's metrics and verdict, falls and velocity errors; with ``robustness`` also the gate's
verdict over the families (``robustness_verdict``, the flat gate counted as not run).
Exit 0.

One env per episode, placed on its tile before the first reset; the terrain curriculum is
off, so a robot that falls restarts on the same tile (only its first episode counts). A
policy episode is judged while the robot is on its own tile (``EVAL_TILE_M`` tiles): one that
walks off it ends there, not as a fall (``left_tile``), so that a family's figures are that
family's, not its neighbours'.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from athena_description.walking_gate import Protocol

ROUGH_TASK = "Athena-Velocity-Rough-v0"
# issue 17: with MuJoCo's contacts 34-100 % ended on base contact within 10 steps. Zero actions
# hold the default pose without any balance: on random_rough a robot tips over on its own
# within ~1-1.2 s, so the short horizons say whether the feet rest on the mesh.
HORIZONS = (10, 25)
# m: the policy evaluation's tiles (training: 8 m). A robot walks straight ahead from its
# tile's centre and is judged until it leaves the tile: at 8 m it would leave after 4-13 s of
# a 20 s episode, having met one push, and 5 steps of stairs; at 16 m, 18 steps (a storey's
# flight) and 8-27 s on its own family
EVAL_TILE_M = 16.0


def tile_grid_cfg(cfg: object, per_tile: int, num_rows: int | None = None,
                  pushes: bool = False, tile_m: float | None = None) -> None:
    """Edit a rough env config: one column per family, ``per_tile`` envs on every tile.

    ``tile_m``: the tiles' side (default: the task's).
    """
    from athena_train.tasks.terrains import one_column_per_family

    gen = cfg.scene.terrain.terrain_generator
    gen = one_column_per_family(gen, num_rows or gen.num_rows, tile_m)
    cfg.scene.terrain.terrain_generator = gen
    cfg.scene.terrain.max_init_terrain_level = None
    cfg.curriculum.terrain_levels = None
    cfg.scene.num_envs = per_tile * gen.num_rows * gen.num_cols
    cfg.randomization.pushes = pushes
    cfg.apply_randomization()


def place_on_tiles(uenv: object) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Put env i on tile i mod (rows x cols), row-major; (levels, columns, family of each env)."""
    import torch

    from athena_train.tasks.terrains import column_families

    terrain = uenv.scene.terrain
    rows, cols = terrain.terrain_origins.shape[:2]
    idx = torch.arange(uenv.num_envs, device=terrain.terrain_levels.device) % (rows * cols)
    terrain.terrain_levels[:] = idx // cols
    terrain.terrain_types[:] = idx % cols
    terrain.env_origins[:] = terrain.terrain_origins[terrain.terrain_levels, terrain.terrain_types]
    fams = column_families(uenv.cfg.scene.terrain.terrain_generator)
    levels, types = terrain.terrain_levels.cpu().numpy(), terrain.terrain_types.cpu().numpy()
    return levels, types, [fams[t] for t in types]


def stand(env: object, steps: int) -> dict:
    """Zero actions from a fresh reset; per env the step and cause of its first termination."""
    import torch

    from athena_train.evaluate import mark_first_cause

    uenv = env.unwrapped
    n, device = uenv.num_envs, uenv.device
    env.reset()
    tm = uenv.termination_manager
    names = list(tm.active_terms)
    end_step = torch.full((n,), -1, dtype=torch.long, device=device)
    cause = torch.full((n,), -1, dtype=torch.long, device=device)
    zero = torch.zeros(n, env.num_actions, device=device)
    robot = uenv.scene["robot"]
    height0 = (robot.data.root_pos_w.torch[:, 2] - uenv.scene.env_origins[:, 2]).clone()
    for step in range(steps):
        env.step(zero)
        fresh = end_step < 0
        mark_first_cause(tm, names, cause, fresh)
        end_step[fresh & (cause >= 0)] = step
    alive = end_step < 0
    height = robot.data.root_pos_w.torch[:, 2] - uenv.scene.env_origins[:, 2]
    scan = critic_term(uenv, "height_scan")
    return {"end_step": end_step.cpu().numpy(), "cause": cause.cpu().numpy(), "names": names,
            "alive": alive.cpu().numpy(), "height_start": height0.cpu().numpy(),
            "height_end": torch.where(alive, height, torch.nan).cpu().numpy(),
            "height_scan": None if scan is None else scan.cpu().numpy()}


def critic_term(uenv: object, name: str) -> object | None:
    """One term of the critic's observation as the critic gets it (torch, envs × values)."""
    om = uenv.observation_manager
    names = list(om.active_terms.get("critic", []))
    if name not in names:
        return None
    dims = [int(np.prod(d)) for d in om.group_obs_term_dim["critic"]]
    start = sum(dims[:names.index(name)])
    return om.compute_group("critic")[:, start:start + dims[names.index(name)]]


def physics_diagnostics() -> dict:
    """What MuJoCo-Warp got: per-geom friction over the worlds, contact and constraint counts.

    MuJoCo uses the larger friction of the two geoms in contact, so the terrain's value is the
    floor every robot sees. Best effort (solver internals): an error is reported, not raised.
    """
    try:
        from isaaclab_newton.physics.newton_manager import NewtonManager

        solver = NewtonManager._solver
        m, d = solver.mjw_model, solver.mjw_data
        fr = m.geom_friction.numpy()[..., 0]  # (worlds or 1, ngeom)
        names = []
        for g in range(fr.shape[1]):
            try:
                names.append(solver.mj_model.geom(g).name or f"geom{g}")
            except Exception:  # noqa: BLE001 - names are a convenience
                names.append(f"geom{g}")
        out = {"geom_friction": {n: [float(fr[:, g].min()), float(fr[:, g].max())]
                                 for g, n in enumerate(names)}}
        nefc = np.asarray(d.nefc.numpy()).reshape(-1)
        out.update(nconmax_per_world=int(getattr(m, "nconmax", -1) or -1),
                   ncon_total=int(np.asarray(d.nacon.numpy()).reshape(-1)[0])
                   if hasattr(d, "nacon") else None,
                   nefc_max_per_world=int(nefc.max()), nefc_mean_per_world=float(nefc.mean()),
                   worlds_overflowed=worlds_overflowed(d))
        return out
    except Exception as e:  # noqa: BLE001
        return {"error": f"{type(e).__name__}: {e}"}


def worlds_overflowed(mjw_data: object) -> int:
    """Worlds that have run out of constraint rows or contacts (``njmax``/``nconmax``) so far.

    MuJoCo-Warp's per-world overflow bits are sticky until its ``reset_data``, which Isaac Lab
    does not call: this counts every world that lost constraints since the env was built.
    """
    from mujoco_warp import OverflowType

    bits = int(OverflowType.NEFC | OverflowType.NARROWPHASE)
    return int(((np.asarray(mjw_data.overflow.numpy()) & bits) != 0).sum())


def _stand_group(r: dict, mask: np.ndarray, steps: int) -> dict:
    """Counts and shares of one group of envs, by the horizons of :data:`HORIZONS` and ``steps``."""
    bc = r["names"].index("base_contact")
    ended_bc = mask & (r["cause"] == bc)
    n = int(mask.sum())
    out: dict = {"episodes": n}
    for h in sorted({*HORIZONS, steps}):
        if h <= steps:
            k = int((ended_bc & (r["end_step"] < h)).sum())
            out[f"base_contact_within_{h}_steps"] = k
            out[f"base_contact_share_within_{h}_steps"] = k / n if n else float("nan")
    out["any_termination"] = int((mask & (r["end_step"] >= 0)).sum())
    for k, name in enumerate(r["names"]):
        c = int((mask & (r["cause"] == k)).sum())
        if c:
            out[f"ended_{name}"] = c
    h = r["height_end"][mask]
    out["mean_base_height_end_m"] = float(np.nanmean(h)) if np.isfinite(h).any() else None
    scan = r.get("height_scan")
    if scan is not None:  # critic_height_scan: pelvis height over each ray's hit, minus 0.5 m
        s, alive = scan[mask], r["alive"][mask]
        out["height_scan_rays"] = int(s.shape[1])
        out["height_scan_finite"] = bool(np.isfinite(s).all())
        # standing on a tile's platform, the median ray hits the ground under the feet: the
        # scan's median is the standing height (above the tile origin) minus the 0.5 m offset
        err = np.median(s[alive], axis=1) - (h[alive] - 0.5) if alive.any() else np.array([])
        out["height_scan_median_error_m"] = float(np.abs(err).max()) if err.size else None
    return out


def summarize_stand(r: dict, levels: np.ndarray, families: list[str], steps: int) -> dict:
    """Per family, per family and level, and overall."""
    fam = np.asarray(families)
    out = {"all": _stand_group(r, np.ones(len(fam), dtype=bool), steps), "families": {}}
    for f in dict.fromkeys(families):
        m = fam == f
        out["families"][f] = _stand_group(r, m, steps)
        out["families"][f]["by_level"] = {
            int(lv): _stand_group(r, m & (levels == lv), steps) for lv in np.unique(levels[m])}
    return out


def stand_check(task: str = ROUGH_TASK, per_tile: int = 4, steps: int = 50,
                num_rows: int | None = None, device: str = "cuda:0", seed: int = 3,
                physics: str | None = None) -> dict:
    """Build the tile grid, stand with zero actions, summarize (JSON-ready).

    ``base_contact`` here is any of the robot contract's ``termination_contact_links``, knees
    included: a robot in its default pose touches with none of them (the rough task's own
    termination lets a knee touch).
    """
    from athena_description.robot_contract import load_robot_contract

    from athena_train.train import make_env_and_cfg

    def edit(c: object) -> None:
        tile_grid_cfg(c, per_tile, num_rows)
        c.terminations.base_contact.params["sensor_cfg"].body_names = list(
            load_robot_contract().termination_contact_links)

    t0 = time.time()
    env, _ = make_env_and_cfg(task, None, device, seed, physics, edit_env_cfg=edit)
    build_s = time.time() - t0
    uenv = env.unwrapped
    levels, _, families = place_on_tiles(uenv)
    t1 = time.time()
    r = stand(env, steps)
    out = summarize_stand(r, levels, families, steps)
    out["physics_after_steps"] = physics_diagnostics()
    solver = uenv.cfg.sim.physics.solver_cfg
    out.update(task=task, steps=steps, seconds=steps * uenv.step_dt, per_tile=per_tile,
               num_envs=uenv.num_envs, num_rows=int(levels.max()) + 1, device=device,
               physics_preset=uenv.cfg.physics_preset,
               use_mujoco_contacts=bool(solver.use_mujoco_contacts),
               env_build_s=round(build_s, 1), steps_wall_s=round(time.time() - t1, 1))
    env.close()
    return out


def evaluate_families(checkpoints: list[Path], task: str = ROUGH_TASK, per_tile: int = 5,
                      num_rows: int | None = None, device: str = "cuda:0",
                      seed: int = 7, protocol: str | Protocol = "walking",
                      fall_links: list[str] | None = None,
                      tile_m: float | None = EVAL_TILE_M) -> list[dict]:
    """A gate's protocol (walking_gate.PROTOCOLS) on every tile; its metrics per family, level.

    An episode counts only while the robot is on its own tile (``evaluate.rollout``'s
    ``bounds``); ``left_tile``: episodes that walked off it before their time was up.
    ``protocol``: a name in ``walking_gate.PROTOCOLS`` or a ``walking_gate.Protocol`` (a
    variant of a gate's, e.g. without its pushes: ``benchmarks/rough/push_isolation.py``).
    """
    from athena_description import walking_gate as gate
    from athena_train.evaluate import (
        contact_fall_links,
        falls_by_cause,
        gate_env_cfg,
        model_contract,
        rollout,
        summarize,
    )
    from athena_train.train import make_env_and_cfg

    proto = protocol if isinstance(protocol, gate.Protocol) else gate.PROTOCOLS[protocol]
    contract = model_contract(checkpoints)

    def edit(c: object) -> None:
        tile_grid_cfg(c, per_tile, num_rows, pushes=True, tile_m=tile_m)
        gate_env_cfg(c, c.scene.num_envs, proto, fall_links, contract)

    t0 = time.time()
    env, _ = make_env_and_cfg(task, None, device, seed, edit_env_cfg=edit)
    build_s = time.time() - t0
    uenv = env.unwrapped
    levels, _, families = place_on_tiles(uenv)
    side = float(uenv.cfg.scene.terrain.terrain_generator.size[0])
    bounds = (uenv.scene.terrain.env_origins[:, :2].clone(), side / 2)
    fam = np.asarray(families)
    results = []
    for ckpt in checkpoints:
        t1 = time.time()
        per_ep = rollout(env, ckpt, bounds)
        out = {"checkpoint": str(ckpt), "task": task, "protocol": proto.name, "device": device,
               "fall_links": contact_fall_links(env), "tile_m": side,
               "per_tile": per_tile, "num_envs": int(len(fam)), "env_build_s": round(build_s, 1),
               "all": summarize(per_ep, proto), "families": {}}
        out["all"]["left_tile"] = int(per_ep["left_area"].sum())
        for f in dict.fromkeys(families):
            m = fam == f
            sub = {k: v[m] for k, v in per_ep.items()}
            out["families"][f] = gate.summarize_episodes(sub, proto)
            out["families"][f]["falls_by_cause"] = falls_by_cause(sub)
            out["families"][f]["left_tile"] = int(sub["left_area"].sum())
            out["families"][f]["by_level"] = {
                int(lv): gate.level_summary({kk: vv[m & (levels == lv)]
                                             for kk, vv in per_ep.items()})
                for lv in np.unique(levels[m])}
        if proto is gate.ROBUSTNESS:  # the flat gate is a separate run (evaluate)
            out["robustness_gate"] = gate.robustness_verdict(out["families"], None)
        out["wall_s"] = round(time.time() - t1, 1)
        print(json.dumps({"checkpoint": str(ckpt), "falls": out["all"]["falls"],
                          "per_family_falls": {f: v["falls"] for f, v in out["families"].items()},
                          "per_family_left_tile": {f: v["left_tile"]
                                                   for f, v in out["families"].items()},
                          "falls_by_cause": out["all"]["falls_by_cause"]}),
              flush=True)
        results.append(out)
    env.close()
    return results


def _jsonable(o: object) -> object:
    """Plain JSON from numpy scalars and non-finite floats."""
    if isinstance(o, dict):
        return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_jsonable(v) for v in o]
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, float) and not np.isfinite(o):
        return None
    return o


def main(argv: list[str] | None = None) -> int:
    """Command line (see ``--help``)."""
    ap = argparse.ArgumentParser(description="Per-terrain-family checks in Isaac Lab.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("stand", "policy"):
        p = sub.add_parser(name)
        p.add_argument("--task", default=ROUGH_TASK)
        p.add_argument("--per_tile", type=int, default=4 if name == "stand" else 5)
        p.add_argument("--num_rows", type=int, default=None,
                       help="levels (default: the task's)")
        p.add_argument("--device", default="cuda:0")
        p.add_argument("--out", type=Path, default=None)
    sub.choices["stand"].add_argument("--steps", type=int, default=50)
    sub.choices["stand"].add_argument("--physics", default=None,
                                      help="physics preset (default: the task's)")
    sub.choices["policy"].add_argument("checkpoints", type=Path, nargs="+")
    sub.choices["policy"].add_argument("--protocol", default="walking",
                                       choices=("walking", "robustness"))
    sub.choices["policy"].add_argument("--tile_m", type=float, default=EVAL_TILE_M,
                                       help=f"tile side, m (default {EVAL_TILE_M}; the "
                                            "training's: 8)")
    from athena_train.evaluate import add_fall_links_argument

    add_fall_links_argument(sub.choices["policy"])
    args = ap.parse_args(argv)
    if args.cmd == "stand":
        result = stand_check(args.task, args.per_tile, args.steps, args.num_rows, args.device,
                             physics=args.physics)
        print(json.dumps({k: v for k, v in result.items() if k != "families"}), flush=True)
        for f, v in result["families"].items():
            print(f, {k: v[k] for k in v if k != "by_level"}, flush=True)
    else:
        result = evaluate_families(args.checkpoints, args.task, args.per_tile, args.num_rows,
                                   args.device, protocol=args.protocol,
                                   fall_links=args.fall_links, tile_m=args.tile_m)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(_jsonable(result), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
