"""How many solver iterations, constraint rows and contacts athena's worlds take in training.

``python benchmarks/time_to_walk/solver_iterations.py [--task T] [--num_envs 64] [--device cpu]
[--steps 300] [--checkpoint model.pt] [--max_level 9] [--solver KEY=VALUE ...] --out JSON``

Why: on a GPU, MuJoCo-Warp runs the Newton solver's iterations for all worlds in one
CUDA-graph ``while`` loop that ends when the last world has converged (or at
``opt.iterations``), so the cost of a physics step follows the *slowest* of 8192 worlds, not
the typical one. The physics-only ceiling (``physics_ceiling.py``: robots standing still, all
alike) converges in a few iterations; training's worlds (robots falling, stepping, pushed)
may not. This reads ``solver_niter`` of every world after each env step (the last of its
``decimation`` substeps) in the task as training builds it (``train.make_env_and_cfg``, torch
managers) and reports the per-world distribution, the per-step maximum over these worlds and,
resampling worlds from the pooled samples as if independent, the expected maximum over 8192
and 16384 worlds: what the GPU's loop would run. Actions: normal(0, 0.5) draws (robots fall
and reset, as early in training) or, with ``--checkpoint``, that policy's deterministic
actions (late in training). ``--solver KEY=VALUE`` (repeatable) overrides a field of the
task's MuJoCo-Warp solver config: ``iterations=4`` to see how often a smaller cap cuts a world
short, ``tolerance=1e-4`` (MJWarpSolverCfg's is 1e-6) how many iterations a looser one saves,
``njmax=200`` whether a smaller capacity overflows.

It also reads every world's constraint rows (``nefc``) and contacts, against the capacities
the task allocates (``njmax`` rows and ``nconmax`` contacts per world): MuJoCo-Warp launches
its constraint kernels over all ``njmax`` rows of every world and allocates the dense
Jacobian for them, so a capacity far above what any world uses costs GPU time for nothing,
and one below it drops constraints. On the rough task (``--task Athena-Velocity-Rough-v0``)
``--max_level 9`` starts the robots on every curriculum level instead of the task's first
three, so stairs and boxes at their highest are in the sample.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def expected_max(samples: np.ndarray, worlds: int, draws: int = 2000, seed: int = 0) -> float:
    """Mean over ``draws`` of the maximum of ``worlds`` values drawn from ``samples``."""
    rng = np.random.default_rng(seed)
    # the maximum of n draws has the CDF F^n: sample it through the empirical quantile
    u = rng.random(draws) ** (1.0 / worlds)
    return float(np.quantile(samples, u, method="inverted_cdf").mean())


def summarize(niter: np.ndarray, cap: int) -> dict:
    """``niter``: (steps, worlds) solver iterations; the distribution and the loop's cost."""
    flat = niter.ravel()
    q = {f"p{p}": float(np.percentile(flat, p)) for p in (50, 90, 99, 99.9)}
    return {"per_world_mean": round(float(flat.mean()), 2), **q,
            "per_world_max": int(flat.max()),
            "fraction_at_cap": round(float((flat >= cap).mean()), 5),
            "per_step_max_over_worlds_mean": round(float(niter.max(axis=1).mean()), 2),
            "expected_max_over_8192_worlds": round(expected_max(flat, 8192), 2),
            "expected_max_over_16384_worlds": round(expected_max(flat, 16384), 2)}


def capacity_use(per_world: np.ndarray) -> dict:
    """``per_world``: (steps, worlds) counts; how much of a per-world capacity the worlds use."""
    flat = per_world.ravel()
    return {"mean": round(float(flat.mean()), 1),
            **{f"p{p}": float(np.percentile(flat, p)) for p in (99, 99.9)},
            "max": int(flat.max()),
            "expected_max_over_8192_worlds": round(expected_max(flat, 8192), 1)}


def main() -> int:
    """Step the task, read every world's solver iterations, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--num_envs", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=50, help="steps not counted (the first reset)")
    ap.add_argument("--checkpoint", type=Path, default=None)
    ap.add_argument("--solver", action="append", default=[], metavar="KEY=VALUE",
                    help="override a solver config field (iterations, tolerance, njmax, ...)")
    ap.add_argument("--max_level", type=int, default=None,
                    help="terrain tasks: the highest curriculum level robots start on")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    import torch
    from athena_train.export import load_actor
    from athena_train.tasks.physics import override_solver
    from athena_train.terrain_eval import worlds_overflowed
    from isaaclab_newton.physics.newton_manager import NewtonManager

    from athena_train import train as trainer

    def edit(cfg: object) -> None:
        override_solver(cfg.sim.physics, args.solver)
        if args.max_level is not None and cfg.scene.terrain.terrain_generator is not None:
            cfg.scene.terrain.max_init_terrain_level = args.max_level

    env, _ = trainer.make_env_and_cfg(args.task, args.num_envs, args.device, 42,
                                      edit_env_cfg=edit)
    mjd = NewtonManager._solver.mjw_data
    opt = NewtonManager._solver.mjw_model.opt
    njmax, nconmax = int(mjd.njmax), int(mjd.naconmax) // env.num_envs
    pipeline = NewtonManager._collision_pipeline  # None where MuJoCo finds the contacts
    tri = getattr(getattr(pipeline, "narrow_phase", None), "triangle_pairs_count", None)
    max_pairs = NewtonManager._collision_cfg.max_triangle_pairs if tri is not None else None
    cap = int(opt.iterations)
    actor = load_actor(args.checkpoint).to(args.device) if args.checkpoint else None
    gen = torch.Generator(device=args.device).manual_seed(0)
    obs = env.get_observations()["policy"]
    rows, efc, con, pairs, resets, t_total = [], [], [], [], 0.0, 0.0
    for k in range(args.warmup + args.steps):
        with torch.no_grad():
            act = (actor(obs) if actor is not None else
                   torch.randn(env.num_envs, env.num_actions, device=args.device,
                               generator=gen) * 0.5)
        t = time.perf_counter()
        obs_td, _, dones, _ = env.step(act)
        niter = mjd.solver_niter.numpy().copy()  # (synchronizes)
        obs = obs_td["policy"]
        if k >= args.warmup:
            t_total += time.perf_counter() - t
            rows.append(niter)
            efc.append(mjd.nefc.numpy().copy())
            nacon = int(mjd.nacon.numpy()[0])
            con.append(np.bincount(mjd.contact.worldid.numpy()[:nacon], minlength=env.num_envs))
            if tri is not None:
                pairs.append(int(tri.numpy()[0]))
            resets += float(dones.float().mean())
    overflowed = worlds_overflowed(mjd)  # every world that lost constraints since the build
    env.close()
    niter = np.stack(rows)
    out = {"what": "MuJoCo-Warp solver iterations per world after each env step (see the "
                   "script's docstring)",
           "task": args.task, "num_envs": args.num_envs, "device": args.device,
           "steps": args.steps, "actions": str(args.checkpoint) if actor is not None
           else "normal(0, 0.5)", "iterations_cap": cap,
           "ls_iterations_cap": int(opt.ls_iterations),
           "tolerance": float(opt.tolerance.numpy().ravel()[0]),  # (a per-world array)
           "mean_reset_fraction_per_step": round(resets / args.steps, 4),
           "ms_per_env_step": round(1e3 * t_total / args.steps, 2),
           **summarize(niter, cap),
           "histogram": {int(v): int(c) for v, c in zip(*np.unique(niter, return_counts=True))},
           "constraint_rows": {"njmax": njmax, **capacity_use(np.stack(efc))},
           "contacts": {"nconmax": nconmax, **capacity_use(np.stack(con))},
           "worlds_that_overflowed_a_capacity": overflowed}
    if pairs:  # Newton's pipeline: one pool of triangle pairs for all worlds
        per_world = np.array(pairs) / env.num_envs
        out["triangle_pairs"] = {
            "max_triangle_pairs": int(max_pairs),
            "per_world_mean": round(float(per_world.mean()), 1),
            "per_world_max_step": round(float(per_world.max()), 1),
            "at_8192_worlds_max_step": int(per_world.max() * 8192)}
    print(json.dumps(out))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
