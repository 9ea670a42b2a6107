"""Physics-only ceiling: MuJoCo-Warp steps/s for athena at N worlds (no Isaac Lab, no policy).

``python benchmarks/time_to_walk/physics_ceiling.py --num_envs 4096 [--out JSON]``

The robot holds its default pose under its PD actuators on the floor of mjcf/scene.xml;
steps are CUDA-graph captured, as Isaac Lab runs them. env-steps/s = physics steps/s /
decimation, the number to compare with training throughput.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src" / "athena_description"))


def main() -> int:
    """Measure and print (and optionally write) the ceiling."""
    import mujoco
    import mujoco_warp as mjw
    import warp as wp
    from athena_description.policy_contract import default_policy_contract
    from athena_description.robot_contract import load_robot_contract

    from athena_description import paths

    ap = argparse.ArgumentParser()
    ap.add_argument("--num_envs", type=int, default=4096)
    ap.add_argument("--steps", type=int, default=200)
    # the flat task's capacities (athena_train/tasks/physics.py newton_cfg)
    ap.add_argument("--nconmax", type=int, default=24)
    ap.add_argument("--njmax", type=int, default=64)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    robot, pc = load_robot_contract(), default_policy_contract()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    m.opt.timestep = pc.rates.physics_dt
    d = mujoco.MjData(m)
    for i, name in enumerate(robot.joint_names):
        adr = m.jnt_qposadr[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)]
        d.qpos[adr] = robot.default_positions[i]
    d.qpos[2] = robot.standing_base_height
    if m.nu:
        d.ctrl[:] = robot.default_positions[: m.nu]
    mujoco.mj_forward(m, d)
    wm = mjw.put_model(m)
    wd = mjw.put_data(m, d, nworld=args.num_envs, nconmax=args.nconmax,
                      njmax=args.njmax)
    mjw.step(wm, wd)  # compile
    with wp.ScopedCapture() as cap:
        for _ in range(10):
            mjw.step(wm, wd)
    wp.capture_launch(cap.graph)
    wp.synchronize()
    reps = max(1, args.steps // 10)
    t0 = time.perf_counter()
    for _ in range(reps):
        wp.capture_launch(cap.graph)
    wp.synchronize()
    dt = time.perf_counter() - t0
    sps = reps * 10 * args.num_envs / dt
    res = {"num_envs": args.num_envs, "physics_steps_per_s": round(sps),
           "env_steps_per_s_at_decimation": round(sps / pc.rates.decimation),
           "decimation": pc.rates.decimation, "physics_dt": pc.rates.physics_dt,
           "nconmax_per_world": args.nconmax, "njmax": args.njmax, "nu": int(m.nu),
           "device": wp.get_device().name}
    print(json.dumps(res))
    if args.out:
        args.out.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
