"""Profile steady training iterations of an athena task: where collection and learning time go.

``python benchmarks/time_to_walk/profile_iteration.py --out profile.json [--num_envs N]``
(on a GPU machine, with the training stack on ``PYTHONPATH``; see ``gpu_segment.sh``).

The env and the rsl-rl runner are built by the project's own code
(``athena_train.train.make_env_and_cfg`` and ``prepare_runner``, the task's registered config)
and every iteration runs through rsl-rl's own ``OnPolicyRunner.learn``. Nothing of the task is
re-implemented here: the script only wraps existing methods (instance attributes, removed
never; the process is for measuring only) to time them. In order:

1. warm-up iterations (the first compiles warp kernels on a cold cache), uninstrumented;
2. timed iterations, uninstrumented: rsl-rl's own collection and learning times, giving
   collection env-steps/s (``num_steps_per_env × num_envs / collect_time``) and overall
   env-steps/s (``… / (collect_time + learn_time)``, rsl-rl's ``Perf/total_fps``);
3. optionally, ``--ab_check_for_nan K``: K alternating blocks with rsl-rl's per-step NaN check
   on and off (the one change measured; learning is unaffected by it);
4. the wrappers are installed (``torch.profiler.record_function`` ranges around the env's
   managers, the physics step, the per-substep velocity hook of
   ``ContractJointPositionAction`` (since 2026-12-06 the record runs as a Newton callback
   inside ``sim.step``, so that bucket holds only what ``apply_actions`` adds to its
   parent's), each reward/observation/termination term, policy
   inference, rsl-rl storage and bookkeeping, returns and the PPO update), then one iteration
   each with
   - host timers (wall time of each call on the CPU; the GPU runs asynchronously),
   - synchronized timers (``torch.cuda.synchronize`` around each call: the call's GPU work
     is charged to it; slower overall, but attributes GPU time),
   - torch's sync debug mode (every host-device synchronization torch performs, by site),
   - ``torch.profiler`` (CPU + CUDA activities) over the last ``--profile_steps`` collection
     steps, the returns and the PPO update: kernels, launches and syncs per env step,
     GPU busy fraction, time per bucket and the top kernels.

Prints a summary table last; ``--out`` gets everything as JSON. ``--compose`` (no GPU, no
Isaac Lab) merges a profile JSON with physics_ceiling.py outputs into the throughput JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "athena:"

# buckets of a training iteration, in the order the table prints them
COLLECTION_BUCKETS = [
    "physics: sim.step (CUDA graph replay)",
    "physics: scene.write_data_to_sim",
    "physics: scene.update (asset/sensor buffers)",
    "action: process_action (targets, latency buffer)",
    "action: apply_action (write joint targets)",
    "substep velocity hook (ContractJointPositionAction)",
    "termination manager",
    "reward manager",
    "reset (_reset_idx: reset events, managers)",
    "command manager",
    "event manager (interval: pushes)",
    "observation manager",
    "env.step other (counters, reset-id nonzero)",
    "rsl-rl env wrapper (TensorDict, dones)",
    "policy inference (PPO.act)",
    "rsl-rl check_nan",
    "rsl-rl storage (PPO.process_env_step)",
    "rsl-rl logger bookkeeping",
]
LEARNING_BUCKETS = ["learning: compute_returns", "learning: PPO update"]
OUTSIDE = "outside probed calls"


def bucket_of(path: str) -> str:
    """The bucket of a probed call's own (self) time, from its call path ``a/b/c``."""
    parts = path.split("/")
    last = parts[-1]
    if "reset._reset_idx" in parts:
        return "reset (_reset_idx: reset events, managers)"
    table = {
        "sim.step": COLLECTION_BUCKETS[0], "scene.write_data_to_sim": COLLECTION_BUCKETS[1],
        "scene.update": COLLECTION_BUCKETS[2], "action.process": COLLECTION_BUCKETS[3],
        "action.apply": COLLECTION_BUCKETS[4], "action.term.parent_apply": COLLECTION_BUCKETS[4],
        "action.term.joint_pos": COLLECTION_BUCKETS[5], "command.compute": COLLECTION_BUCKETS[9],
        "event.apply": COLLECTION_BUCKETS[10], "isaac.step": COLLECTION_BUCKETS[12],
        "env.step": COLLECTION_BUCKETS[13], "rsl.act": COLLECTION_BUCKETS[14],
        "rsl.check_nan": COLLECTION_BUCKETS[15], "rsl.storage": COLLECTION_BUCKETS[16],
        "rsl.logger": COLLECTION_BUCKETS[17], "rsl.compute_returns": LEARNING_BUCKETS[0],
        "rsl.update": LEARNING_BUCKETS[1],
    }
    if last in table:
        return table[last]
    for prefix, b in (("termination", 6), ("reward", 7), ("obs", 11)):
        if last.startswith(prefix):
            return COLLECTION_BUCKETS[b]
    return OUTSIDE


# -- instrumentation --------------------------------------------------------------------------


class Probe:
    """Wraps callables; times them (host or synchronized) and annotates them for the profiler.

    ``mode``: ``off`` (pass through), ``time`` (host wall time), ``sync`` (cuda-synchronized
    before and after the call), ``annotate`` (profiler ranges only). Times are kept per call
    path (``env.step/isaac.step/sim.step``): inclusive and the children's share.
    """

    def __init__(self) -> None:
        """Empty counters, mode off."""
        self.mode = "off"
        self.stack: list[str] = []
        self.reset()
        self.on_act = None      # callback(step index in this iteration), before PPO.act
        self.after_update = None  # callback(), after PPO.update

    def reset(self) -> None:
        """Zero the timers and the step counter."""
        self.incl: dict[str, float] = defaultdict(float)
        self.child: dict[str, float] = defaultdict(float)
        self.calls: Counter = Counter()
        self.steps = 0

    def wrap(self, name: str, fn):  # noqa: ANN001, ANN201 - any callable
        """``fn`` wrapped under ``name``."""
        import torch
        from torch.profiler import record_function

        probe = self

        @functools.wraps(fn)
        def inner(*a, **k):  # noqa: ANN002, ANN003, ANN202
            mode = probe.mode
            if mode == "off":
                return fn(*a, **k)
            probe.stack.append(name)
            path = "/".join(probe.stack)
            try:
                with record_function(PREFIX + name):
                    if mode == "annotate":
                        return fn(*a, **k)
                    if mode == "sync":
                        torch.cuda.synchronize()
                    t = time.perf_counter()
                    try:
                        return fn(*a, **k)
                    finally:
                        if mode == "sync":
                            torch.cuda.synchronize()
                        dt = time.perf_counter() - t
                        probe.incl[path] += dt
                        probe.calls[path] += 1
                        if len(probe.stack) > 1:
                            probe.child["/".join(probe.stack[:-1])] += dt
            finally:
                probe.stack.pop()

        return inner

    def self_times(self) -> dict[str, float]:
        """Own time of each call path (inclusive minus its probed children)."""
        return {p: self.incl[p] - self.child.get(p, 0.0) for p in self.incl}


class _TermProxy:
    """A manager term's ``func`` with timing; attribute access goes to the original."""

    def __init__(self, fn, wrapped) -> None:  # noqa: ANN001
        self.__dict__["_fn"], self.__dict__["_wrapped"] = fn, wrapped

    def __call__(self, *a, **k):  # noqa: ANN002, ANN003, ANN204
        return self._wrapped(*a, **k)

    def __getattr__(self, item: str):  # noqa: ANN204
        return getattr(self.__dict__["_fn"], item)


def instrument(probe: Probe, runner, per_term: bool = True) -> dict:  # noqa: ANN001
    """Install the probe's wrappers on the runner, its algorithm, the env and its managers."""
    import rsl_rl.runners.on_policy_runner as opr
    from isaaclab.envs.mdp.actions.joint_actions import JointPositionAction

    alg, wrapper = runner.alg, runner.env
    env = wrapper.unwrapped
    act = probe.wrap("rsl.act", alg.act)

    def act_hook(obs):  # noqa: ANN001, ANN202
        if probe.on_act is not None:
            probe.on_act(probe.steps)
        probe.steps += 1
        return act(obs)

    alg.act = act_hook
    update = probe.wrap("rsl.update", alg.update)

    def update_hook():  # noqa: ANN202
        out = update()
        if probe.after_update is not None:
            probe.after_update()
        return out

    alg.update = update_hook
    alg.process_env_step = probe.wrap("rsl.storage", alg.process_env_step)
    alg.compute_returns = probe.wrap("rsl.compute_returns", alg.compute_returns)
    runner.logger.process_env_step = probe.wrap("rsl.logger", runner.logger.process_env_step)
    opr.check_nan = probe.wrap("rsl.check_nan", opr.check_nan)
    wrapper.step = probe.wrap("env.step", wrapper.step)
    env.step = probe.wrap("isaac.step", env.step)
    env.action_manager.process_action = probe.wrap("action.process",
                                                   env.action_manager.process_action)
    env.action_manager.apply_action = probe.wrap("action.apply", env.action_manager.apply_action)
    for tname, term in env.action_manager._terms.items():
        term.apply_actions = probe.wrap(f"action.term.{tname}", term.apply_actions)
    # the parent class's apply_actions: what ContractJointPositionAction adds is the rest
    JointPositionAction.apply_actions = probe.wrap("action.term.parent_apply",
                                                   JointPositionAction.apply_actions)
    env.scene.write_data_to_sim = probe.wrap("scene.write_data_to_sim", env.scene.write_data_to_sim)
    env.sim.step = probe.wrap("sim.step", env.sim.step)
    env.scene.update = probe.wrap("scene.update", env.scene.update)
    env.termination_manager.compute = probe.wrap("termination.compute",
                                                 env.termination_manager.compute)
    env.reward_manager.compute = probe.wrap("reward.compute", env.reward_manager.compute)
    env._reset_idx = probe.wrap("reset._reset_idx", env._reset_idx)
    env.command_manager.compute = probe.wrap("command.compute", env.command_manager.compute)
    env.event_manager.apply = probe.wrap("event.apply", env.event_manager.apply)
    om = env.observation_manager
    groups = {}
    for g in list(om._group_obs_term_names):
        groups[g] = list(om._group_obs_term_names[g])
    compute_group = om.compute_group

    wrapped_groups = {g: probe.wrap(f"obs.{g}", compute_group) for g in groups}

    def compute_group_hook(group_name, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        return wrapped_groups.get(group_name, compute_group)(group_name, *a, **k)

    om.compute_group = compute_group_hook
    terms = {"reward": list(env.reward_manager._term_names),
             "termination": list(env.termination_manager._term_names), "observation": groups}
    if per_term:
        for mgr, prefix in ((env.reward_manager, "reward"),
                            (env.termination_manager, "termination")):
            for name, cfg in zip(mgr._term_names, mgr._term_cfgs):
                cfg.func = _TermProxy(cfg.func, probe.wrap(f"{prefix}.{name}", cfg.func))
        for g, names in groups.items():
            for name, cfg in zip(names, om._group_obs_term_cfgs[g]):
                cfg.func = _TermProxy(cfg.func, probe.wrap(f"obs.{g}.{name}", cfg.func))
    return terms


# -- host syncs (torch's sync debug mode) -------------------------------------------------------


def count_syncs(probe: Probe, run_iteration) -> dict:  # noqa: ANN001
    """Run one iteration with torch's sync debug mode on: synchronizing torch ops by site."""
    import warnings

    import torch

    sites: Counter = Counter()

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001, ANN202
        if "synchroniz" not in str(message):
            return
        where = probe.stack[-1] if probe.stack else "(outside probed calls)"
        frames = [f for f in traceback.extract_stack()[:-1]
                  if "/torch/" not in f.filename and "warnings" not in f.filename
                  and f.filename != __file__]
        site = f"{_short(frames[-1].filename)}:{frames[-1].lineno}" if frames else \
            f"{_short(filename)}:{lineno}"
        sites[(where, site)] += 1

    probe.reset()
    probe.mode = "time"
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        torch.cuda.set_sync_debug_mode(1)
        try:
            run_iteration()
        finally:
            torch.cuda.set_sync_debug_mode(0)
    probe.mode = "off"
    steps = max(probe.steps, 1)
    learning = {"rsl.update", "rsl.compute_returns"}
    coll = sum(n for (w, _), n in sites.items() if w not in learning and not w.startswith("("))
    learn = sum(n for (w, _), n in sites.items() if w in learning)
    return {
        "steps": probe.steps,
        "collection_syncs_per_env_step": round(coll / steps, 2),
        "learning_syncs_per_iteration": learn,
        "outside_probed_calls": sum(n for (w, _), n in sites.items() if w.startswith("(")),
        "by_site": [{"call": w, "site": s, "count": n, "per_env_step": round(n / steps, 2)}
                    for (w, s), n in sites.most_common()],
    }


def _short(filename: str) -> str:
    """A source path from its package on (site-packages/… cut)."""
    for mark in ("site-packages/", "/src/", "/benchmarks/"):
        if mark in filename:
            return filename.split(mark, 1)[1]
    return filename


# -- torch.profiler trace analysis --------------------------------------------------------------

LAUNCH_WORDS = ("LaunchKernel", "GraphLaunch", "Memcpy", "Memset")
SYNC_NAMES = ("Synchronize",)


def analyze_trace(trace: dict, steps: int) -> dict:
    """Kernels, launches, syncs, host and GPU time per probed call, from a Chrome trace.

    Each CUDA runtime/driver call is charged to the innermost ``athena:`` range on its thread
    that contains it; each GPU activity (kernel, memcpy, memset) to the call that launched it
    (by correlation id; kernels of a CUDA graph share the graph launch's id).
    """
    ev = [e for e in trace.get("traceEvents", []) if e.get("ph") == "X"]
    ranges = [e for e in ev if e.get("cat") == "user_annotation"
              and str(e.get("name", "")).startswith(PREFIX)]
    gpu = [e for e in ev if e.get("cat") in ("kernel", "gpu_memcpy", "gpu_memset")]
    api = [e for e in ev if e.get("cat") in ("cuda_runtime", "cuda_driver")]
    if not ranges:
        return {"error": "no athena ranges in the trace"}

    # range instances with parents (proper nesting per thread)
    by_tid: dict = defaultdict(list)
    for r in ranges:
        by_tid[(r.get("pid"), r.get("tid"))].append(r)
    inst = []
    index: dict = {}
    for key, rs in by_tid.items():
        rs.sort(key=lambda r: (r["ts"], -r.get("dur", 0)))
        stack: list[int] = []
        starts = []
        for r in rs:
            ts, end = r["ts"], r["ts"] + r.get("dur", 0)
            while stack and inst[stack[-1]]["end"] <= ts:
                stack.pop()
            parent = stack[-1] if stack else None
            name = r["name"][len(PREFIX):]
            path = (inst[parent]["path"] + "/" + name) if parent is not None else name
            inst.append({"name": name, "path": path, "ts": ts, "end": end, "parent": parent,
                         "dur": r.get("dur", 0), "child_dur": 0.0})
            if parent is not None:
                inst[parent]["child_dur"] += r.get("dur", 0)
            stack.append(len(inst) - 1)
            starts.append(len(inst) - 1)
        index[key] = starts

    import bisect

    # start times per thread, for bisect
    start_lists = {k: [inst[i]["ts"] for i in ids] for k, ids in index.items()}

    def innermost_fast(key, ts: float):  # noqa: ANN001, ANN202
        ids = index.get(key)
        if not ids:
            return None
        pos = bisect.bisect_right(start_lists[key], ts) - 1
        if pos < 0:
            return None
        i = ids[pos]
        while i is not None and inst[i]["end"] < ts:
            i = inst[i]["parent"]
        return i

    per_path: dict = defaultdict(lambda: {"calls": 0, "host_incl_us": 0.0, "host_self_us": 0.0,
                                          "gpu_us": 0.0, "kernels": 0, "graph_kernels": 0,
                                          "launches": 0, "syncs": 0, "sync_us": 0.0})
    for r in inst:
        p = per_path[r["path"]]
        p["calls"] += 1
        p["host_incl_us"] += r["dur"]
        p["host_self_us"] += r["dur"] - r["child_dur"]
    corr: dict = {}
    api_names: Counter = Counter()
    api_by_bucket: dict = defaultdict(Counter)
    for a in api:
        i = innermost_fast((a.get("pid"), a.get("tid")), a["ts"])
        path = inst[i]["path"] if i is not None else None
        name = str(a.get("name", ""))
        c = (a.get("args") or {}).get("correlation")
        if c is not None:
            corr[c] = (path, name)
        if path is None:
            continue
        b = bucket_of(path)
        api_names[(b in LEARNING_BUCKETS, name)] += 1
        api_by_bucket[b][name] += 1
        p = per_path[path]
        if any(w in name for w in LAUNCH_WORDS):
            p["launches"] += 1
        if any(w in name for w in SYNC_NAMES) or name in ("cudaMemcpy", "cuMemcpyDtoH_v2"):
            p["syncs"] += 1
            p["sync_us"] += a.get("dur", 0)
    top: dict = {False: defaultdict(lambda: [0, 0.0]), True: defaultdict(lambda: [0, 0.0])}
    unattributed = 0
    # GPU work launched from threads without athena ranges: during the PPO update that is
    # autograd's backward thread (its kernels belong to the learning phase)
    api_tid = {(a.get("args") or {}).get("correlation"): (a.get("pid"), a.get("tid")) for a in api}
    other = {"kernels": 0, "gpu_us": 0.0, "threads": set()}
    for g in gpu:
        c = (g.get("args") or {}).get("correlation")
        path, name = corr.get(c, (None, ""))
        if path is None:
            unattributed += 1
            if api_tid.get(c) is not None and api_tid[c] not in index:
                other["kernels"] += g.get("cat") == "kernel"
                other["gpu_us"] += g.get("dur", 0)
                other["threads"].add(str(api_tid[c]))
            continue
        p = per_path[path]
        p["gpu_us"] += g.get("dur", 0)
        if g.get("cat") == "kernel":
            p["kernels"] += 1
            if "GraphLaunch" in name:
                p["graph_kernels"] += 1
        t = top[bucket_of(path) in LEARNING_BUCKETS][str(g.get("name", ""))[:100]]
        t[0] += 1
        t[1] += g.get("dur", 0)

    # each CUDA graph replay on the GPU: first kernel start to last kernel end vs kernel sum
    graph_corr = {(a.get("args") or {}).get("correlation") for a in api
                  if "GraphLaunch" in str(a.get("name", ""))}
    replays: dict = defaultdict(list)
    for g in gpu:
        c = (g.get("args") or {}).get("correlation")
        if c in graph_corr and g.get("cat") == "kernel":
            replays[c].append(g)
    graph_stats = [{"kernels": len(ks),
                    "span_ms": (max(k["ts"] + k.get("dur", 0) for k in ks)
                                - min(k["ts"] for k in ks)) / 1e3,
                    "kernel_sum_ms": sum(k.get("dur", 0) for k in ks) / 1e3}
                   for ks in replays.values()]
    # windows: collection = first PPO.act .. compute_returns start; learning = .. update end
    acts = [r for r in inst if r["name"] == "rsl.act"]
    rets = [r for r in inst if r["name"] == "rsl.compute_returns"]
    upds = [r for r in inst if r["name"] == "rsl.update"]
    win = {}
    if acts and rets and upds:
        win = {"collection": (min(r["ts"] for r in acts), rets[0]["ts"]),
               "learning": (rets[0]["ts"], upds[-1]["end"])}
    busy = {}
    for wname, (t0, t1) in win.items():
        iv = sorted((max(g["ts"], t0), min(g["ts"] + g.get("dur", 0), t1)) for g in gpu
                    if g["ts"] < t1 and g["ts"] + g.get("dur", 0) > t0)
        tot, cur_s, cur_e = 0.0, None, None
        for s, e in iv:
            if cur_e is None or s > cur_e:
                if cur_e is not None:
                    tot += cur_e - cur_s
                cur_s, cur_e = s, e
            else:
                cur_e = max(cur_e, e)
        if cur_e is not None:
            tot += cur_e - cur_s
        busy[wname] = {"wall_ms": round((t1 - t0) / 1e3, 3), "gpu_busy_ms": round(tot / 1e3, 3),
                       "gpu_busy_fraction": round(tot / (t1 - t0), 3) if t1 > t0 else None}
    buckets: dict = defaultdict(lambda: defaultdict(float))
    for path, p in per_path.items():
        b = bucket_of(path)
        for k in ("host_self_us", "gpu_us", "kernels", "graph_kernels", "launches", "syncs",
                  "sync_us"):
            buckets[b][k] += p[k]
    n = max(steps, 1)
    coll = {k: sum(buckets[b][k] for b in COLLECTION_BUCKETS) for k in
            ("host_self_us", "gpu_us", "kernels", "graph_kernels", "launches", "syncs")}
    return {
        "profiled_env_steps": steps,
        "windows": busy,
        "per_env_step": {"kernels": round(coll["kernels"] / n, 1),
                         "of_which_in_cuda_graphs": round(coll["graph_kernels"] / n, 1),
                         "host_launch_calls": round(coll["launches"] / n, 1),
                         "host_sync_calls": round(coll["syncs"] / n, 2),
                         "gpu_ms": round(coll["gpu_us"] / n / 1e3, 3),
                         "host_ms_in_probed_calls": round(coll["host_self_us"] / n / 1e3, 3)},
        "learning_iteration": {k: round(sum(buckets[b][k] for b in LEARNING_BUCKETS), 1) for k in
                               ("kernels", "launches", "syncs", "gpu_us", "host_self_us")},
        "buckets_per_env_step": {b: {"host_ms": round(buckets[b]["host_self_us"] / n / 1e3, 3),
                                     "gpu_ms": round(buckets[b]["gpu_us"] / n / 1e3, 3),
                                     "kernels": round(buckets[b]["kernels"] / n, 1),
                                     "launches": round(buckets[b]["launches"] / n, 1),
                                     "syncs": round(buckets[b]["syncs"] / n, 2)}
                                 for b in COLLECTION_BUCKETS},
        "learning_buckets_per_iteration": {
            b: {"host_ms": round(buckets[b]["host_self_us"] / 1e3, 3),
                "gpu_ms": round(buckets[b]["gpu_us"] / 1e3, 3),
                "kernels": int(buckets[b]["kernels"]), "launches": int(buckets[b]["launches"]),
                "syncs": int(buckets[b]["syncs"])} for b in LEARNING_BUCKETS},
        "api_calls_per_env_step": {name: round(c / n, 2) for (learn, name), c in
                                   api_names.most_common() if not learn},
        "api_calls_learning_iteration": {name: c for (learn, name), c in
                                         api_names.most_common() if learn},
        "per_call_path": {p: {k: (round(v, 1) if isinstance(v, float) else v)
                              for k, v in d.items()} for p, d in sorted(per_path.items())},
        "top_kernels_collection": [{"name": k, "count": v[0], "total_ms": round(v[1] / 1e3, 3)}
                                   for k, v in sorted(top[False].items(),
                                                      key=lambda kv: -kv[1][1])[:20]],
        "top_kernels_learning": [{"name": k, "count": v[0], "total_ms": round(v[1] / 1e3, 3)}
                                 for k, v in sorted(top[True].items(),
                                                    key=lambda kv: -kv[1][1])[:12]],
        "gpu_events_unattributed": unattributed,
        "cuda_graph_replays": {
            "count": len(graph_stats),
            "kernels_median": statistics.median(g["kernels"] for g in graph_stats)
            if graph_stats else None,
            "span_ms_median": round(statistics.median(g["span_ms"] for g in graph_stats), 3)
            if graph_stats else None,
            "kernel_sum_ms_median": round(statistics.median(g["kernel_sum_ms"]
                                                            for g in graph_stats), 3)
            if graph_stats else None,
            "span_ms_range": [round(min(g["span_ms"] for g in graph_stats), 3),
                              round(max(g["span_ms"] for g in graph_stats), 3)]
            if graph_stats else None},
        "gpu_from_threads_without_ranges": {
            "kernels": other["kernels"], "gpu_ms": round(other["gpu_us"] / 1e3, 3),
            "threads": sorted(other["threads"]),
            "note": "launched from threads that carry no athena range: autograd's backward "
                    "thread in the PPO update, so learning-phase GPU work"},
        "api_calls_by_bucket": {b: dict(c.most_common(8)) for b, c in api_by_bucket.items()},
    }


# -- the measurement ---------------------------------------------------------------------------


def timer_table(probe: Probe, collect_s: float | None) -> dict:
    """Per-bucket times of one instrumented iteration: ms per env step and per iteration."""
    st = probe.self_times()
    per: dict = defaultdict(float)
    for path, t in st.items():
        per[bucket_of(path)] += t
    n = max(probe.steps, 1)
    out = {"env_steps": probe.steps,
           "collection_ms_per_env_step": {b: round(per[b] / n * 1e3, 3)
                                          for b in COLLECTION_BUCKETS},
           "learning_ms_per_iteration": {b: round(per[b] * 1e3, 2) for b in LEARNING_BUCKETS}}
    probed = sum(per[b] for b in COLLECTION_BUCKETS)
    if collect_s:
        out["collection_s_rsl_rl"] = round(collect_s, 4)
        out["collection_ms_per_env_step_unprobed_rest"] = round((collect_s - probed) / n * 1e3, 3)
    return out


def main() -> int:  # noqa: C901, PLR0915 - one linear measurement script
    """Measure; print the table; write the JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="Athena-Velocity-Flat-v0")
    ap.add_argument("--num_envs", type=int, default=None, help="default: the task's (8192)")
    ap.add_argument("--device", default="cuda:0")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--warmup_iterations", type=int, default=3)
    ap.add_argument("--timed_iterations", type=int, default=8)
    ap.add_argument("--profile_steps", type=int, default=4,
                    help="collection steps under torch.profiler (the last of one iteration)")
    ap.add_argument("--ab_check_for_nan", type=int, default=0, metavar="BLOCKS",
                    help="alternate BLOCKS blocks of --timed_iterations with rsl-rl's NaN check "
                         "on and off (0: skip)")
    ap.add_argument("--no_per_term", action="store_true", help="no ranges per manager term")
    ap.add_argument("--decimation_in_physics", action="store_true",
                    help="the env config's switch: the physics runs the substeps in one call")
    ap.add_argument("--trace", type=Path, default=None, help="also write the Chrome trace (gz)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--compose", type=Path, default=None, metavar="PROFILE_JSON",
                    help="no measurement: merge PROFILE_JSON with --ceiling into --throughput_out")
    ap.add_argument("--ceiling", type=Path, nargs="*", default=[],
                    help="physics_ceiling.py JSON outputs (same GPU, same world count)")
    ap.add_argument("--throughput_out", type=Path, default=None)
    ap.add_argument("--reanalyze", type=Path, default=None, metavar="TRACE_GZ",
                    help="no measurement: analyse a trace written by --trace again and "
                         "replace the 'profile' entry of --out (an existing profile JSON)")
    args = ap.parse_args()
    if args.compose:
        return compose(args.compose, args.ceiling, args.throughput_out)
    if args.reanalyze:
        return reanalyze(args.reanalyze, args.out)

    t_start = time.time()
    sys.path[:0] = [str(ROOT / "src" / "athena_description"), str(ROOT / "src" / "athena_train")]
    from athena_train.train import make_env_and_cfg, prepare_runner

    def edit(cfg: object) -> None:
        cfg.decimation_in_physics = args.decimation_in_physics

    env, agent_cfg = make_env_and_cfg(args.task, args.num_envs, args.device, args.seed,
                                      edit_env_cfg=edit)
    run_dir = Path(tempfile.mkdtemp(prefix="athena_profile_"))
    agent_cfg.save_interval = 10**9  # no checkpoints inside the measured iterations
    runner = prepare_runner(env, agent_cfg, run_dir, resume=False)
    import torch

    startup_s = time.time() - t_start
    n_envs, n_steps = env.num_envs, runner.cfg["num_steps_per_env"]
    uenv = env.unwrapped
    res: dict = {
        "task": args.task, "num_envs": n_envs, "num_steps_per_env": n_steps,
        "env_steps_per_iteration": n_envs * n_steps,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "device": args.device, "decimation": uenv.cfg.decimation,
        "physics_handles_decimation": bool(getattr(uenv, "_physics_handles_decimation", False)),
        "ppo": {k: runner.cfg["algorithm"].get(k) for k in ("num_learning_epochs",
                                                             "num_mini_batches")},
        "check_for_nan_default": runner.cfg.get("check_for_nan", True),
        "startup_s": round(startup_s, 1), "versions": versions(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t_start)),
    }
    print(f"[profile] env + runner in {startup_s:.1f}s: {n_envs} envs, gpu {res['gpu']}",
          flush=True)

    def save() -> None:
        """Write what is measured so far (a run killed at a time limit keeps it)."""
        if args.out:
            args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")

    its: list[dict] = []
    logger_log = runner.logger.log

    def log(*a, **k):  # noqa: ANN002, ANN003, ANN202
        its.append({"collect_s": k["collect_time"], "learn_s": k["learn_time"],
                    "t": time.time()})
        return logger_log(*a, **k)

    runner.logger.log = log
    first = [True]

    def run_iterations(n: int) -> list[dict]:
        start = len(its)
        runner.learn(num_learning_iterations=n, init_at_random_ep_len=first[0])
        first[0] = False
        return its[start:]

    def summary(block: list[dict]) -> dict:
        c = statistics.median(b["collect_s"] for b in block)
        lt = statistics.median(b["learn_s"] for b in block)
        walls = [b2["t"] - b1["t"] for b1, b2 in zip(block, block[1:])]
        return {"iterations": len(block), "collect_s_median": round(c, 4),
                "learn_s_median": round(lt, 4),
                "collect_s_range": [round(min(b["collect_s"] for b in block), 4),
                                    round(max(b["collect_s"] for b in block), 4)],
                "learn_s_range": [round(min(b["learn_s"] for b in block), 4),
                                  round(max(b["learn_s"] for b in block), 4)],
                "wall_s_per_iteration_median":
                    round(statistics.median(walls), 4) if walls else None,
                "collection_env_steps_per_s": round(n_envs * n_steps / c),
                "overall_env_steps_per_s": round(n_envs * n_steps / (c + lt))}

    t0 = time.time()
    warm = run_iterations(args.warmup_iterations)
    res["warmup"] = {"wall_s": round(time.time() - t0, 1),
                     "iterations": [{k: round(v, 3) for k, v in w.items() if k != "t"}
                                    for w in warm]}
    print(f"[profile] warm-up {res['warmup']}", flush=True)
    save()
    res["timed_started_unix"] = time.time()
    res["timed"] = summary(run_iterations(args.timed_iterations))
    print(f"[profile] timed {res['timed']}", flush=True)
    save()
    if args.ab_check_for_nan:
        ab = {"on": [], "off": []}
        default = runner.cfg.get("check_for_nan", True)
        for k in range(2 * args.ab_check_for_nan):
            key = "off" if k % 2 else "on"
            runner.cfg["check_for_nan"] = key == "on"
            ab[key].extend(run_iterations(args.timed_iterations))
        runner.cfg["check_for_nan"] = default
        res["ab_check_for_nan"] = {k: summary(v) for k, v in ab.items()}
        print(f"[profile] check_for_nan A/B {res['ab_check_for_nan']}", flush=True)
    res["timed_ended_unix"] = time.time()

    # instrumented iterations
    probe = Probe()
    res["manager_terms"] = instrument(probe, runner, per_term=not args.no_per_term)
    for mode in ("time", "sync"):
        probe.reset()
        probe.mode = mode
        block = run_iterations(1)
        probe.mode = "off"
        res[f"timers_{mode}"] = timer_table(probe, block[-1]["collect_s"])
        res[f"timers_{mode}"]["learn_s_rsl_rl"] = round(block[-1]["learn_s"], 4)
        res[f"timers_{mode}"]["per_call_path_ms"] = {
            p: {"calls": probe.calls[p], "incl_ms": round(v * 1e3, 3),
                "self_ms": round((v - probe.child.get(p, 0.0)) * 1e3, 3)}
            for p, v in sorted(probe.incl.items())}
        res[f"timers_{mode}"]["apply_action_calls_per_env_step"] = round(
            sum(c for p, c in probe.calls.items() if p.endswith("/action.apply"))
            / max(probe.steps, 1), 2)
        print(f"[profile] timers ({mode}) done", flush=True)
        save()
    try:
        res["host_syncs_torch"] = count_syncs(probe, lambda: run_iterations(1))
    except Exception as e:  # noqa: BLE001 - report and carry on
        res["host_syncs_torch"] = {"error": repr(e)}
    print("[profile] sync count done", flush=True)
    save()

    # torch.profiler over the last collection steps and the update of one iteration
    from torch.profiler import ProfilerActivity, profile

    prof = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
    state = {"on": False, "t": None}

    def on_act(k: int) -> None:
        if k == n_steps - args.profile_steps and not state["on"]:
            torch.cuda.synchronize()
            prof.start()
            state["on"], state["t"] = True, time.perf_counter()

    def after_update() -> None:
        if state["on"]:
            torch.cuda.synchronize()
            state["wall"] = time.perf_counter() - state["t"]
            prof.stop()
            state["on"] = False

    probe.reset()
    probe.on_act, probe.after_update = on_act, after_update
    probe.mode = "annotate"
    block = run_iterations(1)
    probe.mode = "off"
    probe.on_act = probe.after_update = None
    res["profiled_iteration"] = {"collect_s": round(block[-1]["collect_s"], 4),
                                 "learn_s": round(block[-1]["learn_s"], 4),
                                 "profiled_window_s": round(state.get("wall", float("nan")), 4)}
    try:
        fd, tpath = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        t0 = time.time()
        prof.export_chrome_trace(tpath)
        trace = json.loads(Path(tpath).read_text())
        res["profile"] = analyze_trace(trace, args.profile_steps)
        res["profile"]["export_and_analysis_s"] = round(time.time() - t0, 1)
        if args.trace:
            import gzip

            with open(tpath, "rb") as f, gzip.open(args.trace, "wb") as g:
                g.write(f.read())
        os.unlink(tpath)
    except Exception as e:  # noqa: BLE001
        res["profile"] = {"error": repr(e), "traceback": traceback.format_exc()}
    try:
        res["profiler_top_ops_self_cuda"] = [
            {"name": e.key[:90], "count": e.count,
             "self_device_ms": round(getattr(e, "self_device_time_total", 0) / 1e3, 3),
             "self_cpu_ms": round(e.self_cpu_time_total / 1e3, 3)}
            for e in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:25]]
    except Exception as e:  # noqa: BLE001
        res["profiler_top_ops_self_cuda"] = {"error": repr(e)}
    res["gpu_memory_max_allocated_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
    res["total_wall_s"] = round(time.time() - t_start, 1)
    save()
    print_table(res)
    env.close()
    return 0


def versions() -> dict:
    """Versions of the stack, as importlib.metadata reports them."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for p in ("torch", "warp-lang", "isaaclab", "newton", "mujoco-warp", "rsl-rl-lib"):
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = None
    return out


def print_table(res: dict) -> None:
    """The summary: one row per bucket (ms per env step), learning, throughput."""
    th, ts = res.get("timers_time", {}), res.get("timers_sync", {})
    prof = res.get("profile", {})
    pb = prof.get("buckets_per_env_step", {})
    print(f"\n== {res['task']} {res['num_envs']} envs on {res['gpu']}: one env step "
          f"(ms; host = CPU wall of the call, sync = with cuda sync around it, "
          f"prof = torch.profiler) ==")
    print(f"{'bucket':54s} {'host':>7s} {'sync':>7s} {'GPU':>7s} {'kern':>6s} {'launch':>6s} "
          f"{'syncs':>5s}")
    for b in COLLECTION_BUCKETS:
        p = pb.get(b, {})
        print(f"{b:54s} {th.get('collection_ms_per_env_step', {}).get(b, float('nan')):7.3f} "
              f"{ts.get('collection_ms_per_env_step', {}).get(b, float('nan')):7.3f} "
              f"{p.get('gpu_ms', float('nan')):7.3f} {p.get('kernels', float('nan')):6.1f} "
              f"{p.get('launches', float('nan')):6.1f} {p.get('syncs', float('nan')):5.2f}")
    print(f"{'unprobed rest of the rsl-rl loop':54s} "
          f"{th.get('collection_ms_per_env_step_unprobed_rest', float('nan')):7.3f} "
          f"{ts.get('collection_ms_per_env_step_unprobed_rest', float('nan')):7.3f}")
    print("== learning (ms per iteration) ==")
    lb = prof.get("learning_buckets_per_iteration", {})
    for b in LEARNING_BUCKETS:
        p = lb.get(b, {})
        print(f"{b:54s} {th.get('learning_ms_per_iteration', {}).get(b, float('nan')):7.1f} "
              f"{ts.get('learning_ms_per_iteration', {}).get(b, float('nan')):7.1f} "
              f"{p.get('gpu_ms', float('nan')):7.1f} {p.get('kernels', 0):6d} "
              f"{p.get('launches', 0):6d} {p.get('syncs', 0):5d}")
    ot = prof.get("gpu_from_threads_without_ranges", {})
    print(f"{'PPO update: backward kernels (autograd thread)':54s} {'':7s} {'':7s} "
          f"{ot.get('gpu_ms', float('nan')):7.1f} {ot.get('kernels', 0):6d}")
    pe = prof.get("per_env_step", {})
    print(f"per env step: {pe.get('kernels')} kernels ({pe.get('of_which_in_cuda_graphs')} in "
          f"CUDA graphs), {pe.get('host_launch_calls')} host launch calls, "
          f"{pe.get('host_sync_calls')} host sync calls (profiler); torch syncs "
          f"{res.get('host_syncs_torch', {}).get('collection_syncs_per_env_step')} (debug mode)")
    print(f"GPU busy: {prof.get('windows')}")
    t = res.get("timed", {})
    print(f"timed ({t.get('iterations')} its): collect {t.get('collect_s_median')} s, learn "
          f"{t.get('learn_s_median')} s -> collection {t.get('collection_env_steps_per_s')} "
          f"env-steps/s, overall {t.get('overall_env_steps_per_s')} env-steps/s")
    if "ab_check_for_nan" in res:
        for k, v in res["ab_check_for_nan"].items():
            print(f"check_for_nan {k}: collect {v['collect_s_median']} s "
                  f"{v['collect_s_range']}, {v['collection_env_steps_per_s']} env-steps/s")
    print(flush=True)


def reanalyze(trace_gz: Path, out: Path) -> int:
    """Re-run :func:`analyze_trace` on a saved trace; update the profile JSON ``out``."""
    import gzip

    res = json.loads(out.read_text())
    steps = res.get("profile", {}).get("profiled_env_steps", 4)
    with gzip.open(trace_gz, "rt", encoding="utf-8") as f:
        res["profile"] = analyze_trace(json.load(f), steps)
    res["profile"]["reanalyzed_from"] = trace_gz.name
    out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    print_table(res)
    return 0


def compose(profile_json: Path, ceilings: list[Path], out: Path | None) -> int:
    """The throughput JSON: ceiling and training throughput side by side, plus the profile."""
    prof = json.loads(profile_json.read_text())
    cs = [json.loads(c.read_text()) for c in ceilings]
    for c in cs:
        if c["num_envs"] != prof["num_envs"]:
            raise SystemExit(f"ceiling at {c['num_envs']} worlds, profile at {prof['num_envs']}")
    ceil = statistics.median(c["env_steps_per_s_at_decimation"] for c in cs) if cs else None
    t = prof["timed"]
    res = {
        "task": prof["task"], "num_envs": prof["num_envs"], "gpu": prof["gpu"],
        "ceiling_env_steps_per_s": round(ceil) if ceil else None,
        "ceiling_runs": cs,
        "collection_env_steps_per_s": t["collection_env_steps_per_s"],
        "overall_env_steps_per_s": t["overall_env_steps_per_s"],
        "ratio_collection_to_ceiling": round(t["collection_env_steps_per_s"] / ceil, 3)
        if ceil else None,
        "ratio_overall_to_ceiling": round(t["overall_env_steps_per_s"] / ceil, 3) if ceil else None,
        "training_timed": t,
        "definitions": "ceiling: physics_ceiling.py (MuJoCo-Warp alone, CUDA-graph replay, "
                       "physics steps/s / decimation); collection: num_steps_per_env x num_envs "
                       "/ rsl-rl collect_time (median); overall: the same / (collect_time + "
                       "learn_time), rsl-rl's Perf/total_fps. All from one device machine.",
        "profile_breakdown": {k: prof.get(k) for k in (
            "timers_time", "timers_sync", "host_syncs_torch", "profiled_iteration")},
        "profile_trace_summary": {k: v for k, v in prof.get("profile", {}).items()
                                  if k != "per_call_path"},
        "check_for_nan_ab": prof.get("ab_check_for_nan"),
        "startup_s": prof.get("startup_s"), "warmup": prof.get("warmup"),
        "versions": prof.get("versions"), "measured_utc": prof.get("started_utc"),
    }
    text = json.dumps(res, indent=1) + "\n"
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    print(json.dumps({k: res[k] for k in ("gpu", "num_envs", "ceiling_env_steps_per_s",
                                          "collection_env_steps_per_s", "overall_env_steps_per_s",
                                          "ratio_collection_to_ceiling",
                                          "ratio_overall_to_ceiling")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
