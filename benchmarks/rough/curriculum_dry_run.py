"""What each terrain-curriculum rule decides for a policy under the rough task's own conditions.

``python benchmarks/rough/curriculum_dry_run.py POLICY [--per_tile 3] [--device cpu]
[--out JSON]``: Athena-Velocity-Rough-v0 as it trains (its commands, 1.0 m/s pushes,
randomization), one column per family x 10 levels (``terrain_eval.tile_grid_cfg``),
``--per_tile`` robots a tile, the levels held where they are; the policy (a checkpoint or an
exported ONNX, deterministic) for one 20 s episode per robot. At each robot's first episode
end, from the env's own reset (a curriculum term that records instead of moving anyone):

- Isaac Lab's distance rule (``terrain_levels_vel``, the rough task's rule up to rough5): up
  after walking half a tile from the tile's origin, down after less than half the distance
  the command at the episode's end asks for in an episode;
- the task's tracking rule (``athena_train.tasks.mdp.terrain_levels_tracking``, with the
  task's parameters): up when upright and tracking, down when fallen or not tracking.

Per family and level: episodes, falls, the tracking score's mean, the episodes each rule
sends up, leaves and sends down, and how many the tracking rule would promote at other
thresholds (``PROMOTE_SWEEP``); every episode's record under ``episodes``. The flat family
shows a rule alone: its ground is the same at every level.
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import time
from pathlib import Path

import numpy as np

TASK = "Athena-Velocity-Rough-v0"
PROMOTE_SWEEP = (0.25, 0.3, 0.35)  # m/s: promotion thresholds also tabulated


def rule_params(term_cfg: object) -> dict:
    """The tracking rule's parameters as the task configures them (defaults filled in)."""
    from athena_train.tasks.mdp import terrain_levels_tracking

    sig = inspect.signature(terrain_levels_tracking)
    out = {k: v.default for k, v in sig.parameters.items()
           if v.default is not inspect.Parameter.empty}
    out.update(term_cfg.params or {})
    return out


def dry_run(policy: Path, per_tile: int = 3, device: str = "cpu", seed: int = 11) -> dict:
    """Roll the policy out once per robot; both rules' decisions per family and level."""
    import torch
    from athena_train.export import load_actor
    from athena_train.tasks.mdp import tracking_decisions
    from athena_train.terrain_eval import place_on_tiles, tile_grid_cfg
    from athena_train.terrain_state import curriculum_skipped
    from athena_train.train import make_env_and_cfg
    from isaaclab.managers import CurriculumTermCfg

    rows: list[dict] = []
    params: dict = {}
    std = [0.0]  # the tracking reward's std (the rule's scale), read from the task

    def record(env: object, env_ids: torch.Tensor) -> torch.Tensor:
        """A curriculum term that moves no one: both rules' decisions at episode ends."""
        ids = torch.as_tensor(env_ids, device=env.device, dtype=torch.long)
        fresh = ids[~done[ids]]
        if len(fresh):
            done[fresh] = True
            terrain = env.scene.terrain
            pos = env.scene["robot"].data.root_pos_w.torch[fresh, :2]
            dist = torch.linalg.norm(pos - env.scene.env_origins[fresh, :2], dim=1)
            cmd = env.command_manager.get_command("base_velocity")[fresh, :2]
            old_up = dist > terrain.cfg.terrain_generator.size[0] / 2
            old_down = (dist < torch.linalg.norm(cmd, dim=1) * env.max_episode_length_s * 0.5) \
                & ~old_up
            up, down, tracking = tracking_decisions(env, fresh, **params)
            fell = env.termination_manager.terminated[fresh]
            for k, i in enumerate(fresh.tolist()):
                rows.append({"env": i, "fell": bool(fell[k]), "tracking": float(tracking[k]),
                             "distance_m": float(dist[k]),
                             "old": int(old_up[k]) - int(old_down[k]),
                             "new": int(up[k]) - int(down[k])})
        return torch.mean(env.scene.terrain.terrain_levels.float())

    def edit(c: object) -> None:
        params.update(rule_params(c.curriculum.terrain_levels))
        std[0] = float(getattr(c.rewards, params["track_term"]).params["std"])
        tile_grid_cfg(c, per_tile, pushes=True)  # the task's pushes and randomization
        c.curriculum.terrain_levels = CurriculumTermCfg(func=record)

    t0 = time.time()
    env, _ = make_env_and_cfg(TASK, None, device, seed, edit_env_cfg=edit)
    build_s = time.time() - t0
    uenv = env.unwrapped
    done = torch.zeros(uenv.num_envs, dtype=torch.bool, device=uenv.device)
    levels, _, families = place_on_tiles(uenv)
    actor = load_actor(policy).to(uenv.device)
    with curriculum_skipped(env):  # onto the tiles, not an episode end
        obs = env.reset()[0]["policy"]
    t1 = time.time()
    for _ in range(uenv.max_episode_length + 1):
        with torch.no_grad():
            obs = env.step(actor(obs))[0]["policy"]
        if bool(done.all()):
            break
    wall = time.time() - t1
    env.close()
    fam = np.asarray(families)
    by_env = {r["env"]: r for r in rows}

    def summary(mask: np.ndarray) -> dict:
        rs = [by_env[i] for i in np.flatnonzero(mask) if i in by_env]
        if not rs:
            return {"episodes": 0}
        out = {"episodes": len(rs), "falls": sum(r["fell"] for r in rs),
               "tracking_mean": round(float(np.mean([r["tracking"] for r in rs])), 3),
               "distance_m_mean": round(float(np.mean([r["distance_m"] for r in rs])), 2)}
        for rule in ("old", "new"):
            d = [r[rule] for r in rs]
            out[f"{rule}_up_stay_down"] = [d.count(1), d.count(0), d.count(-1)]
        # the tracking rule at other promotion thresholds (the same episodes)
        out["new_up_by_promote_error"] = {
            str(e): sum(not r["fell"] and r["tracking"] >= math.exp(-(e / std[0]) ** 2)
                        for r in rs) for e in PROMOTE_SWEEP}
        return out

    result = {
        "policy": str(policy), "task": TASK, "device": device, "seed": seed,
        "per_tile": per_tile, "num_envs": int(len(fam)), "env_build_s": round(build_s, 1),
        "rollout_wall_s": round(wall, 1), "episodes_recorded": len(rows),
        "old_rule": "terrain_levels_vel: up if the distance from the tile's origin > half the "
                    "tile (4 m); down if < |v_xy,cmd at the end| x 20 s x 0.5",
        "new_rule": {"term": "terrain_levels_tracking", **params, "std": std[0]},
        "all": summary(np.ones(len(fam), dtype=bool)),
        "episodes": [{**r, "family": str(fam[r["env"]]), "level": int(levels[r["env"]])}
                     for r in rows],
        "families": {f: {**summary(fam == f),
                         "by_level": {int(lv): summary((fam == f) & (levels == lv))
                                      for lv in np.unique(levels[fam == f])}}
                     for f in dict.fromkeys(families)},
    }
    return result


def main() -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policy", type=Path)
    ap.add_argument("--per_tile", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result = dry_run(args.policy, args.per_tile, args.device)
    for f, v in result["families"].items():
        print(f"{f:22s} {v['episodes']:3d} eps, {v['falls']:2d} falls, tracking "
              f"{v['tracking_mean']:.3f}, distance {v['distance_m_mean']:.1f} m | up/stay/down "
              f"old {v['old_up_stay_down']} new {v['new_up_stay_down']}", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
