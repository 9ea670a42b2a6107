"""Does a tiny env compile the warp kernels a big one needs? Cold start-up, measured.

``python benchmarks/time_to_walk/kernel_cache_share.py [--task T] [--device cpu] [--small 2]
[--big 64] --out benchmarks/results/kernel_cache_share_cpu.json``

Three fresh processes, each building the task's env and taking one step (zero actions):
``small`` envs on an empty warp kernel cache, then ``big`` envs on the cache it left, then
``big`` envs on another empty cache. Per process: env build and first step (s) and the
modules in the cache after it. If the second process compiles (almost) nothing, a kernel cache
made by a small run serves a large one: the cold compile can happen in a small process, e.g.
while the training builds its scene, or once per machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, time, torch
t0 = time.time()
from athena_train import train as trainer
from athena_description.policy_contract import ACTION_DIM
n = int(sys.argv[1])
env, _ = trainer.make_env_and_cfg(sys.argv[2], n, sys.argv[3], 1)
t1 = time.time()
env.step(torch.zeros(n, ACTION_DIM, device=env.unwrapped.device))
t2 = time.time()
print(f"TIMES {t1 - t0:.2f} {t2 - t1:.2f}", flush=True)
env.close()
"""


def build(num_envs: int, task: str, device: str, cache: Path) -> dict:
    """One process: build ``task`` with ``num_envs`` on kernel cache ``cache``, step once."""
    env = dict(os.environ, WARP_CACHE_PATH=str(cache), PYTHONUNBUFFERED="1")
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-c", CHILD, str(num_envs), task, device],
                          capture_output=True, text=True, timeout=1800, env=env)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("TIMES")]
    if proc.returncode != 0 or not line:
        raise RuntimeError(proc.stdout[-2000:] + proc.stderr[-2000:])
    build_s, step_s = map(float, line[0].split()[1:])
    modules = sum(len(list(d.iterdir())) for d in cache.iterdir() if d.is_dir())
    return {"num_envs": num_envs, "env_build_s": build_s, "first_step_s": step_s,
            "process_wall_s": round(time.time() - t0, 1), "cache_modules_after": modules}


def main() -> int:
    """Run the three processes, write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--small", type=int, default=2)
    ap.add_argument("--big", type=int, default=64)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        small = build(args.small, args.task, args.device, Path(a))
        big_after_small = build(args.big, args.task, args.device, Path(a))
        big_cold = build(args.big, args.task, args.device, Path(b))
    out = {"task": args.task, "device": args.device,
           "small_cold": small, "big_on_small_cache": big_after_small, "big_cold": big_cold,
           "modules_compiled_by_big_after_small": big_after_small["cache_modules_after"]
           - small["cache_modules_after"],
           "note": "env_build_s includes imports; first_step_s includes the step itself"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
