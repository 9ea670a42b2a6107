"""Isaac Lab's warp managers (CUDA-graph captured) against its torch managers, one env step.

``python benchmarks/time_to_walk/warp_managers_ab.py [--task T] [--num_envs 8192]
[--steps 200] [--device cuda:0] --out benchmarks/results/warp_managers_ab_<gpu>.json``

The task as training builds it (``train.make_env_and_cfg``, wrapped for rsl-rl) on each
implementation of Isaac Lab's managers (``train --managers``): ``torch``
(``ManagerBasedRLEnv``), ``warp`` (``ManagerBasedRLEnvWarp`` with athena's twins,
:mod:`athena_train.tasks.warp_mdp`: each manager's step captured into a CUDA graph where it
can be, the scene's writes eager as Isaac Lab caps them; the history stacked outside the env)
and ``warp_eager`` (the same kernels, nothing captured: the only warp mode a CPU runs). Each
mode runs in its own process (Isaac Lab keeps one simulation per process): build the env,
``--warmup`` steps (graph capture happens in the first), then ``--steps`` steps timed with the
device synchronized at both ends. Actions are normal(0, 0.5) draws, so robots fall and reset
as early in training. This is the env step alone: no policy, no PPO update.
``--solver KEY=N`` (repeatable) overrides a field of the task's MuJoCo-Warp solver config in
every mode, to time what it costs: ``iterations=5`` caps the solver's iterations (the task's
cap is 100; ``solver_iterations.py`` says how many its worlds take), ``njmax=48`` /
``nconmax=16`` shrink the per-world constraint-row and contact capacities (the same script
says how many its worlds use); ``--decimation_in_physics`` runs each policy step's substeps
in one physics call in every mode (``train --decimation_in_physics``). ``--self_collision``
spawns the robot without its no-self-collision setting (``tasks/robot_cfg.py``; Newton's
default then collides every pair of non-adjacent links, as training did until 2026-12-07), to
time what that costs.
``--stage_timers N``: after the timed steps, N more with Isaac Lab's own stage timers on
(``DEBUG_TIMER_STEP=1``, read when the warp env is imported: each stage of the warp env's step,
its action processing, apply and scene write per substep, the physics step, the scene update,
terminations, rewards, reset selection and reset, interval events, observations, timed with the
device synchronized at the end of each; with ``DEBUG_TIMER_RESET=1`` also the reset's own
stages: curriculum, scene, reset events, each manager's reset), their mean per call under
``stage_timers_us`` (a reset stage's ``calls`` count the steps that reset any env); the
timed steps before run with the timers off. Warp modes only (the torch env has no such timers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODES = {"torch": None, "warp": '{"default": 2}', "warp_eager": '{"default": 1}'}


def child(mode: str, task: str, num_envs: int, device: str, warmup: int, steps: int,
          solver: list[str] | None = None, in_physics: bool = False,
          stage_steps: int = 0, self_collision: bool = False) -> dict:
    """Build ``task`` on ``mode``'s managers and time ``steps`` env steps (+ ``stage_steps``)."""
    timers = stage_steps > 0 and mode != "torch"  # the torch env has no stage timers
    if timers:  # read by isaaclab_experimental when it is imported
        os.environ["DEBUG_TIMER_STEP"] = os.environ["DEBUG_TIMER_RESET"] = "1"
    import torch
    from athena_train.tasks.physics import override_solver

    from athena_train import train as trainer

    overrides: dict = {}

    def cap(cfg: object) -> None:
        cfg.decimation_in_physics = in_physics
        if self_collision:
            cfg.scene.robot.spawn.articulation_props = None
        overrides.update(override_solver(cfg.sim.physics, solver or []))

    t0 = time.time()
    env, _ = trainer.make_env_and_cfg(task, num_envs, device, 42, edit_env_cfg=cap,
                                      managers="torch" if mode == "torch" else "warp")
    build_s = time.time() - t0
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = torch.Generator(device=device).manual_seed(0)

    def run(k: int) -> tuple[float, float]:
        dones = torch.zeros((), device=device)
        sync()
        t = time.perf_counter()
        for _ in range(k):
            a = torch.randn(num_envs, env.num_actions, device=device, generator=gen) * 0.5
            _, _, done, _ = env.step(a)
            dones += done.sum()
        sync()
        return time.perf_counter() - t, float(dones) / k

    from isaaclab.utils.timer import Timer

    Timer.enable, Timer.enable_display_output = False, False  # off for warm-up and timing
    t1 = time.time()
    run(warmup)
    warmup_s = time.time() - t1
    timed_s, resets = run(steps)
    stages = {}
    if timers:
        Timer.timing_info.clear()
        Timer.enable = True
        run(stage_steps)
        Timer.enable = False
        stages = {k: {"mean_us": round(v["mean"] * 1e6, 1), "calls": v["n"]}
                  for k, v in Timer.timing_info.items()}
    env.close()
    return {"mode": mode, "task": task, "num_envs": num_envs, "device": device,
            "solver_overrides": overrides, "decimation_in_physics": in_physics,
            "self_collision": self_collision,
            "env_build_s": round(build_s, 2), "warmup_steps": warmup,
            "warmup_s": round(warmup_s, 2), "timed_steps": steps, "timed_s": round(timed_s, 4),
            "ms_per_env_step": round(1e3 * timed_s / steps, 3),
            "env_steps_per_s": round(num_envs * steps / timed_s),
            "mean_resets_per_step": resets,
            **({"stage_timers_steps": stage_steps, "stage_timers_us": stages,
                "stage_timers_note": "Isaac Lab's Timer, device synchronized at each stage's "
                                     "end: a stage's mean holds its GPU work and the "
                                     "synchronization; the sum exceeds an untimed step"}
               if timers else {})}


def main() -> int:
    """Run each mode in a fresh process; write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--num_envs", type=int, default=8192)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--modes", default=None, help="comma-separated; default: torch,warp on a GPU, "
                    "torch,warp_eager on the CPU")
    ap.add_argument("--solver", action="append", default=[], metavar="KEY=N",
                    help="override a solver config field (iterations, njmax, nconmax, ...)")
    ap.add_argument("--decimation_in_physics", action="store_true")
    ap.add_argument("--self_collision", action="store_true",
                    help="the robot's links collide with each other (Newton's default)")
    ap.add_argument("--stage_timers", type=int, default=0, metavar="N",
                    help="N more steps with Isaac Lab's stage timers on (warp modes)")
    ap.add_argument("--child", choices=list(MODES), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.child:
        res = child(args.child, args.task, args.num_envs, args.device, args.warmup, args.steps,
                    args.solver, args.decimation_in_physics, args.stage_timers,
                    args.self_collision)
        print("RESULT " + json.dumps(res), flush=True)
        return 0
    cpu = args.device == "cpu"
    modes = args.modes.split(",") if args.modes else (["torch", "warp_eager"] if cpu
                                                      else ["torch", "warp"])
    results = []
    for mode in modes:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("MANAGER_CALL_CONFIG", None)
        if MODES[mode]:
            env["MANAGER_CALL_CONFIG"] = MODES[mode]
        proc = subprocess.run([sys.executable, __file__, "--child", mode, "--task", args.task,
                               "--num_envs",
                               str(args.num_envs), "--device", args.device, "--warmup",
                               str(args.warmup), "--steps", str(args.steps),
                               *(a for kv in args.solver for a in ("--solver", kv)),
                               *(["--decimation_in_physics"] if args.decimation_in_physics
                                 else []),
                               *(["--self_collision"] if args.self_collision else []),
                               "--stage_timers", str(args.stage_timers)],
                              capture_output=True, text=True, env=env, timeout=3600)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not line:  # kept, so that the other modes still count
            results.append({"mode": mode, "error": (proc.stdout[-1500:] + proc.stderr[-3000:])})
        else:
            results.append(json.loads(line[0][len("RESULT "):]))
        print(json.dumps(results[-1]), flush=True)
    out = {"what": f"one env step of {args.task} (training's env, rsl-rl wrapped), Isaac Lab's "
                   "torch managers vs its warp managers (see the script's docstring)",
           "results": results}
    by = {r["mode"]: r for r in results if "error" not in r}
    if "torch" in by:
        for m in ("warp", "warp_eager"):
            if m in by:
                out[f"speedup_{m}_over_torch"] = round(by["torch"]["ms_per_env_step"]
                                                       / by[m]["ms_per_env_step"], 3)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps({k: v for k, v in out.items() if k != "results"}))
    return 0 if len(by) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
