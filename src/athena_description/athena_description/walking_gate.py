"""The walking gate: metric definitions and thresholds shared by both evaluations.

The Isaac Lab evaluation (``athena_train.evaluate``) and the MuJoCo evaluation through the
ROS node (``athena_bringup.evaluate``) report the same names, computed here. Pure numpy.

Protocol: ``EPISODES`` episodes × ``EPISODE_S`` s; commands sampled uniformly from
``COMMAND_RANGES``; ground friction in ``FRICTION_RANGE``; link masses scaled by
1 ± ``MASS_SCALE``; a ``PUSH_SPEED`` m/s horizontal kick of the base every ~``PUSH_PERIOD_S`` s.

Definitions (per episode, over the time the robot was alive, i.e. before a fall):

- ``lin_vel_error``: mean of ‖v_xy,cmd − v_xy,body‖ (m/s), body-frame (yaw-aligned) velocity.
- ``yaw_rate_error``: mean of |ω_z,cmd − ω_z,body| (rad/s).
- Samples: the base velocity at every phase of the 20 ms policy period, not once per policy
  step (a policy can be on target at the instant it is sampled and wobble in between: flat1
  did, 0.15 rad/s of yaw error at the end of each period, 0.31 averaged over all phases).
  Isaac Lab and the direct MuJoCo rollout sample every physics step; the ROS sim publishes
  odometry every 7th of its 10 ticks per period, which walks through every phase.
- Samples within ``SETTLE_S`` s after a command change are excluded (the robot needs time
  to accelerate); samples within ``SETTLE_S`` after a push are kept (recovery counts).
- ``fell``: the episode ended before its time limit (base too low / torso tilted).
- ``duration_s``: time alive.

Gate verdict over episodes: ``no_fall_fraction`` ≥ ``MIN_NO_FALL_FRACTION`` and the mean over
episodes of ``lin_vel_error`` ≤ ``MAX_LIN_VEL_ERROR`` and of ``yaw_rate_error`` ≤
``MAX_YAW_RATE_ERROR``.

Protocols (:class:`Protocol`), one for each gate, read by both simulators' evaluations:
:data:`WALKING` (the above, flat ground), :data:`STAND` (a zero command on flat ground, no
pushes: every episode ends within 0.1 m of where it started, ``displacement``) and
:data:`ROBUSTNESS` (issue 17: per terrain family,
straight-ahead commands, 1.0 m/s pushes every ~4 s, friction 0.3-1.5, masses ±10 %, a 0-3 kg
payload on the torso, motors at 80-100 % strength; pass per family = ≥ 95 % without a fall and
a mean ``lin_vel_error`` ≤ 0.25 m/s; the robustness gate passes when every family does and
the flat walking gate passes too, :func:`robustness_verdict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

EPISODES = 50
EPISODE_S = 20.0
COMMAND_RANGES = {"lin_vel_x": (0.0, 1.0), "lin_vel_y": (-0.3, 0.3), "ang_vel_z": (-0.8, 0.8)}
# On the MuJoCo sim's terrain worlds (a 4 m wide strip ahead of the robot, athena_sim.worlds):
# straight ahead at a walking pace, so that every episode crosses the terrain.
TERRAIN_COMMAND_RANGES = {"lin_vel_x": (0.3, 1.0), "lin_vel_y": (0.0, 0.0),
                          "ang_vel_z": (0.0, 0.0)}
FRICTION_RANGE = (0.5, 1.5)
MASS_SCALE = 0.10
PUSH_SPEED = 0.5
PUSH_PERIOD_S = 5.0
SETTLE_S = 1.0

MIN_NO_FALL_FRACTION = 0.95
MAX_LIN_VEL_ERROR = 0.15
MAX_YAW_RATE_ERROR = 0.2


@dataclass(frozen=True)
class Protocol:
    """One gate's episode conditions and pass thresholds (both simulators read these)."""

    name: str
    command_ranges: Mapping[str, tuple[float, float]]
    friction_range: tuple[float, float]
    mass_scale: float                    # link masses x (1 +- mass_scale)
    push_speed: float                    # m/s, horizontal kick of the base
    push_period_s: float                 # ~ every this many seconds
    payload_kg: tuple[float, float] = (0.0, 0.0)       # added to the torso
    motor_strength: tuple[float, float] = (1.0, 1.0)   # kp, kd and effort limit x this
    min_no_fall_fraction: float = MIN_NO_FALL_FRACTION
    max_lin_vel_error: float = MAX_LIN_VEL_ERROR
    max_yaw_rate_error: float | None = MAX_YAW_RATE_ERROR   # None: reported, not judged
    families: tuple[str, ...] = ("flat",)
    # every episode's displacement (start to end, m) at most this; None: reported, not judged
    max_displacement_m: float | None = None


WALKING = Protocol("walking", COMMAND_RANGES, FRICTION_RANGE, MASS_SCALE, PUSH_SPEED,
                   PUSH_PERIOD_S)
# Terrain families: the MuJoCo sim's worlds (athena_sim.worlds) and, for each, the Isaac Lab
# generator's family of the same ground (athena_train.tasks.terrains, tiles of levels 0-9).
ROBUSTNESS_FAMILIES = {"stairs_up": "pyramid_stairs_inv", "stairs_down": "pyramid_stairs",
                       "slope_up": "hf_pyramid_slope_inv", "slope_down": "hf_pyramid_slope",
                       "rough": "random_rough", "boxes": "boxes"}
# The robustness gate's ground per family, from difficulty 0 (level 0) to 1 (the top of level
# TERRAIN_LEVELS - 1): the training's curriculum generates it (athena_train.tasks.terrains:
# level L spans difficulty L/10 to (L+1)/10, as Isaac Lab's generator draws it) and the MuJoCo
# sim builds it at a difficulty (athena_sim.worlds, ``stairs_up@0.95``).
TERRAIN_LEVELS = 10
STEP_HEIGHT_M = (0.05, 0.12)     # stairs up and down: riser height
STAIR_TREAD_M = 0.30
SLOPE = (0.0, 0.21)              # slopes up and down: rise/run (12 degrees at the top)
ROUGH_M = 0.03                   # random rough: +-3 cm in 1 cm steps on a 0.1 m grid, any level
BOX_M = (0.02, 0.06)             # boxes: 0.45 m cells at +- this
# m of its family's ground a robustness episode meets ahead of its start: 18 treads, a
# storey's flight. Isaac Lab's evaluation tiles hold it (athena_train.terrain_eval,
# EVAL_TILE_M: 16 m, from a stair pyramid's 3 m platform to its 1 m border), the MuJoCo
# worlds build it (athena_sim.worlds, ``NAME@D``); training's 8 m tiles hold 5 treads
TERRAIN_RUN_M = 5.4


def at_difficulty(span: tuple[float, float], difficulty: float) -> float:
    """A family's size at ``difficulty`` (0..1): linear over ``span``, as the generator does."""
    if not 0.0 <= difficulty <= 1.0:
        raise ValueError(f"difficulty must be in [0, 1], got {difficulty}")
    return span[0] + difficulty * (span[1] - span[0])


# Straight-ahead commands (a terrain strip or a pyramid is crossed, not circled); yaw error is
# reported but not judged (the command holds no turn). Weaker motors only: stronger ones are
# not the hard case. Pushes at the training's strength, a little more often than its 3-6 s.
ROBUSTNESS = Protocol("robustness", TERRAIN_COMMAND_RANGES, (0.3, 1.5), MASS_SCALE,
                      push_speed=1.0, push_period_s=4.0, payload_kg=(0.0, 3.0),
                      motor_strength=(0.8, 1.0), max_lin_vel_error=0.25,
                      max_yaw_rate_error=None, families=tuple(ROBUSTNESS_FAMILIES))
# Zero command on flat ground (issue 17: flat2 drifted 0.77 m in 20 s): the walking gate's
# friction and masses, no pushes (a push moves any robot), and the robot must stay within
# STAND_MAX_DISPLACEMENT_M of where it started in every episode, and stand still on average.
STAND_MAX_DISPLACEMENT_M = 0.1
STAND = Protocol("stand", {"lin_vel_x": (0.0, 0.0), "lin_vel_y": (0.0, 0.0),
                           "ang_vel_z": (0.0, 0.0)}, FRICTION_RANGE, MASS_SCALE,
                 push_speed=0.0, push_period_s=0.0,
                 max_displacement_m=STAND_MAX_DISPLACEMENT_M)
PROTOCOLS = {p.name: p for p in (WALKING, ROBUSTNESS, STAND)}

DEFINITIONS = (
    "lin_vel_error = mean over alive samples of |v_xy,cmd - v_xy,body| (m/s); "
    "yaw_rate_error = mean of |w_z,cmd - w_z,body| (rad/s); velocities sampled at every "
    "phase of the policy period; samples within "
    f"{SETTLE_S} s after a command change excluded; fell = episode ended before its time limit; "
    f"pass = no_fall_fraction >= {MIN_NO_FALL_FRACTION}, mean lin_vel_error <= "
    f"{MAX_LIN_VEL_ERROR}, mean yaw_rate_error <= {MAX_YAW_RATE_ERROR}"
)


def episode_metrics(t: np.ndarray, cmd: np.ndarray, vel: np.ndarray, fell: bool,
                    position_xy: np.ndarray | None = None,
                    command_change_times: Sequence[float] = (0.0,)) -> dict:
    """Metrics of one episode from sampled time series.

    Args:
        t: (N,) sample times (s), increasing, only while alive.
        cmd: (N, 3) commanded (vx, vy, yaw rate) at each sample.
        vel: (N, 3) measured body-frame (vx, vy, yaw rate) at each sample.
        fell: whether the episode ended in a fall.
        position_xy: optional (N, 2) world positions, for distance and straightness.
        command_change_times: times at which a new command was set (the first is the start).

    Returns:
        dict with ``fell``, ``duration_s``, ``lin_vel_error``, ``yaw_rate_error``,
        ``mean_speed``, ``mean_cmd_speed`` and, with positions, ``distance`` (path length, m),
        ``displacement`` (m) and ``straightness`` (displacement / distance).
    """
    t = np.asarray(t, dtype=float)
    cmd = np.asarray(cmd, dtype=float).reshape(-1, 3)
    vel = np.asarray(vel, dtype=float).reshape(-1, 3)
    if not (len(t) == len(cmd) == len(vel)):
        raise ValueError(f"t, cmd, vel lengths differ: {len(t)}, {len(cmd)}, {len(vel)}")
    out: dict = {"fell": bool(fell),
                 "duration_s": float(t[-1] - t[0]) if len(t) > 1 else 0.0}
    keep = np.ones(len(t), dtype=bool)
    for tc in command_change_times:
        keep &= ~((t >= tc) & (t < tc + SETTLE_S))
    if not keep.any():
        keep = np.ones(len(t), dtype=bool)  # too short to settle: use everything
    if len(t):
        lin = np.linalg.norm(cmd[keep, :2] - vel[keep, :2], axis=1)
        out["lin_vel_error"] = float(lin.mean())
        out["yaw_rate_error"] = float(np.abs(cmd[keep, 2] - vel[keep, 2]).mean())
        out["mean_speed"] = float(np.linalg.norm(vel[:, :2], axis=1).mean())
        out["mean_cmd_speed"] = float(np.linalg.norm(cmd[:, :2], axis=1).mean())
    else:
        out.update(lin_vel_error=float("nan"), yaw_rate_error=float("nan"),
                   mean_speed=0.0, mean_cmd_speed=0.0)
    if position_xy is not None and len(position_xy) > 1:
        p = np.asarray(position_xy, dtype=float).reshape(-1, 2)
        dist = float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())
        disp = float(np.linalg.norm(p[-1] - p[0]))
        out.update(distance=dist, displacement=disp,
                   straightness=disp / dist if dist > 1e-6 else 0.0)
    return out


def summarize_episodes(per_episode: Mapping[str, Sequence] | Sequence[Mapping],
                       protocol: Protocol = WALKING) -> dict:
    """Gate metrics and verdict over episodes, by ``protocol``'s thresholds.

    Accepts either a dict of per-episode arrays (``fell``, ``lin_vel_error``,
    ``yaw_rate_error``, optional ``duration_s``, ``distance``) as the Isaac Lab evaluation
    produces, or a list of :func:`episode_metrics` dicts.
    """
    if not isinstance(per_episode, Mapping):
        eps = list(per_episode)
        keys = set().union(*(e.keys() for e in eps)) if eps else set()
        per_episode = {k: [e.get(k, np.nan) for e in eps] for k in keys}
    fell = np.asarray(per_episode["fell"], dtype=bool)
    if fell.size == 0:
        raise ValueError("no episodes to summarize")
    lin = np.asarray(per_episode["lin_vel_error"], dtype=float)
    yaw = np.asarray(per_episode["yaw_rate_error"], dtype=float)
    fall_rate = float(fell.mean())
    mean_lin = float(np.nanmean(lin))
    mean_yaw = float(np.nanmean(yaw))
    out = {"episodes": int(fell.size), "falls": int(fell.sum()), "fall_rate": fall_rate,
           "no_fall_fraction": 1.0 - fall_rate, "mean_lin_vel_error": mean_lin,
           "mean_yaw_rate_error": mean_yaw}
    for key in ("duration_s", "distance", "straightness", "mean_speed"):
        if key in per_episode:
            out[f"mean_{key}" if not key.startswith("mean_") else key] = float(
                np.nanmean(np.asarray(per_episode[key], dtype=float)))
    p = protocol
    out["checks"] = {
        "no_fall_fraction": out["no_fall_fraction"] >= p.min_no_fall_fraction,
        "lin_vel_error": mean_lin <= p.max_lin_vel_error,
    }
    if p.max_yaw_rate_error is not None:
        out["checks"]["yaw_rate_error"] = mean_yaw <= p.max_yaw_rate_error
    if "displacement" in per_episode:
        disp = np.asarray(per_episode["displacement"], dtype=float)
        out["mean_displacement"] = float(np.nanmean(disp))
        out["max_displacement"] = float(np.nanmax(disp))
    if p.max_displacement_m is not None:
        if "displacement" not in per_episode:
            raise ValueError(f"protocol {p.name} judges displacement: no 'displacement' given")
        out["checks"]["displacement"] = out["max_displacement"] <= p.max_displacement_m
    out["passed"] = bool(all(out["checks"].values()))
    out["protocol"] = p.name
    out["thresholds"] = {"min_no_fall_fraction": p.min_no_fall_fraction,
                         "max_lin_vel_error": p.max_lin_vel_error,
                         "max_yaw_rate_error": p.max_yaw_rate_error,
                         "max_displacement_m": p.max_displacement_m}
    out["definitions"] = DEFINITIONS
    return out


LEVEL_KEYS = ("episodes", "falls", "mean_lin_vel_error", "mean_yaw_rate_error")


def level_summary(per_episode: Mapping[str, Sequence] | Sequence[Mapping]) -> dict:
    """The figures both robustness evaluations report per terrain level (``LEVEL_KEYS``).

    Takes what :func:`summarize_episodes` takes: the episodes of one level.
    """
    return {k: v for k, v in summarize_episodes(per_episode).items() if k in LEVEL_KEYS}


def robustness_verdict(families: Mapping[str, Mapping], flat_gate: Mapping | None) -> dict:
    """The robustness gate's verdict over per-family summaries and the flat gate's.

    Per family: :func:`summarize_episodes` with :data:`ROBUSTNESS`; ``flat_gate``: the flat
    walking gate's summary (None: not run = not passed).

    ``families`` may be keyed by the MuJoCo worlds' names or Isaac Lab's family names
    (:data:`ROBUSTNESS_FAMILIES`); a family of the protocol that is missing fails the gate.
    """
    isaac = {v: k for k, v in ROBUSTNESS_FAMILIES.items()}
    by_world = {isaac.get(k, k): v for k, v in families.items()}
    per = {w: bool(by_world[w]["passed"]) if w in by_world else False
           for w in ROBUSTNESS.families}
    flat_ok = bool(flat_gate and flat_gate.get("passed"))
    return {"families_passed": per, "missing": [w for w in ROBUSTNESS.families
                                                if w not in by_world],
            "flat_walking_gate_passed": flat_ok,
            "passed": all(per.values()) and flat_ok}
