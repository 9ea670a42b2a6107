"""Holding the default pose with the contract's PD gains, athena stands on flat ground."""

import mujoco
import numpy as np

from athena_description import load_robot_contract, paths


def _tilt(d: mujoco.MjData, body: int) -> float:
    """Angle (rad) between a body's z axis and the world's z axis."""
    up = d.xmat[body].reshape(3, 3)[:, 2]
    return float(np.arccos(np.clip(up[2], -1.0, 1.0)))


def test_stands_ten_seconds(record_property) -> None:
    robot = load_robot_contract()
    m = mujoco.MjModel.from_xml_path(str(paths.mjcf_scene_path()))
    d = mujoco.MjData(m)
    mujoco.mj_resetDataKeyframe(m, d, m.key("stand").id)
    d.ctrl[:] = robot.default_positions
    base, torso = m.body(robot.base_link).id, m.body(robot.torso_link).id
    start_height = float(d.qpos[2])
    min_height, max_tilt = np.inf, 0.0
    while d.time < 10.0:
        mujoco.mj_step(m, d)
        q = d.qpos[7:]
        assert np.all(q >= robot.lower_limits - 1e-3) and np.all(q <= robot.upper_limits + 1e-3), (
            f"joint limit violated at t={d.time:.3f} s")
        min_height = min(min_height, float(d.xpos[base][2]))
        max_tilt = max(max_tilt, _tilt(d, base), _tilt(d, torso))
    figures = {
        "pelvis_height_start_m": start_height,
        "pelvis_height_min_m": min_height,
        "pelvis_height_final_m": float(d.xpos[base][2]),
        "pelvis_height_drift_m": float(d.xpos[base][2]) - start_height,
        "pelvis_xy_drift_m": float(np.linalg.norm(d.xpos[base][:2])),
        "max_tilt_deg": float(np.degrees(max_tilt)),
    }
    for key, value in figures.items():
        record_property(key, round(value, 4))
    print(", ".join(f"{k} {v:.4f}" for k, v in figures.items()))
    assert min_height > 0.70, "pelvis sagged or the robot fell"
    assert max_tilt < np.radians(10), "pelvis or torso not upright"
    assert figures["pelvis_xy_drift_m"] < 0.1, "robot drifted or slid"
