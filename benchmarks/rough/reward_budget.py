"""What each reward term pays a policy per second under the rough task as it trains.

``python benchmarks/rough/reward_budget.py POLICY [--num_envs 64] [--seconds 10]
[--device cpu] [--out JSON]``: Athena-Velocity-Rough-v0 with its own terrain start (levels
0-2), commands, pushes and randomization; the policy (a checkpoint or an exported ONNX,
deterministic) for ``--seconds``; per term, the mean over env-steps of weight x value (the
reward manager's step reward: a rate per second, what the term adds to an episode's return
per second of it). For setting a new term's weight against the ones a policy already
earns: e.g. ``swing_apex`` and ``stand_still`` against the tracking terms.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

TASK = "Athena-Velocity-Rough-v0"


def budget(policy: Path, num_envs: int = 64, seconds: float = 10.0, device: str = "cpu",
           seed: int = 5) -> dict:
    """Roll the policy out; each reward term's mean rate (per second) and its share."""
    import torch
    from athena_train.export import load_actor
    from athena_train.train import make_env_and_cfg

    t0 = time.time()
    env, _ = make_env_and_cfg(TASK, num_envs, device, seed)
    build_s = time.time() - t0
    u = env.unwrapped
    rm = u.reward_manager
    actor = load_actor(policy).to(u.device)
    obs = env.reset()[0]["policy"]
    total = torch.zeros(len(rm.active_terms), device=u.device)
    steps = int(seconds / u.step_dt)
    t1 = time.time()
    for _ in range(steps):
        with torch.no_grad():
            obs = env.step(actor(obs))[0]["policy"]
        total += rm._step_reward.sum(dim=0)
    wall = time.time() - t1
    env.close()
    rate = (total / (steps * num_envs)).tolist()
    scale = sum(abs(r) for r in rate) or 1.0
    return {
        "policy": str(policy), "task": TASK, "device": device, "seed": seed,
        "num_envs": num_envs, "seconds": seconds, "env_build_s": round(build_s, 1),
        "rollout_wall_s": round(wall, 1),
        "what": "per term: mean over env-steps of weight x value, i.e. what the term adds to "
                "an episode's return per second; share = |rate| / sum of |rates|",
        "terms": {n: {"weight": rm.get_term_cfg(n).weight, "rate_per_s": round(r, 5),
                      "share": round(abs(r) / scale, 4)}
                  for n, r in zip(rm.active_terms, rate)},
    }


def main() -> int:
    """Command line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("policy", type=Path)
    ap.add_argument("--num_envs", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    result = budget(args.policy, args.num_envs, args.seconds, args.device)
    for name, v in sorted(result["terms"].items(), key=lambda kv: -abs(kv[1]["rate_per_s"])):
        print(f"{name:24s} weight {v['weight']:>9g}  {v['rate_per_s']:+.4f}/s  "
              f"{100 * v['share']:5.1f} %", flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
