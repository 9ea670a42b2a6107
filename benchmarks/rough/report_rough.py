"""Figures of the rough task's GPU run, from what benchmarks/rough/gpu_rough.sh brought back.

``python benchmarks/rough/report_rough.py --device_dir DIR --run_dir DIR/c6/run
--stand DIR/c4/stand_gpu.json --eval DIR/c5/eval_families.json DIR/c6/eval_families.json``

``DIR`` holds one folder per device call with its ``meta_*.tar`` unpacked (``train_<run>_*.log``,
``gpu_<run>_*.csv``, ``stand_gpu.json``, ``eval_families.json``, ``train_probe<N>_*.log``);
``--run_dir`` the run's params and TensorBoard events (``run_<run>.tar`` of the last call).
``--stand`` may be left out (a run with ``STAND=0``); ``--run`` names the run (default
rough1); ``--first_cache warm`` when the first call unpacked an earlier run's kernel cache;
``--levels_from CKPT ...`` tabulates the terrain levels saved in checkpoints, per family;
``--device_note`` says where device time went that no log shows. Writes
``benchmarks/results/rough_train_h200.json`` (rough1; another run: ``<run>_train_h200.json``)
and ``<--curves_dir>/curves.png`` (default ``benchmarks/results/<run>/``); a segment's
warm-start and terrain-level lines from train's log go under its ``train_notes``. Every
figure is read from those files; the old pipeline's 0.69 s/it at 4096 envs is issue 17's
measurement, quoted, not re-measured here.
"""

from __future__ import annotations

import glob
import json
import re
import statistics
import sys
from dataclasses import asdict
from pathlib import Path

import yaml

from athena_description import walking_gate as gate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks" / "time_to_walk"))
import report  # noqa: E402 - time_to_walk's segment and TensorBoard readers

BLOCK = re.compile(r"Learning iteration\s+(\d+)/\d+.*?Collection time:\s+([\d.]+)s.*?"
                   r"Learning time:\s+([\d.]+)s", re.S)
OLD_S_PER_IT_4096 = 0.69  # issue 17: the rough task on MuJoCo's contacts, 4096 envs
STEPS_PER_ENV = 24
TERMS = ("base_contact", "bad_orientation", "time_out")


def iteration_times(log: Path) -> list[tuple[int, float, float]]:
    """(iteration, collection s, learning s) of every rsl-rl block in a training log."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(encoding="utf-8", errors="replace"))
    return [(int(i), float(c), float(ln)) for i, c, ln in BLOCK.findall(text)]


def throughput(times: list[tuple[int, float, float]], envs: int, skip: int) -> dict:
    """Medians over a segment's iterations after its first ``skip`` (compilation, warm-up)."""
    t = times[skip:]
    if not t:
        return {}
    coll = statistics.median(c for _, c, _ in t)
    learn = statistics.median(ln for _, _, ln in t)
    it_s = statistics.median(c + ln for _, c, ln in t)
    steps = envs * STEPS_PER_ENV
    return {"iterations": [t[0][0], t[-1][0]], "s_per_it_median": round(it_s, 3),
            "collection_s_median": round(coll, 3), "learning_s_median": round(learn, 3),
            "env_steps_per_s_overall": round(steps / it_s),
            "env_steps_per_s_collection": round(steps / coll)}


NOTES = re.compile(r"^\[train\] (warm start.*|contract: .*|critic warm-up.*|terrain levels.*|"
                   r"decimation in physics: .*|"
                   r".*holds no terrain levels.*|resuming .*not applied)$")


def train_notes(log: Path) -> list[str]:
    """The lines of train on a warm start and on the terrain levels of a resume, in order."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [m.group(1) for m in map(NOTES.match, text) if m]


def gpu_stats(csvs: list[str]) -> dict:
    """Max memory and median utilisation (5 s nvidia-smi samples, idle samples left out)."""
    mem, util = [], []
    for csv in csvs:
        for line in Path(csv).read_text().splitlines()[1:]:
            m = re.search(r",\s*(\d+) MiB,\s*(\d+) %", line)
            if m and int(m.group(1)) > 0:
                mem.append(int(m.group(1)))
                util.append(int(m.group(2)))
    return {"gpu_memory_used_max_mib": max(mem) if mem else None,
            "gpu_utilization_median_pct": statistics.median(util) if util else None}


def curves(sc: dict, every: int) -> list[dict]:
    """Every ``every`` iterations: episode length, terrain level, termination shares, errors."""
    tags = {"mean_episode_length": "Train/mean_episode_length",
            "mean_reward": "Train/mean_reward",
            "terrain_level_mean": "Curriculum/terrain_levels",
            "cmd_metric_error_vel_xy": "Metrics/base_velocity/error_vel_xy",
            "cmd_metric_error_vel_yaw": "Metrics/base_velocity/error_vel_yaw",
            "overall_env_steps_per_s": "Perf/total_fps",
            "policy_mean_std": "Policy/mean_std",
            "episode_reward_track_lin_vel_xy": "Episode_Reward/track_lin_vel_xy_exp",
            "episode_reward_track_ang_vel_z": "Episode_Reward/track_ang_vel_z_exp",
            "episode_reward_action_rate": "Episode_Reward/action_rate_l2",
            "episode_reward_knee_contact": "Episode_Reward/undesired_contacts"}
    d = {k: dict(sc.get(t, [])) for k, t in tags.items()}
    term = {k: dict(sc.get(f"Episode_Termination/{k}", [])) for k in TERMS}
    last = max(d["mean_episode_length"]) if d["mean_episode_length"] else -1
    # a run resumed from another's checkpoint (rough5 from rough4's 975) logs from there on
    first = min(d["mean_episode_length"]) if d["mean_episode_length"] else 0
    out = []
    for it in sorted({*range(-(-first // every) * every, last + 1, every), first, last}):
        row = {"it": it}
        for k, v in d.items():
            if it in v:
                row[k] = round(v[it], 4)
        total = sum(term[k].get(it, 0.0) for k in TERMS)
        if total > 0:  # per-step counts of endings by cause, as shares of all endings
            for k in TERMS:
                row[f"share_ended_{k}"] = round(term[k].get(it, 0.0) / total, 4)
        out.append(row)
    return out


def levels_by_family(checkpoint: Path) -> dict:
    """Mean level and robots per level (0-9) of each family, from a checkpoint's saved levels.

    The flat family is the same at every level: its levels show where the curriculum rule
    puts robots for which the ground is no obstacle.
    """
    import torch
    from athena_train.tasks.terrains import column_families, rough_terrains_cfg

    saved = torch.load(checkpoint, map_location="cpu", weights_only=False)["infos"]["terrain"]
    family = column_families(rough_terrains_cfg(*saved["grid"]))
    out: dict[str, dict] = {}
    for name in dict.fromkeys(family):
        cols = [c for c, f in enumerate(family) if f == name]
        lv = saved["levels"].long()[torch.isin(saved["types"].long(), torch.tensor(cols))]
        out[name] = {"robots": int(lv.numel()), "mean_level": round(float(lv.float().mean()), 2),
                     "robots_per_level": torch.bincount(lv, minlength=saved["grid"][0]).tolist()}
    return out


def plot(sc: dict, evals: list[dict], out: Path) -> None:
    """Learning curves and the per-family evaluation."""
    fig, axes = report.curves(sc, [
        ("Train/mean_episode_length", "episode length (steps, max 1000)"),
        ("Curriculum/terrain_levels", "mean terrain level (0-9)"),
        ("Train/mean_reward", "mean reward"),
        ("Metrics/base_velocity/error_vel_xy", "train: cmd metric error_vel_xy"),
        ("Metrics/base_velocity/error_vel_yaw", "train: cmd metric error_vel_yaw"),
        ("Policy/mean_std", "policy action std")])
    ax = axes.flat[6]
    term = {k: dict(sc.get(f"Episode_Termination/{k}", [])) for k in TERMS}
    its = sorted(term["base_contact"])
    for k in TERMS:
        tot = [sum(term[j].get(i, 0.0) for j in TERMS) or float("nan") for i in its]
        ax.plot(its, [term[k].get(i, 0.0) / t for i, t in zip(its, tot)], lw=1, label=k)
    ax.set_title("share of episode endings")
    ax.legend()
    ax = axes.flat[7]
    for ev in evals:
        fams = list(ev["families"])
        links = ev.get("fall_links")  # a list since the JSON names them
        ax.plot(fams, [ev["families"][f]["fall_rate"] for f in fams], "o-",
                label=Path(ev["checkpoint"]).stem + (
                    f", falls: {'+'.join(b.removesuffix('_link') for b in links)}"
                    if isinstance(links, list) else ""))
    protos = sorted({ev.get("protocol", "walking") for ev in evals})
    ax.set_title(f"{'/'.join(protos)} protocol per family: fall rate")
    ax.tick_params(axis="x", rotation=45)
    ax.legend(fontsize=6)
    report.save(fig, out)


def main() -> int:
    """Build the JSON and the curves."""
    ap = report.parser("rough1")
    ap.add_argument("--run_dir", type=Path, required=True)
    ap.add_argument("--stand", type=Path, default=None,
                    help="terrain_eval stand JSON (left out: a run without the standing check)")
    ap.add_argument("--eval", type=Path, nargs="*", default=[],
                    help="terrain_eval policy JSONs (GPU or CPU evaluations of the run)")
    ap.add_argument("--probe", default="probe4096")
    ap.add_argument("--curves_dir", type=Path, default=None,
                    help="default: benchmarks/results/<run>")
    ap.add_argument("--out", type=Path, default=None,
                    help="default: benchmarks/results/rough_train_h200.json for rough1, "
                         "<run>_train_h200.json otherwise")
    ap.add_argument("--code_commit", default=None,
                    help="the commit whose working tree the device ran")
    ap.add_argument("--device_s", type=float, default=None,
                    help="device time the session used (the tool's lease figures)")
    ap.add_argument("--levels_from", type=Path, nargs="*", default=[],
                    help="checkpoints whose saved terrain levels to tabulate per family")
    ap.add_argument("--device_note", default=None,
                    help="what the device time went to, where not all of it is in the logs")
    ap.add_argument("--first_cache", choices=("cold", "warm"), default="cold",
                    help="the warp kernel cache of the first segment: warm when an earlier "
                         "run's cache was carried in (gpu_rough.sh's .warpcache)")
    args = ap.parse_args()
    results = ROOT / "benchmarks" / "results"
    args.curves_dir = args.curves_dir or results / args.run
    args.out = args.out or results / ("rough_train_h200.json" if args.run == "rough1"
                                      else f"{args.run}_train_h200.json")
    with open(args.run_dir / "params" / "env.yaml", encoding="utf-8") as f:
        env_yaml = yaml.unsafe_load(f)

    segs = report.segments(args.device_dir, args.run)
    cold = args.first_cache == "cold"
    first_cache = ("warm (an earlier run's kernel cache, carried in)" if not cold else
                   "cold (first run on the machine; the standing check compiled the same "
                   "kernels in a concurrent process)" if args.stand else
                   "cold (first run on the machine)")
    seg_out = []
    for i, s in enumerate(segs):
        times = iteration_times(Path(s["log"]))
        notes = train_notes(Path(s["log"]))
        seg_out.append({
            "log": Path(s["log"]).name, "num_envs": s["num_envs"], "gpu": s["gpu"],
            "warp_kernel_cache": first_cache if i == 0 else "warm (same machine, earlier call)",
            **({"train_notes": notes} if notes else {}),
            "resumed_from_checkpoint": s["resumed_from_checkpoint"],
            "startup_s": s["startup_s"],
            "first_iteration_s": round(times[0][1] + times[0][2], 1) if times else None,
            "iterations_logged": [s["first_it"], s["last_it"]],
            "progress_elapsed_s_at_last_it": s["progress"][-1][1] if s["progress"] else None,
            "throughput_after_5_its": throughput(times, s["num_envs"], 5)})
    all_times = [t for s in segs for t in iteration_times(Path(s["log"]))[5:]]
    n_envs = segs[0]["num_envs"]
    probe = report.segments(args.device_dir, args.probe)
    probe_out = None
    if probe:
        p = probe[0]
        pt = iteration_times(Path(p["log"]))
        probe_out = {"log": Path(p["log"]).name, "num_envs": p["num_envs"],
                     "startup_s": p["startup_s"], "iterations_logged": [p["first_it"],
                                                                        p["last_it"]],
                     "throughput_after_5_its": throughput(pt, p["num_envs"], 5),
                     "note": "a throwaway run from scratch (seed 1) for 75 s on the warm "
                             "machine: its 5-38, early training (episodes of ~50-70 steps, "
                             "many resets per step). The old figure's phase is not recorded; "
                             "that task learned nothing, so its episodes stayed short too"}
    flat = json.loads((ROOT / "benchmarks" / "results" / "time_to_walk_8192.json").read_text())
    sc = report.scalars(args.run_dir)
    stand = json.loads(args.stand.read_text()) if args.stand else None
    sourced = [(src, r) for src in args.eval for r in json.loads(src.read_text())]
    evals = [r for _, r in sourced]
    keys = ("episodes", "falls", "fall_rate", "mean_lin_vel_error", "mean_yaw_rate_error")
    ev_out = []
    for e, r in sourced:
        ev_out.append({
            "checkpoint": Path(r["checkpoint"]).name, "source": f"{e.parent.name}/{e.name}",
            "protocol": r.get("protocol", "walking"), "per_tile": r["per_tile"],
            "env_build_s": r["env_build_s"], "rollout_wall_s": r["wall_s"],
            "all": {k: r["all"][k] for k in keys},
            "families": {f: {**{k: v[k] for k in keys},
                             "falls_by_level": [v["by_level"][lv]["falls"]
                                                for lv in sorted(v["by_level"], key=int)]}
                         for f, v in r["families"].items()},
            **({"robustness_gate": r["robustness_gate"]} if "robustness_gate" in r else {})})
    logs = glob.glob(str(args.device_dir / "*" / "*.log"))
    overflow = sum(Path(f).read_text(errors="replace").count("overflowed") for f in logs)
    figures = {
        "task": "Athena-Velocity-Rough-v0", "run": args.run, "num_envs": n_envs,
        "device": segs[0]["gpu"], "seed": env_yaml["seed"],
        "code_commit": args.code_commit,
        "git_txt_on_device": (args.run_dir / "git.txt").read_text().strip(),
        "git_note": "the device's copy of the repository carried the session's starting HEAD "
                    "with the working tree on top, so git.txt (and the ONNX metadata) say "
                    "<that commit>+dirty; the code that ran is code_commit",
        "physics_preset": env_yaml["physics_preset"],
        "use_mujoco_contacts": env_yaml["sim"]["physics"]["solver_cfg"]["use_mujoco_contacts"],
        "device_time_used_s": args.device_s,
        **({"device_note": args.device_note} if args.device_note else {}),
        "env_build": {
            "training_startup_s_cold_cache": segs[0]["startup_s"] if cold else None,
            "training_first_iteration_s_cold_cache": seg_out[0]["first_iteration_s"]
            if cold else None,
            "training_startup_s_warm_cache": [s["startup_s"] for s in segs[0 if not cold else 1:]],
            "training_first_iteration_s_warm_cache": [s["first_iteration_s"]
                                                       for s in seg_out[0 if not cold else 1:]],
            "stand_check_env_build_s_cold_cache_240_envs": stand and stand["env_build_s"],
            "eval_env_build_s_warm_cache_300_envs": sorted({r["env_build_s"] for r in evals}),
            "note": "start-up = env + runner creation (train.py's 'start-up' line)"
                    + ("; the cold segment shared the machine with the standing check, which "
                       "compiled the same kernels at the same time" if args.stand and cold
                       else "")},
        "throughput": {
            "all_segments_after_5_its_each": throughput(all_times, n_envs, 0),
            "probe_4096_envs": probe_out,
            "old_pipeline_4096_envs": {
                "s_per_it": OLD_S_PER_IT_4096,
                "env_steps_per_s_overall": round(4096 * STEPS_PER_ENV / OLD_S_PER_IT_4096),
                "source": "issue 17 (MuJoCo's own contacts, the task that learned nothing); "
                          "not re-measured in this run"},
            "flat_task_8192_envs_h200": {
                "env_steps_per_s_overall": flat["env_steps_per_s_overall_median"],
                "env_steps_per_s_collection": flat["env_steps_per_s_collection_median"],
                "source": "benchmarks/results/time_to_walk_8192.json (flat5)"},
            **gpu_stats(glob.glob(str(args.device_dir / "*" / f"gpu_{args.run}_*.csv")))},
        "collision_buffer_overflow_warnings": overflow,
        "segments": seg_out,
        "stand_check_zero_actions": stand and {
            "what": "terrain_eval stand: zero actions, 1 s (50 policy steps), no pushes, the "
                    "task's randomization; one column per family x 10 levels, 4 robots per "
                    "tile, each at its tile's origin +-0.5 m",
            "num_envs": stand["num_envs"], "steps": stand["steps"],
            "all": {k: stand["all"][k] for k in stand["all"]},
            "families": {f: {k: v[k] for k in v if k != "by_level"}
                         for f, v in stand["families"].items()},
            "base_contact_by_family_and_level_within_50_steps": {
                f: [v["by_level"][lv]["base_contact_within_50_steps"]
                    for lv in sorted(v["by_level"], key=int)]
                for f, v in stand["families"].items()},
            "physics_after_steps": stand["physics_after_steps"],
            "shares_reported": [k for k in stand["all"] if k.startswith("base_contact_share")]},
        "eval_per_family": {
            "what": "terrain_eval policy: a gate's protocol (walking_gate.PROTOCOLS, the "
                    "conditions under 'protocols'; 20 s episodes) on every tile of a "
                    "one-column-per-family grid, per_tile episodes per tile over levels 0-9",
            "protocols": {name: asdict(gate.PROTOCOLS[name])
                          for name in sorted({r["protocol"] for r in ev_out})},
            "results": ev_out},
        "curves_note": "TensorBoard scalars of the run (later segments win where two wrote "
                       "the same iteration); share_ended_* = the run's per-step termination "
                       "counts by cause over all endings; cmd_metric_error_* = Isaac Lab's "
                       "command-term metrics (summed over each resampling window: a trend, not "
                       "the gate's errors, which eval_per_family gives); "
                       "episode_reward_* = per-episode sums / 20 s (the track terms' maximum "
                       "is their weight, 1.0, for a 20 s episode)",
        "curves_every_25_its": curves(sc, 25),
        "terrain_levels_by_family": {p.name: levels_by_family(p) for p in args.levels_from},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    args.curves_dir.mkdir(parents=True, exist_ok=True)
    plot(sc, evals, args.curves_dir / "curves.png")
    print(json.dumps({k: figures[k] for k in ("env_build", "throughput")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
