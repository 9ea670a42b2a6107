"""Sim-to-sim without ROS: run an exported ONNX policy in MuJoCo (mjcf/scene.xml) directly.

``python benchmarks/time_to_walk/mujoco_direct.py POLICY.onnx [--out JSON]``

Same contract path as the robot: the observation from athena_policy_node's ObservationBuilder,
ONNX Runtime, the contract's action law into the MJCF position actuators, physics_dt and
decimation from the contract. No pushes, nominal friction and masses: it separates physics
transfer (Newton/MuJoCo-Warp → MuJoCo) from the ROS pipeline's timing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime as ort
from athena_description.model_metadata import read_onnx_metadata
from athena_description.robot_contract import load_robot_contract
from athena_policy_node.observation import ObservationBuilder

from athena_description import paths

COMMANDS = [(0.0, 0.0, 0.0), (0.5, 0.0, 0.0), (1.0, 0.0, 0.0), (0.8, 0.2, 0.5),
            (0.6, -0.25, -0.7), (0.3, 0.3, 0.0)]


def episode(model_path: Path, cmd: tuple[float, float, float], seconds: float = 20.0) -> dict:
    """One episode from the default pose; body-frame velocity errors after 1 s."""
    robot, pc = load_robot_contract(), read_onnx_metadata(model_path)
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    m.opt.timestep = pc.rates.physics_dt
    d = mujoco.MjData(m)

    def jid(kind: mujoco.mjtObj, name: str) -> int:
        return mujoco.mj_name2id(m, kind, name)

    qadr = [m.jnt_qposadr[jid(mujoco.mjtObj.mjOBJ_JOINT, n)] for n in robot.joint_names]
    vadr = [m.jnt_dofadr[jid(mujoco.mjtObj.mjOBJ_JOINT, n)] for n in robot.joint_names]
    act = [jid(mujoco.mjtObj.mjOBJ_ACTUATOR, n.removesuffix("_joint")) for n in robot.joint_names]
    d.qpos[2] = robot.standing_base_height + 0.03
    d.qpos[qadr] = robot.default_positions
    d.ctrl[act] = robot.default_positions
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    builder, last = ObservationBuilder(pc), np.zeros(len(robot.joint_names))
    c, lin, yaw, t = np.asarray(cmd), [], [], 0.0
    for k in range(int(seconds / pc.rates.policy_dt)):
        t = k * pc.rates.policy_dt
        w, x, y, z = d.qpos[3:7]
        obs = builder.build(d.qvel[3:6], np.array([x, y, z, w]), c, t, d.qpos[qadr],
                            d.qvel[vadr], np.clip(last, -pc.action_clip, pc.action_clip))
        last = sess.run(["actions"], {"obs": obs[None].astype(np.float32)})[0][0]
        d.ctrl[act] = pc.actions_to_targets(last, robot)
        for _ in range(pc.rates.decimation):
            mujoco.mj_step(m, d)
        if d.qpos[2] < 0.4:
            return {"cmd": list(cmd), "fell": True, "duration_s": t}
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, d.qpos[3:7])
        v = rot.reshape(3, 3).T @ d.qvel[:3]
        if t >= 1.0:
            lin.append(float(np.linalg.norm(v[:2] - c[:2])))
            yaw.append(abs(float(d.qvel[5] - c[2])))
    return {"cmd": list(cmd), "fell": False, "duration_s": t + pc.rates.policy_dt,
            "lin_vel_error": float(np.mean(lin)), "yaw_rate_error": float(np.mean(yaw))}


def main() -> int:
    """Run the command set; print and optionally write JSON."""
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    results = [episode(args.model, cmd) for cmd in COMMANDS]
    for r in results:
        print(json.dumps(r))
    if args.out:
        args.out.write_text(json.dumps({"model": str(args.model), "simulator": "mujoco-direct",
                                        "episodes": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
