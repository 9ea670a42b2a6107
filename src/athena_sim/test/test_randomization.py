"""The sim's payload and motor-strength randomization (robustness gate), in real MuJoCo."""

import mujoco
import numpy as np
import pytest
from athena_description.robot_contract import load_robot_contract
from athena_sim.sim_node import PAYLOAD_BODY, MotorCommands, contract_indices, load_model


def _torso(model: mujoco.MjModel) -> int:
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, PAYLOAD_BODY)


def test_payload_adds_to_the_scaled_torso_mass() -> None:
    m0, _ = load_model()
    m1, _ = load_model(mass_scale=0.9, payload_kg=2.5)
    b = _torso(m0)
    assert m1.body_mass[b] == pytest.approx(0.9 * m0.body_mass[b] + 2.5)
    others = np.arange(1, m0.nbody) != b
    assert np.allclose(m1.body_mass[1:][others], 0.9 * m0.body_mass[1:][others])
    with pytest.raises(ValueError, match="payload_kg"):
        load_model(payload_kg=-1.0)


@pytest.mark.parametrize("strength", [1.0, 0.8])
def test_weaker_motors_scale_gains_and_saturate_lower(strength: float) -> None:
    """kp, kd and the effort limit all x strength: a far target saturates at strength x effort."""
    robot = load_robot_contract()
    model, data = load_model()
    _, vadr, act = contract_indices(model, robot.joint_names)
    effort = robot.effort_limits
    motors = MotorCommands(model, act, vadr, effort, strength)
    n = robot.num_joints
    far = np.where(robot.default_positions > 0, -1.0, 1.0) * 10.0   # clipped to the range
    motors.apply(data, far, np.zeros(n), 10 * robot.stiffness, robot.damping, np.zeros(n))
    assert np.allclose(model.actuator_gainprm[act, 0], strength * 10 * robot.stiffness)
    assert np.allclose(-model.actuator_biasprm[act, 2], strength * robot.damping)
    mujoco.mj_forward(model, data)
    force = np.abs(data.actuator_force[act])
    assert (force <= strength * effort + 1e-6).all()
    assert np.isclose(force, strength * effort, rtol=1e-3).sum() >= n // 2   # saturated
    with pytest.raises(ValueError, match="motor strength"):
        MotorCommands(model, act, vadr, effort, 0.0)
