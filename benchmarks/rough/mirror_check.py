"""How left-right symmetric a policy is, on the states it visits in MuJoCo (no ROS).

``python benchmarks/rough/mirror_check.py POLICY.onnx ... [--out JSON]``: each policy walks
the first ``--commands`` of ``mujoco_direct.COMMANDS`` for ``--seconds`` each on flat ground;
on every observation it got, its action on the mirrored observation is compared with the
mirror of its action (``athena_train.symmetry``: the same maps as training's mirrored
mini-batches, from the ONNX's own contract). ``mirror_mse`` = mean over samples and joints of
(a(mirror(o)) - mirror(a(o)))², in the contract's action units; 0 for a symmetric policy.
rsl-rl's "symmetry loss" in a training log is the same quantity on the training's states.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from athena_description.model_metadata import read_onnx_metadata
from athena_train.symmetry import action_mirror, policy_mirror

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "time_to_walk"))
from mujoco_direct import COMMANDS, episode  # noqa: E402 - the shared MuJoCo episode


def mirror_error(policy: Path, commands: int, seconds: float) -> dict:
    """The policy's mirror error on its own MuJoCo states (see the module docstring)."""
    seen: list[np.ndarray] = []
    for cmd in COMMANDS[:commands]:
        episode(policy, cmd, seconds, on_obs=lambda o: seen.append(o.copy()))
    obs = np.asarray(seen, dtype=np.float32)
    p_obs, p_act = policy_mirror(read_onnx_metadata(policy)), action_mirror()
    sess = ort.InferenceSession(str(policy), providers=["CPUExecutionProvider"])
    act = sess.run(["actions"], {"obs": obs})[0]
    mirrored_obs = p_obs(torch.from_numpy(obs)).numpy()
    act_of_mirror = sess.run(["actions"], {"obs": mirrored_obs})[0]
    mirror_of_act = p_act(torch.from_numpy(act)).numpy()
    return {"policy": str(policy), "samples": len(obs),
            "mirror_mse": float(np.mean((act_of_mirror - mirror_of_act) ** 2)),
            "action_variance": float(np.mean(np.var(act, axis=0)))}


def main() -> None:
    """Print one JSON line per policy; with --out, all of them in one file."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("policies", nargs="+", type=Path)
    ap.add_argument("--commands", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    t0, results = time.time(), []
    for p in args.policies:
        results.append(mirror_error(p, args.commands, args.seconds))
        print(json.dumps(results[-1]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({
            "what": __doc__.splitlines()[0], "commands": COMMANDS[:args.commands],
            "seconds": args.seconds, "results": results,
            "wall_s": round(time.time() - t0, 1)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
