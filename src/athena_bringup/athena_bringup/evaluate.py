"""A gate in MuJoCo through the real ROS nodes, JSON via walking_gate.

``python -m athena_bringup.evaluate [--episodes 50] [--episode-s 20] [--model X.onnx]
[--world flat] [--protocol walking] [--out benchmarks/results/mujoco_gate.json]``. Each episode
starts fresh sim + policy node + command processes with a sampled command, friction and mass
scale (and, by the protocol, payload and motor strength), and pushes every few seconds.
``--protocol`` (walking_gate.PROTOCOLS): ``walking``, the flat gate's conditions; ``robustness``,
the robustness gate's (1.0 m/s pushes, friction 0.3-1.5, a 0-3 kg payload, motors at 80-100 %,
straight-ahead commands, the terrain threshold); ``stand``, a zero command without pushes
(every episode within 0.1 m of its start). On a terrain world (``--world``,
athena_sim.worlds: a name, or ``NAME@D`` at difficulty D) the commands are straight ahead
(``walking_gate.TERRAIN_COMMAND_RANGES``) under either protocol, and a fall is measured from
the ground under the base. ``--levels``: episode i on the world at level i mod 10, at a
difficulty drawn within that level (:func:`episode_difficulty`), as the Isaac Lab evaluation
spreads its episodes over the curriculum's levels; the JSON adds falls per level. Episodes
run in real time: 50 × 20 s ≈ 20 min.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from athena_bringup.nodes import sim_nodes
from athena_bringup.session import run_nodes
from athena_bringup.sim_demo import WARMUP_S, resolve_model, score
from athena_description import walking_gate as wg
from athena_sim import worlds


def sample_episode(rng: np.random.Generator, ranges: dict | None = None,
                   protocol: wg.Protocol = wg.WALKING) -> dict:
    """One episode's command and randomization, from ``protocol`` (commands: or ``ranges``).

    The walking protocol draws exactly what it drew before the protocols existed (same seed,
    same episodes); payload and motor strength are drawn only where the protocol varies them.
    """
    p = protocol
    r = ranges or p.command_ranges
    ep = {"cmd": tuple(float(rng.uniform(*r[k])) for k in ("lin_vel_x", "lin_vel_y",
                                                             "ang_vel_z")),
          "friction_scale": float(rng.uniform(*p.friction_range)),
          "mass_scale": float(rng.uniform(1 - p.mass_scale, 1 + p.mass_scale)),
          "seed": int(rng.integers(1 << 30))}
    if p.payload_kg != (0.0, 0.0):
        ep["payload_kg"] = float(rng.uniform(*p.payload_kg))
    if p.motor_strength != (1.0, 1.0):
        ep["motor_strength"] = float(rng.uniform(*p.motor_strength))
    return ep


def episode_difficulty(i: int, seed: int) -> tuple[int, float]:
    """(level, difficulty) of episode ``i`` under ``--levels``: level i mod TERRAIN_LEVELS.

    Within the level the difficulty is drawn from the episode's own seed (the episode's other
    draws stay as they are), as Isaac Lab's generator draws a tile's: (level + u) / levels.
    """
    level = i % wg.TERRAIN_LEVELS
    u = float(np.random.default_rng(seed).uniform())
    return level, (level + u) / wg.TERRAIN_LEVELS


def world_spec(spec: str) -> str:
    """The --world type: a spec athena_sim.worlds can build (its error otherwise)."""
    try:
        worlds.parse(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return spec


def falls_by_level(episodes: list[dict]) -> dict:
    """Per level of ``--levels``: what the Isaac Lab evaluation reports (wg.level_summary)."""
    return {str(lv): wg.level_summary([e for e in episodes if e["level"] == lv])
            for lv in sorted({e["level"] for e in episodes})}


TIMING_KEYS = {"athena_sim": ("real_time_factor", "max_late_ms"),
               "athena_policy_node: control loop": ("deadline_misses", "period_max_ms",
                                                    "gc_pause_max_ms", "last_fault")}


def timing_evidence(obs) -> dict:  # noqa: ANN001
    """The nodes' last diagnostics that say whether an episode ran in real time.

    A fall on a shared CPU can be the simulator falling behind or the node stalling, not the
    policy: each episode's record carries the evidence.
    """
    return {f"{name}.{k}": obs.diagnostics.get(name, {}).get(k)
            for name, keys in TIMING_KEYS.items() for k in keys}


def main(argv: list[str] | None = None) -> int:
    """Run the episodes; print and write the gate JSON; exit 0 on pass, 3 on fail."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=wg.EPISODES)
    ap.add_argument("--episode-s", type=float, default=wg.EPISODE_S)
    ap.add_argument("--model", default=None)
    ap.add_argument("--world", default="flat", type=world_spec,
                    help="terrain ahead of the robot (athena_sim.worlds): "
                         + ", ".join(worlds.WORLDS) + ", optionally @D (difficulty 0-1)")
    ap.add_argument("--levels", action="store_true",
                    help="spread the episodes over the 10 levels of the world's family")
    ap.add_argument("--protocol", default="walking", choices=tuple(wg.PROTOCOLS),
                    help="the gate's conditions and thresholds (athena_description.walking_gate)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="benchmarks/results/mujoco_gate.json")
    ap.add_argument("--node-param", action="append", default=[], metavar="NAME=VALUE",
                    help="override a policy_node parameter (repeatable), e.g. loop_mode=thread")
    a = ap.parse_args(argv)
    if a.levels and (a.world == "flat" or "@" in a.world):
        ap.error("--levels takes a terrain world's name (it sets the difficulty itself)")
    node_params = dict(kv.split("=", 1) for kv in a.node_param)
    model = resolve_model(a.model)
    proto = wg.PROTOCOLS[a.protocol]
    rng = np.random.default_rng(a.seed)
    episodes = []
    for i in range(a.episodes):
        ep = sample_episode(rng, None if a.world == "flat" else wg.TERRAIN_COMMAND_RANGES,
                            proto)
        world = a.world
        if a.levels:
            ep["level"], ep["difficulty"] = episode_difficulty(i, ep["seed"])
            world = f"{a.world}@{ep['difficulty']:.4f}"
        sim = {"friction_scale": ep["friction_scale"], "mass_scale": ep["mass_scale"],
               "push_period_s": proto.push_period_s, "push_speed": proto.push_speed,
               "payload_kg": ep.get("payload_kg", 0.0),
               "motor_strength": ep.get("motor_strength", 1.0),
               "seed": ep["seed"], "world": world}
        t0 = time.monotonic()
        obs = run_nodes(sim_nodes(model, sim, ep["cmd"], node_params),
                        a.episode_s + WARMUP_S)
        m = score(obs, ep["cmd"], world=world)
        m.update(ep, episode=i, wall_s=round(time.monotonic() - t0, 1),
                 timing=timing_evidence(obs))
        episodes.append(m)
        print(json.dumps({k: m[k] for k in ("episode", "cmd", "fell", "lin_vel_error",
                                            "yaw_rate_error", "duration_s", "wall_s",
                                            "timing")}),
              flush=True)
    result = wg.summarize_episodes(episodes, proto)
    if a.levels:
        result["by_level"] = falls_by_level(episodes)
    result.update(policy=model, simulator="mujoco-ros", world=a.world, levels=a.levels,
                  episode_s=a.episode_s,
                  node_params=node_params,
                  created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  per_episode=episodes)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "per_episode"}, indent=2))
    return 0 if result["passed"] else 3


if __name__ == "__main__":
    raise SystemExit(main())
