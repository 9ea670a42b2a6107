"""Holding the default pose with the contract's PD gains, athena stands on flat ground."""

import mujoco
import numpy as np

from athena_description import load_robot_contract, paths


def test_stands_ten_seconds() -> None:
    robot = load_robot_contract()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    d = mujoco.MjData(m)
    mujoco.mj_resetDataKeyframe(m, d, m.key("stand").id)
    d.ctrl[:] = robot.default_positions
    base = m.body(robot.base_link).id
    min_height, max_tilt = np.inf, 0.0
    while d.time < 10.0:
        mujoco.mj_step(m, d)
        q = d.qpos[7:]
        assert np.all(q >= robot.lower_limits - 1e-3) and np.all(q <= robot.upper_limits + 1e-3)
        min_height = min(min_height, d.xpos[base][2])
        up = d.xmat[base].reshape(3, 3)[:, 2]
        max_tilt = max(max_tilt, float(np.arccos(np.clip(up[2], -1, 1))))
    print(f"pelvis height min {min_height:.3f} m, final {d.xpos[base][2]:.3f} m, "
          f"max tilt {np.degrees(max_tilt):.1f} deg")
    assert min_height > 0.70, "pelvis sagged or the robot fell"
    assert max_tilt < np.radians(10)
    assert np.linalg.norm(d.xpos[base][:2]) < 0.1, "robot drifted or slid"
