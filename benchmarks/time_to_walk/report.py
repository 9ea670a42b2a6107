"""Time-to-walk figures and the training report, from what the GPU segments brought back.

``python benchmarks/time_to_walk/report.py --device_dir /work/.device --run_dir RUN --policy_dir
src/athena_train/policies/<run>``

Inputs: the segments' ``train_<run>_<launch epoch>.log`` (progress lines), ``gpu_*.csv``
(nvidia-smi), the physics ceiling (physics_ceiling.py's JSON, ``--ceiling``), ``gate_*.json``
(evaluate) and the run's TensorBoard events. Outputs: ``benchmarks/results/time_to_walk.json``
and the policy folder's ``curves.png``. Nothing is typed in by hand: every figure is read
from those files.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROGRESS = re.compile(r"^\[train\] it (\d+) .* elapsed\s+(\d+)s")
STARTUP = re.compile(r"start-up ([\d.]+)s")
RESUMED = re.compile(r"resumed from .*model_(\d+)\.pt")
ENVS = re.compile(r"\benvs=(\d+)")
GPU = re.compile(r"^\[gpu\] (.+)$")


def segments(device_dir: Path, run: str) -> list[dict]:
    """One dict per training segment: launch time, start-up, iterations and their times."""
    out = []
    for log in sorted(glob.glob(str(device_dir / "*" / f"train_{run}_*.log")),
                      key=lambda p: int(Path(p).stem.rsplit("_", 1)[1])):
        text = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
        its = [(int(m.group(1)), int(m.group(2))) for m in map(PROGRESS.match, text) if m]
        startup = next((float(m.group(1)) for m in map(STARTUP.search, text) if m), None)
        resumed = next((int(m.group(1)) for m in map(RESUMED.search, text) if m), None)
        envs = next((int(m.group(1)) for m in map(ENVS.search, text) if m), None)
        gpu = next((m.group(1).strip() for m in map(GPU.match, text) if m), None)
        out.append({"log": str(log), "launch_epoch": int(Path(log).stem.rsplit("_", 1)[1]),
                    "startup_s": startup, "resumed_from_checkpoint": resumed,
                    "num_envs": envs, "gpu": gpu,
                    "first_it": its[0][0] if its else None, "last_it": its[-1][0] if its else None,
                    "progress": its})
    return out


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """TensorBoard scalars of all segments, by tag, sorted by step (later segments win)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    merged: dict[str, dict[int, float]] = {}
    for ev in sorted(run_dir.glob("events.out.tfevents*")):
        acc = EventAccumulator(str(ev), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            merged.setdefault(tag, {}).update({e.step: e.value for e in acc.Scalars(tag)})
    return {k: sorted(v.items()) for k, v in merged.items()}


def parser(run: str) -> argparse.ArgumentParser:
    """The reports' common arguments: where the device runs' files are, which run."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--device_dir", type=Path, required=True)
    ap.add_argument("--run", default=run)
    return ap


def save(fig, out: Path) -> None:  # noqa: ANN001 - a matplotlib figure
    """Write the figure (the reports' PNG settings)."""
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def curves(sc: dict, panels: list[tuple[str, str]]):  # noqa: ANN201 - matplotlib objects
    """A 2 × 4 figure whose first panels plot the TensorBoard tags ``panels`` (tag, title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(18, 7))
    for ax, (tag, title) in zip(axes.flat, panels):
        if tag in sc:
            x, y = zip(*sc[tag])
            ax.plot(x, y, lw=1)
        ax.set_title(title)
        ax.set_xlabel("iteration")
    return fig, axes


def plot(sc: dict, gate: list[dict], out: Path) -> None:
    """Reward, episode length, velocity errors, throughput and the gate checkpoints."""
    fig, axes = curves(sc, [("Train/mean_reward", "mean reward"),
                            ("Train/mean_episode_length", "episode length (steps)"),
                            ("Metrics/base_velocity/error_vel_xy", "train: lin-vel error (m/s)"),
                            ("Metrics/base_velocity/error_vel_yaw",
                             "train: yaw-rate error (rad/s)"),
                            ("Perf/total_fps", "env-steps/s (overall)"),
                            ("Episode_Termination/base_contact", "falls per episode (contact)")])
    its = [int(re.search(r"model_(\d+)", g["checkpoint"]).group(1)) for g in gate]
    for ax, key, thr, title in ((axes.flat[6], "mean_lin_vel_error", 0.15, "gate: lin-vel error"),
                                (axes.flat[7], "mean_yaw_rate_error", 0.2, "gate: yaw-rate error")):
        ax.plot(its, [g[key] for g in gate], "o-")
        ax.axhline(thr, color="r", ls="--", label="gate")
        ax.set_title(title + " (Isaac Lab, 50 ep.)")
        ax.set_xlabel("checkpoint iteration")
        ax.legend()
    save(fig, out)


def first_iteration(seg: dict) -> dict:
    """A fresh segment's start-up and the time to its first iteration (kernels compile there)."""
    return {"log": Path(seg["log"]).name, "startup_s": seg["startup_s"],
            "first_iteration_s": seg["progress"][0][1]}


def cold_start(warm: list[dict], cold: list[dict], warm_wall: float | None) -> dict:
    """The time to the gate with a cold kernel cache, composed from a warm run and a cold start.

    The warm run's first segment began from scratch; the cold start is the same training
    begun with an empty cache on the same card. Only start-up and the first iteration differ
    (compilation); the iterations after them are the warm run's.
    """
    if not cold or not cold[0]["progress"] or warm[0]["first_it"] != 0:
        return {"cold_start_note": "no usable cold start or warm run from scratch: not composed"}
    w, c = first_iteration(warm[0]), first_iteration(cold[0])
    extra = c["startup_s"] + c["first_iteration_s"] - w["startup_s"] - w["first_iteration_s"]
    return {"warm_start_overhead": w, "cold_start_overhead": c,
            "wall_clock_to_gate_cold_s_composed":
                round(warm_wall + extra, 1) if warm_wall is not None else None,
            "cold_start_note": "cold = the warm time to the gate with the warm run's start-up "
                               "and first iteration replaced by the cold start's (same card, "
                               "same code; the iterations after the first are the warm run's)"}


def main() -> int:
    """Build the figures JSON, the curves and the report."""
    ap = parser("flat2")
    ap.add_argument("--ceiling", type=Path,
                    default=ROOT / "benchmarks" / "results" / "physics_ceiling_4096.json")
    ap.add_argument("--run_dir", type=Path, required=True, help="params, git.txt, events")
    ap.add_argument("--gate", type=Path, nargs="+", required=True, help="gate_*.json files")
    ap.add_argument("--policy_dir", type=Path, required=True)
    ap.add_argument("--out", type=Path,
                    default=ROOT / "benchmarks" / "results" / "time_to_walk.json")
    ap.add_argument("--gpu", default=None,
                    help="the GPU's name, for segments whose log does not say it (logs of "
                         "gpu_segment.sh after 2026-11-25 start with an '[gpu] <name>' line)")
    ap.add_argument("--cold_start_run", default=None,
                    help="with --kernel_cache warm: a run started on the same card with an "
                         "empty kernel cache (gpu_cold_start.sh); its start-up and first "
                         "iteration replace the warm run's for a composed cold time to the gate")
    ap.add_argument("--kernel_cache", choices=("cold", "warm"), default="cold",
                    help="state of warp's kernel cache when the first segment started: cold "
                         "= first run on the machine (kernels compiled), warm = compiled by "
                         "an earlier run, as on any later run of the same code")
    args = ap.parse_args()

    segs = segments(args.device_dir, args.run)
    gate: dict[int, dict] = {}
    for g in args.gate:
        for r in json.loads(g.read_text()):
            r["source"] = g.name
            gate[int(re.search(r"model_(\d+)", r["checkpoint"]).group(1))] = r
    gate_list = [gate[k] for k in sorted(gate)]
    first_pass = next((k for k in sorted(gate) if gate[k]["passed"]), None)

    # wall-clock to the first passing checkpoint: whole earlier segments (killed at their
    # limit; iterations after their last checkpoint are lost and redone) + the segment that
    # wrote it up to that iteration (its start-up included); gaps between calls listed apart
    wall, gaps = 0.0, []
    for i, s in enumerate(segs):
        its = dict(s["progress"])
        if first_pass is not None and s["first_it"] <= first_pass <= s["last_it"]:
            wall += s["startup_s"] + its[first_pass]
            break
        end = segs[i + 1]["launch_epoch"] if i + 1 < len(segs) else None
        seg_wall = s["startup_s"] + s["progress"][-1][1]
        wall += seg_wall
        if end is not None:
            gaps.append(end - s["launch_epoch"] - seg_wall)
    sc = scalars(args.run_dir)
    steady = [v for it, v in sc.get("Perf/total_fps", []) if it > 10]
    coll = sc.get("Perf/collection_time", [])
    learn = dict(sc.get("Perf/learning_time", []))
    n_envs = next(s["num_envs"] for s in segs if s["num_envs"])
    # the run's rollout length (24 unless changed, e.g. --set agent.num_steps_per_env=12)
    agent_yaml = args.run_dir / "params" / "agent.yaml"
    n_steps = (int(re.search(r"^num_steps_per_env: (\d+)$", agent_yaml.read_text(),
                             re.M).group(1)) if agent_yaml.exists() else 24)
    gpu = next((s["gpu"] for s in segs if s["gpu"]), args.gpu)
    coll_fps = [n_envs * n_steps / t for it, t in coll if it > 10 and t > 0]
    mem = []
    for csv in glob.glob(str(args.device_dir / "*" / f"gpu_{args.run}_*.csv")):
        for line in Path(csv).read_text().splitlines()[1:]:
            m = re.search(r",\s*(\d+) MiB", line)
            if m:
                mem.append(int(m.group(1)))
    ceiling = json.loads(args.ceiling.read_text())
    # the ratio means something only against the ceiling of the same GPU and world count
    same = ceiling["num_envs"] == n_envs and (gpu is None or gpu in ceiling["device"])
    coll_median = statistics.median(coll_fps) if coll_fps else None
    overall = statistics.median(steady) if steady else None
    figures = {
        "task": "Athena-Velocity-Flat-v0", "num_envs": n_envs, "num_steps_per_env": n_steps,
        "device": gpu or ceiling["device"],
        "first_passing_checkpoint_iteration": first_pass,
        # no checkpoint passed: the training time the segments ran, not a time to the gate
        "wall_clock_to_gate_s": round(wall, 1) if first_pass is not None else None,
        "wall_clock_trained_s": round(wall, 1),
        "run": args.run, "warp_kernel_cache": args.kernel_cache,
        "wall_clock_note": "sum of training-process time of the segments up to the first "
                           "checkpoint that passes the gate in Isaac Lab (start-up included, "
                           f"with a {args.kernel_cache} warp kernel cache; segments killed at "
                           "their time limit and resumed from the last checkpoint); device-call "
                           "gaps between segments excluded and listed",
        "gaps_between_segments_s": [round(g, 1) for g in gaps],
        "segments": [{k: v for k, v in s.items() if k != "progress"} for s in segs],
        "env_steps_per_s_overall_median": round(overall) if overall else None,
        "env_steps_per_s_collection_median": round(coll_median) if coll_median else None,
        "learning_time_per_iteration_s_median": round(statistics.median(
            [v for k, v in learn.items() if k > 10]), 3) if learn else None,
        "gpu_memory_used_max_mib": max(mem) if mem else None,
        "physics_only_ceiling": ceiling,
        "ratio_collection_to_ceiling":
            round(coll_median / ceiling["env_steps_per_s_at_decimation"], 3)
            if coll_median and same else None,
        "ratio_note": None if same else
            f"no ceiling measured for {n_envs} envs on {gpu}: ratio left out (the ceiling "
            f"above is {ceiling['num_envs']} worlds on {ceiling['device']})",
        "gate_isaaclab": {str(k): {kk: gate[k].get(kk) for kk in (
            "passed", "fall_rate", "mean_lin_vel_error", "mean_yaw_rate_error", "source")}
            for k in sorted(gate)},
        "gate_sources": sorted({g["source"] for g in gate_list}),
        "gate_definition": "athena_description.walking_gate; base velocity sampled at every "
                           "physics substep (athena_train.evaluate)",
    }
    if args.cold_start_run:
        figures.update(cold_start(segs, segments(args.device_dir, args.cold_start_run),
                                  figures["wall_clock_to_gate_s"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    args.policy_dir.mkdir(parents=True, exist_ok=True)
    plot(sc, gate_list, args.policy_dir / "curves.png")
    print(json.dumps({k: v for k, v in figures.items() if k not in ("segments", "gate_isaaclab")},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
