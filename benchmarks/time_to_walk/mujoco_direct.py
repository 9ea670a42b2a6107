"""Sim-to-sim without ROS: run an exported ONNX policy in MuJoCo (mjcf/scene.xml) directly.

``python benchmarks/time_to_walk/mujoco_direct.py POLICY.onnx [--out JSON]``: six fixed
commands, no pushes, nominal friction and masses.
``python benchmarks/time_to_walk/mujoco_direct.py POLICY.onnx --gate 50 [--out JSON]``: the
walking gate's protocol with the very episodes (commands, friction, mass, push seeds) that
``athena_bringup.evaluate`` runs through the ROS nodes, and the same scoring: the sim node's
model loading and push law, 2 s standing (the node's soft start), scored from 3 s.

Same contract path as the robot: the observation from athena_policy_node's ObservationBuilder,
ONNX Runtime, the contract's action law into the MJCF position actuators, the contract's
policy period. It separates physics transfer (Newton/MuJoCo-Warp → MuJoCo) from the ROS
pipeline's timing.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime as ort
from athena_description.model_metadata import read_onnx_metadata
from athena_description.robot_contract import load_robot_contract
from athena_policy_node.observation import ObservationBuilder
from athena_sim.sim_node import (
    base_linear_velocity_body,
    contract_indices,
    load_model,
    push_base,
)

from athena_description import paths
from athena_description import walking_gate as wg

COMMANDS = [(0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (1.0, 0.0, 0.0), (0.8, 0.2, 0.5),
            (0.6, -0.25, -0.7), (0.3, 0.3, 0.0)]


def episode(model_path: Path, cmd: tuple[float, float, float], seconds: float = 20.0,
            on_obs: Callable[[np.ndarray], None] | None = None) -> dict:
    """One episode from the default pose; body-frame velocity errors after 1 s.

    ``on_obs``, if given, sees every observation the policy gets (the contract's layout).
    ``yaw_rate_mean`` is the signed mean yaw rate after 1 s (rad/s, REP-103: positive turns
    left): with a zero yaw command, how fast the policy's heading wanders off.
    """
    robot, pc = load_robot_contract(), read_onnx_metadata(model_path)
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    m.opt.timestep = pc.rates.physics_dt
    d = mujoco.MjData(m)

    qadr, vadr, act = contract_indices(m, robot.joint_names)
    d.qpos[2] = robot.standing_base_height + 0.03
    d.qpos[qadr] = robot.default_positions
    d.ctrl[act] = robot.default_positions
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    builder, last = ObservationBuilder(pc), np.zeros(len(robot.joint_names))
    c, lin, yaw_rate, t = np.asarray(cmd), [], [], 0.0
    for k in range(int(seconds / pc.rates.policy_dt)):
        t = k * pc.rates.policy_dt
        w, x, y, z = d.qpos[3:7]
        obs = builder.build(d.qvel[3:6], np.array([x, y, z, w]), c, t, d.qpos[qadr],
                            d.qvel[vadr], np.clip(last, -pc.action_clip, pc.action_clip))
        if on_obs is not None:
            on_obs(obs)
        last = sess.run(["actions"], {"obs": obs[None].astype(np.float32)})[0][0]
        d.ctrl[act] = pc.actions_to_targets(last, robot)
        for _ in range(pc.rates.decimation):
            mujoco.mj_step(m, d)
        if d.qpos[2] < 0.4:
            return {"cmd": list(cmd), "fell": True, "duration_s": t}
        v = base_linear_velocity_body(d)
        if t >= 1.0:
            lin.append(float(np.linalg.norm(v[:2] - c[:2])))
            yaw_rate.append(float(d.qvel[5]))
    return {"cmd": list(cmd), "fell": False, "duration_s": t + pc.rates.policy_dt,
            "lin_vel_error": float(np.mean(lin)),
            "yaw_rate_error": float(np.mean(np.abs(np.array(yaw_rate) - c[2]))),
            "yaw_rate_mean": float(np.mean(yaw_rate)),
            "end_xy": [round(float(d.qpos[0]), 3), round(float(d.qpos[1]), 3)]}


def rollout(model_path: Path, m: mujoco.MjModel, d: mujoco.MjData, cmd: np.ndarray,
            seconds: float, rng: np.random.Generator | None = None,
            on_step: Callable[[int], bool] | None = None) -> None:
    """Drive ``d`` with the policy as the ROS pipeline does, at the physics rate of ``m``.

    2 s of standing on the default pose (the node's soft start), then the policy every
    contract period for ``seconds``; with ``rng``, the walking gate's pushes (every
    ``PUSH_PERIOD_S``, ``PUSH_SPEED``). After each physics step ``on_step(k)`` (k = physics
    steps so far, minus one) may return True to stop.
    """
    robot, pc = load_robot_contract(), read_onnx_metadata(model_path)
    rate = 1.0 / m.opt.timestep
    qadr, vadr, act = contract_indices(m, robot.joint_names)
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    builder, last = ObservationBuilder(pc), np.zeros(len(robot.joint_names))
    push_every, per_policy = int(round(wg.PUSH_PERIOD_S * rate)), pc.rates.ticks_per_policy_step
    stand = int(2.0 * rate)
    d.ctrl[act] = robot.default_positions
    for k in range(int(seconds * rate) + stand):
        if k >= stand and (k - stand) % per_policy == 0:
            w, x, y, z = d.qpos[3:7]
            obs = builder.build(d.qvel[3:6], np.array([x, y, z, w]), cmd, (k - stand) / rate,
                                d.qpos[qadr], d.qvel[vadr],
                                np.clip(last, -pc.action_clip, pc.action_clip))
            last = sess.run(["actions"], {"obs": obs[None].astype(np.float32)})[0][0]
            d.ctrl[act] = pc.actions_to_targets(last, robot)
        if rng is not None and k and k % push_every == 0:
            push_base(d, rng, wg.PUSH_SPEED)
        mujoco.mj_step(m, d)
        if on_step is not None and on_step(k):
            break


def gate_episode(model_path: Path, ep: dict, episode_s: float) -> dict:
    """One walking-gate episode as athena_bringup.evaluate runs it, without ROS.

    The sim node's model (500 Hz physics, friction and mass scaled) and push law with its
    seed; 2 s of standing on the default pose (the node's soft start), then the policy every
    contract period; odometry-like samples at every physics step, scored from 3 s like
    sim_demo.score.
    """
    from athena_bringup.session import Observation
    from athena_bringup.sim_demo import FALL_HEIGHT_M, WARMUP_S, score

    rate = read_onnx_metadata(model_path).rates.node_rate_hz
    m, d = load_model(ep["friction_scale"], ep["mass_scale"], 1.0 / rate)
    odom = Observation()  # what the ROS evaluation's observer records, scored the same way

    def record(k: int) -> bool:
        v = base_linear_velocity_body(d)  # every physics step, as the gate defines it
        odom.t.append(k / rate)
        odom.pose.append(tuple(d.qpos[0:3]))
        odom.twist.append((v[0], v[1], d.qvel[5]))
        return bool(d.qpos[2] < FALL_HEIGHT_M)

    rollout(model_path, m, d, np.asarray(ep["cmd"]), episode_s + WARMUP_S - 2.0,
            np.random.default_rng(ep["seed"]), record)
    return score(odom, tuple(ep["cmd"]))


def main() -> int:
    """Run the command set (or the gate's episodes); print and optionally write JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--gate", type=int, default=0, metavar="EPISODES",
                    help="run the walking gate's episodes (seeded as athena_bringup.evaluate)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    if args.gate:
        from athena_bringup.evaluate import sample_episode

        rng, results = np.random.default_rng(args.seed), []
        for i in range(args.gate):
            ep = sample_episode(rng)
            r = gate_episode(args.model, ep, wg.EPISODE_S)
            r.update(ep, episode=i)
            results.append(r)
            print(json.dumps({k: r[k] for k in ("episode", "cmd", "fell", "lin_vel_error",
                                                "yaw_rate_error")}), flush=True)
        summary = wg.summarize_episodes(results)
        summary.update(policy=str(args.model), simulator="mujoco-direct (gate protocol, no ROS)",
                       per_episode=results)
        print(json.dumps({k: v for k, v in summary.items() if k != "per_episode"}, indent=1))
        if args.out:
            args.out.write_text(json.dumps(summary, indent=2) + "\n")
        return 0
    results = [episode(args.model, cmd) for cmd in COMMANDS]
    for r in results:
        print(json.dumps(r))
    if args.out:
        args.out.write_text(json.dumps({"model": str(args.model), "simulator": "mujoco-direct",
                                        "episodes": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
