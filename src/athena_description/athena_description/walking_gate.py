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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

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


def summarize_episodes(per_episode: Mapping[str, Sequence] | Sequence[Mapping]) -> dict:
    """Gate metrics and verdict over episodes.

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
    out["checks"] = {
        "no_fall_fraction": out["no_fall_fraction"] >= MIN_NO_FALL_FRACTION,
        "lin_vel_error": mean_lin <= MAX_LIN_VEL_ERROR,
        "yaw_rate_error": mean_yaw <= MAX_YAW_RATE_ERROR,
    }
    out["passed"] = bool(all(out["checks"].values()))
    out["thresholds"] = {"min_no_fall_fraction": MIN_NO_FALL_FRACTION,
                         "max_lin_vel_error": MAX_LIN_VEL_ERROR,
                         "max_yaw_rate_error": MAX_YAW_RATE_ERROR}
    out["definitions"] = DEFINITIONS
    return out
