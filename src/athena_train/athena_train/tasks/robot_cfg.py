"""athena as an Isaac Lab articulation, built from the robot contract and the committed USD."""

from __future__ import annotations

import isaaclab.sim as sim_utils
from athena_description.robot_contract import load_robot_contract
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg
from isaaclab_newton.sim.schemas import NewtonArticulationCfg
from isaaclab_physx.sim.schemas import PhysxArticulationCfg

from athena_description import paths


def _per_joint(values: list[float]) -> dict[str, float]:
    """{joint name: value} in contract order (exact names, no regex surprises)."""
    return dict(zip(load_robot_contract().joint_names, values))


def athena_articulation_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """Articulation config: default pose, PD gains, armature and limits from the contract.

    One implicit-PD actuator group covers all 23 joints (the simulator runs the PD law at
    the physics rate, as the node's robot does). The base spawns a little above its standing
    height so the feet settle onto the ground.

    No self-collision, as in the MJCF (robot geoms contype 1, conaffinity 0) that the MuJoCo
    sim and the gates run: the USD carries no such setting, and Newton's default collided
    every pair of non-adjacent links (18 robot-robot pairs per world: box-box, cylinder-box,
    ...), which MuJoCo-Warp handles with GJK/EPA kernels that took 99 s of a cold first
    iteration to compile on an H100 and run on every substep (docs/profiling.md). The
    articulation root is the pelvis below the spawned prim, hence the ``/.*`` pattern.
    """
    robot = load_robot_contract()
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(
            usd_path=str(paths.usd_path()),
            activate_contact_sensors=True,
            articulation_props={"/.*": [NewtonArticulationCfg(self_collision_enabled=False),
                                        PhysxArticulationCfg(enabled_self_collisions=False)]},
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
