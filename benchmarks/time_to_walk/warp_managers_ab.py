"""Isaac Lab's warp managers (CUDA-graph captured) against its torch managers, one env step.

``python benchmarks/time_to_walk/warp_managers_ab.py [--num_envs 8192] [--steps 200]
[--device cuda:0] --out benchmarks/results/warp_managers_ab_<gpu>.json``

Isaac Lab 3.0 ships a second implementation of its managers (``isaaclab_experimental``:
observation, reward, termination, event and action managers whose terms are warp kernels,
each manager's step captured into a CUDA graph and replayed), built from the same task config
by swapping every term for its warp twin. athena's own terms (gait phase, clipped last
action, the contract's action law with latency, substep tracking, bad orientation, motor
strength) have no twin yet, and the warp observation manager has no history, so this script
measures both implementations on a **stand-in of the flat task made of stock terms only**:
the flat task with those terms replaced by Isaac Lab's nearest (no gait phase, plain last
action, no latency, end-of-step tracking, no bad-orientation termination or motor strength)
and no observation history. The physics, robot, rewards' weights, commands, events and
world count are the flat task's. The question it answers: how much of an env step the
managers cost with each implementation, before porting athena's terms.

Each mode runs in its own process (Isaac Lab keeps one simulation per process): build the
env, reset, ``--warmup`` steps (graph capture happens on the first), then ``--steps`` steps
timed with the device synchronized at both ends. Actions are normal(0, 0.5) draws, so robots
fall and reset as early in training. Modes: ``torch`` (``ManagerBasedRLEnv``),
``warp`` (``ManagerBasedRLEnvWarp``, every manager captured where it can be: the scene's
writes stay eager, as Isaac Lab caps them), ``warp_eager`` (same, nothing captured; the only
warp mode a CPU can run).
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


def stock_terms(cfg: object) -> None:
    """Replace athena's terms in the flat task's config by Isaac Lab's nearest stock terms."""
    from isaaclab.envs import mdp
    from isaaclab.envs.mdp.actions.actions_cfg import JointPositionActionCfg

    for group in (cfg.observations.policy, cfg.observations.critic):
        group.gait_phase = None
        group.last_action.func, group.last_action.params = mdp.last_action, {}
        for name, term in vars(group).items():
            if not name.startswith("_") and hasattr(term, "history_length"):
                term.history_length = 0
    a = cfg.actions.joint_pos
    cfg.actions.joint_pos = JointPositionActionCfg(
        asset_name=a.asset_name, joint_names=a.joint_names, preserve_order=True, scale=a.scale,
        use_default_offset=True)
    cfg.events.decimation_in_physics = None
    cfg.events.motor_strength = None
    cfg.rewards.track_lin_vel_xy_exp.func = mdp.track_lin_vel_xy_exp
    cfg.rewards.track_ang_vel_z_exp.func = mdp.track_ang_vel_z_exp
    cfg.terminations.bad_orientation = None


def child(mode: str, num_envs: int, device: str, warmup: int, steps: int) -> dict:
    """Build the stand-in task in ``mode`` and time ``steps`` env steps."""
    import torch

    from athena_train import train as trainer

    trainer.configure_warp()
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.tasks.physics import physics_cfg
    from isaaclab_tasks.utils import load_cfg_from_registry

    t0 = time.time()
    cfg = load_cfg_from_registry("Athena-Velocity-Flat-v0", "env_cfg_entry_point")
    cfg.sim.device, cfg.scene.num_envs, cfg.seed = device, num_envs, 42
    cfg.sim.physics = physics_cfg(cfg.physics_preset, device, num_envs)
    stock_terms(cfg)
    if mode == "torch":
        from isaaclab.envs import ManagerBasedRLEnv

        env = ManagerBasedRLEnv(cfg=cfg)
    else:
        from isaaclab_experimental.envs import ManagerBasedRLEnvWarp

        env = ManagerBasedRLEnvWarp(cfg=cfg)
    build_s = time.time() - t0
    env.reset()
    n_act = env.action_manager.total_action_dim
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    gen = torch.Generator(device=device).manual_seed(0)

    def run(k: int) -> tuple[float, float]:
        dones = torch.zeros((), device=device)
        sync()
        t = time.perf_counter()
        for _ in range(k):
            a = torch.randn(num_envs, n_act, device=device, generator=gen) * 0.5
            _, _, term, trunc, _ = env.step(a)
            dones += (term | trunc).sum()
        sync()
        return time.perf_counter() - t, float(dones) / k

    t1 = time.time()
    run(warmup)
    warmup_s = time.time() - t1
    timed_s, dones = run(steps)
    env.close()
    return {"mode": mode, "num_envs": num_envs, "device": device, "env_build_s": round(build_s, 2),
            "warmup_steps": warmup, "warmup_s": round(warmup_s, 2), "timed_steps": steps,
            "timed_s": round(timed_s, 4), "ms_per_env_step": round(1e3 * timed_s / steps, 3),
            "env_steps_per_s": round(num_envs * steps / timed_s), "mean_resets_per_step": dones}


def main() -> int:
    """Run each mode in a fresh process; write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--num_envs", type=int, default=8192)
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--modes", default=None, help="comma-separated; default: torch,warp on a GPU, "
                    "torch,warp_eager on the CPU")
    ap.add_argument("--child", choices=list(MODES), default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    if args.child:
        res = child(args.child, args.num_envs, args.device, args.warmup, args.steps)
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
        proc = subprocess.run([sys.executable, __file__, "--child", mode, "--num_envs",
                               str(args.num_envs), "--device", args.device, "--warmup",
                               str(args.warmup), "--steps", str(args.steps)],
                              capture_output=True, text=True, env=env, timeout=3600)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not line:  # kept, so that the other modes still count
            results.append({"mode": mode, "error": (proc.stdout[-1500:] + proc.stderr[-3000:])})
        else:
            results.append(json.loads(line[0][len("RESULT "):]))
        print(json.dumps(results[-1]), flush=True)
    out = {"what": "one env step of a stock-term stand-in of Athena-Velocity-Flat-v0, "
                   "Isaac Lab's torch managers vs its warp managers (see the script's docstring)",
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
