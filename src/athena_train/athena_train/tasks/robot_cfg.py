"""athena as an Isaac Lab articulation, built from the robot contract and the committed USD."""

from __future__ import annotations

import isaaclab.sim as sim_utils
from athena_description.robot_contract import load_robot_contract
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg

from athena_description import paths


def _per_joint(values: list[float]) -> dict[str, float]:
    """{joint name: value} in contract order (exact names, no regex surprises)."""
    return dict(zip(load_robot_contract().joint_names, values))


def athena_articulation_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """Articulation config: default pose, PD gains, armature and limits from the contract.

    One implicit-PD actuator group covers all 23 joints (the simulator runs the PD law at
    the physics rate, as the node's robot does). The base spawns a little above its standing
    height so the feet settle onto the ground.
    """
    robot = load_robot_contract()
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(
            usd_path=str(paths.usd_path()),
            activate_contact_sensors=True,
        ),
        init_state=ArticulationCfg.InitialStateCfg(
            pos=(0.0, 0.0, robot.standing_base_height + 0.03),
            joint_pos=_per_joint(robot.default_positions.tolist()),
            joint_vel={".*": 0.0},
        ),
        soft_joint_pos_limit_factor=0.95,
        actuators={
            "joints": ImplicitActuatorCfg(
                joint_names_expr=robot.joint_names,
                stiffness=_per_joint(robot.stiffness.tolist()),
                damping=_per_joint(robot.damping.tolist()),
                armature=_per_joint(robot.armature.tolist()),
                effort_limit_sim=_per_joint(robot.effort_limits.tolist()),
                velocity_limit_sim=_per_joint(robot.velocity_limits.tolist()),
            )
        },
    )
