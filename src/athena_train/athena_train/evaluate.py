"""Evaluate a checkpoint in Isaac Lab against the walking gate; print/write JSON.

``python -m athena_train.evaluate CHECKPOINT [CHECKPOINT ...] [--episodes 50] [--out gate.json]``
(``play`` is the same command).

The gate protocol (issue 7): ``episodes`` × 20 s; commands vx ∈ [0, 1.0] m/s,
vy ∈ [-0.3, 0.3] m/s, yaw rate ∈ [-0.8, 0.8] rad/s, one per episode; friction 0.5–1.5,
masses ±10 %, a 0.5 m/s push of the base every ~5 s. One environment per episode, all in
parallel, each run until its first termination. The metric names and the pass rule come from
``athena_description.walking_gate`` (the same module the MuJoCo evaluation uses).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

EPISODE_S = 20.0


def gate_env_cfg(cfg: object, episodes: int) -> None:
    """Turn a training env config into the gate's evaluation conditions."""
    cfg.scene.num_envs = episodes
    cfg.episode_length_s = EPISODE_S
    dr = cfg.randomization
    dr.masses, dr.mass_range = True, (0.9, 1.1)
    dr.friction, dr.friction_range = True, (0.5, 1.5)
    dr.base_com = False
    dr.motor_strength = False
    dr.pushes, dr.push_velocity, dr.push_interval_s = True, 0.5, (4.5, 5.5)
    dr.obs_noise = False
    dr.latency = False
    cfg.apply_randomization()
    cmd = cfg.commands.base_velocity
    r = cmd.ranges
    r.lin_vel_x, r.lin_vel_y, r.ang_vel_z = (0.0, 1.0), (-0.3, 0.3), (-0.8, 0.8)
    cmd.rel_standing_envs = 0.0
    cmd.resampling_time_range = (EPISODE_S + 1.0, EPISODE_S + 1.0)  # one command per episode


def rollout(env: object, checkpoint: Path) -> dict:
    """Run the deterministic policy from a fresh reset of every env; per-episode arrays."""
    import torch

    from athena_train.export import load_actor

    uenv = env.unwrapped
    device = uenv.device
    actor = load_actor(checkpoint).to(device)
    robot = uenv.scene["robot"]
    n = uenv.num_envs
    steps = int(round(EPISODE_S / uenv.step_dt))
    obs_td, _ = env.reset()
    obs = obs_td["policy"]
    alive = torch.ones(n, dtype=torch.bool, device=device)
    fell = torch.zeros(n, dtype=torch.bool, device=device)
    lin_err = torch.zeros(n, device=device)
    yaw_err = torch.zeros(n, device=device)
    count = torch.zeros(n, device=device)
    for _ in range(steps):
        with torch.no_grad():
            act = actor(obs)
        obs_td, _, dones, extras = env.step(act)
        obs = obs_td["policy"]
        cmd = uenv.command_manager.get_command("base_velocity")
        v = robot.data.root_lin_vel_b.torch[:, :2]
        w = robot.data.root_ang_vel_b.torch[:, 2]
        live = alive.float()
        lin_err += live * (v - cmd[:, :2]).norm(dim=-1)
        yaw_err += live * (w - cmd[:, 2]).abs()
        count += live
        timeouts = extras.get("time_outs", torch.zeros_like(dones)).bool()
        ended = dones.bool() & alive
        fell |= ended & ~timeouts
        alive &= ~dones.bool()
        if not alive.any():
            break
    c = count.clamp(min=1)
    return {"fell": fell.cpu().numpy(), "lin_vel_error": (lin_err / c).cpu().numpy(),
            "yaw_rate_error": (yaw_err / c).cpu().numpy(),
            "duration_s": (count * uenv.step_dt).cpu().numpy()}


def summarize(per_episode: dict) -> dict:
    """Gate metrics and verdict, through athena_description.walking_gate when available."""
    try:
        from athena_description import walking_gate
    except ImportError:
        walking_gate = None
    if walking_gate is not None and hasattr(walking_gate, "summarize_episodes"):
        return walking_gate.summarize_episodes(per_episode)
    # Provisional until walking_gate lands: issue 7's rule, stated once here.
    fall_rate = float(np.mean(per_episode["fell"]))
    lin = float(np.mean(per_episode["lin_vel_error"]))
    yaw = float(np.mean(per_episode["yaw_rate_error"]))
    return {"episodes": len(per_episode["fell"]), "fall_rate": fall_rate,
            "no_fall_fraction": 1.0 - fall_rate, "mean_lin_vel_error": lin,
            "mean_yaw_rate_error": yaw,
            "passed": bool(1.0 - fall_rate >= 0.95 and lin <= 0.15 and yaw <= 0.2),
            "definitions": "provisional (athena_description.walking_gate not available)"}


def evaluate(checkpoints: list[Path], task: str = "Athena-Velocity-Flat-v0",
             episodes: int = 50, device: str = "cuda:0", seed: int = 7) -> list[dict]:
    """Roll out and summarize each checkpoint in one env; JSON-ready result dicts."""
    from athena_train.train import make_env_and_cfg

    env, _ = make_env_and_cfg(task, episodes, device, seed,
                              edit_env_cfg=lambda c: gate_env_cfg(c, episodes))
    results = []
    for ckpt in checkpoints:
        t0 = time.time()
        result = summarize(rollout(env, ckpt))
        result.update(checkpoint=str(ckpt), task=task, simulator="isaaclab-newton-mjwarp",
                      wall_s=round(time.time() - t0, 1))
        print(json.dumps(result), flush=True)
        results.append(result)
    env.close()
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line (see ``--help``); exit 0 when the gate passes, 3 when it does not."""
    ap = argparse.ArgumentParser(description="Evaluate a checkpoint against the walking gate.")
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    results = evaluate(args.checkpoints, args.task, args.episodes, args.device, args.seed)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if results[-1].get("passed") else 3


if __name__ == "__main__":
    sys.exit(main())
