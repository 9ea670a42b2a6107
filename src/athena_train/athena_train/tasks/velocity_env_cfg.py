"""athena velocity tracking: Isaac Lab's velocity task with the athena contracts.

Subclasses ``isaaclab_tasks.core.velocity``'s env config and replaces what the contracts
own: the robot, the actor observation (read from the policy contract), the action
law, command ranges, rates, body names; and local assets only (no cloud downloads).
"""

from __future__ import annotations

import math
from pathlib import Path

from athena_description.policy_contract import PolicyContract, default_policy_contract
from athena_description.robot_contract import load_robot_contract
from isaaclab.envs import mdp
from isaaclab.managers import CurriculumTermCfg, SceneEntityCfg
from isaaclab.managers import EventTermCfg as EventTerm
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.sensors import RayCasterCfg, patterns
from isaaclab.utils import configclass
from isaaclab.utils.noise import UniformNoiseCfg as Unoise
from isaaclab_tasks.core.velocity import mdp as vel_mdp
from isaaclab_tasks.core.velocity.velocity_env_cfg import (
    LocomotionVelocityRoughEnvCfg,
    RewardsCfg,
)

from athena_description import walking_gate as wg
from athena_train.tasks import mdp as athena_mdp
from athena_train.tasks.physics import hand_decimation_to_physics, physics_cfg
from athena_train.tasks.robot_cfg import athena_articulation_cfg
from athena_train.tasks.terrains import rough_terrains_cfg

GROUND_USD = Path(__file__).resolve().parents[2] / "config" / "ground.usda"
FEET = ".*_ankle_roll_link"
FOOT_LINKS = ["left_ankle_roll_link", "right_ankle_roll_link"]  # one order for sensor and asset
LEG_JOINTS = (".*_hip_.*", ".*_knee_joint", ".*_ankle_.*")


def _ground_usd() -> str:
    """The local ground plane (installed share/ copy, or the source tree's)."""
    try:
        from ament_index_python.packages import get_package_share_directory

        p = Path(get_package_share_directory("athena_train")) / "config" / "ground.usda"
        if p.exists():
            return str(p)
    except Exception:  # noqa: BLE001 - no ament index: use the source tree
        pass
    return str(GROUND_USD)


def contract_observation_group(noise: bool, history: bool = True,
                               contract: PolicyContract | None = None) -> ObsGroup:
    """An observation group with exactly the policy contract's terms, in its order.

    obs[slice] = clip(scale × term): Isaac Lab applies ``scale`` and then ``clip`` per term.
    Noise (if on) is added before scaling, as Isaac Lab does, to the sensor-like terms.
    ``history``: each term keeps the contract's number of frames (Isaac Lab's per-term
    ``history_length``, flattened oldest first, refilled with the first frame after a reset,
    as the node's ObservationBuilder does); False: the current frame only (the critic).
    ``contract``: another model's policy contract (to evaluate it); default: the workspace's.
    """
    pc = contract or default_policy_contract()
    names = load_robot_contract().joint_names
    noise_of = {"base_ang_vel": 0.2, "projected_gravity": 0.05, "joint_pos_rel": 0.01,
                "joint_vel": 1.5}

    @configclass
    class ContractObsCfg(ObsGroup):
        """The contract's actor observation."""

        def __post_init__(self) -> None:
            self.enable_corruption = noise
            self.concatenate_terms = True

    group = ContractObsCfg()
    for t in pc.observation:
        joints = [names[i] for i in t.joints]
        asset = SceneEntityCfg("robot", joint_names=joints, preserve_order=True)
        func, params = {
            "base_ang_vel": (mdp.base_ang_vel, {}),
            "projected_gravity": (mdp.projected_gravity, {}),
            "velocity_command": (mdp.generated_commands, {"command_name": "base_velocity"}),
            "gait_phase": (athena_mdp.gait_phase, {"period": pc.rates.gait_period}),
            "joint_pos_rel": (mdp.joint_pos_rel, {"asset_cfg": asset}),
            "joint_vel": (mdp.joint_vel_rel, {"asset_cfg": asset}),
            "last_action": (athena_mdp.clipped_last_action,
                            {"action_name": "joint_pos", "joint_ids": list(t.joints),
                             "action_clip": pc.action_clip}),
        }[t.name]
        n = noise_of.get(t.name)
        frames = t.history if history and t.history > 1 else 0  # 0: Isaac Lab's "no history"
        setattr(group, t.name, ObsTerm(
            func=func, params=params, scale=t.scale, clip=(-t.clip, t.clip),
            noise=Unoise(n_min=-n, n_max=n) if n else None, history_length=frames,
            flatten_history_dim=True))
    return group


@configclass
class ObservationsCfg:
    """Actor: the contract's observation. Critic: its current frame without noise, privileged state.

    The critic needs no history: it sees the state the history would let the actor infer
    (base velocity and height; on rough ground the terrain).
    """

    policy: ObsGroup = None
    critic: ObsGroup = None

    def __post_init__(self) -> None:
        self.policy = contract_observation_group(noise=True)
        critic = contract_observation_group(noise=False, history=False)
        critic.base_lin_vel = ObsTerm(func=mdp.base_lin_vel)
        critic.base_height = ObsTerm(func=mdp.base_pos_z)
        critic.all_joint_pos = ObsTerm(func=mdp.joint_pos_rel)
        critic.all_joint_vel = ObsTerm(func=mdp.joint_vel_rel, scale=0.05)
        self.critic = critic


@configclass
class ActionsCfg:
    """23 joint-position actions with the contract's scale, clip and default offset."""

    joint_pos = athena_mdp.ContractJointPositionActionCfg(
        asset_name="robot", joint_names=load_robot_contract().joint_names, preserve_order=True,
        scale=default_policy_contract().action_scale, use_default_offset=True,
        action_clip=default_policy_contract().action_clip, max_delay_steps=0)


@configclass
class AthenaRewards(RewardsCfg):
    """Velocity tracking plus a natural, efficient gait (G1-style humanoid terms)."""

    termination_penalty = RewTerm(func=mdp.is_terminated, weight=-200.0)
    # tracked at every physics substep, in the body frame, as the walking gate measures it
    track_lin_vel_xy_exp = RewTerm(func=athena_mdp.track_lin_vel_xy_substep_exp, weight=1.0,
                                   params={"command_name": "base_velocity", "std": 0.5})
    track_ang_vel_z_exp = RewTerm(func=athena_mdp.track_ang_vel_z_substep_exp, weight=1.0,
                                  params={"command_name": "base_velocity", "std": 0.5})
    feet_air_time = RewTerm(
        func=vel_mdp.feet_air_time_positive_biped, weight=0.75,
        params={"command_name": "base_velocity", "threshold": 0.4,
                "sensor_cfg": SceneEntityCfg("contact_forces", body_names=FEET)})
    feet_slide = RewTerm(
        func=vel_mdp.feet_slide, weight=-0.1,
        params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=FEET),
                "asset_cfg": SceneEntityCfg("robot", body_names=FEET)})
    dof_pos_limits = RewTerm(
        func=mdp.joint_pos_limits, weight=-1.0,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=".*_ankle_.*")})
    joint_deviation_hip = RewTerm(
        func=mdp.joint_deviation_l1, weight=-0.1,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=[".*_hip_yaw_joint",
                                                                  ".*_hip_roll_joint"])})
    joint_deviation_upper = RewTerm(
        func=mdp.joint_deviation_l1, weight=-0.1,
        params={"asset_cfg": SceneEntityCfg("robot", joint_names=["waist_yaw_joint",
                                                                  ".*_shoulder_.*", ".*_elbow_.*",
                                                                  ".*_wrist_.*"])})


@configclass
class DomainRandomizationCfg:
    """Switches and scales for every randomization (1.0 = the nominal ranges below)."""

    masses: bool = True
    mass_range: tuple[float, float] = (0.8, 1.2)
    friction: bool = True
    friction_range: tuple[float, float] = (0.5, 1.5)
    base_com: bool = True
    base_com_m: float = 0.05
    motor_strength: bool = True
    motor_strength_range: tuple[float, float] = (0.9, 1.1)
    pushes: bool = True
    push_velocity: float = 0.5
    push_interval_s: tuple[float, float] = (5.0, 10.0)
    # "box": each horizontal axis drawn from ±push_velocity (Isaac Lab's, the training's);
    # "speed": exactly push_velocity in a random direction (the gates', as in MuJoCo)
    push_law: str = "box"
    obs_noise: bool = True
    latency: bool = True
    max_latency_policy_steps: int = 2
    # a payload on the upper body (kg added to payload_body's mass); off on flat ground
    payload: bool = False
    payload_kg: tuple[float, float] = (0.0, 3.0)
    payload_body: str = "torso_link"


@configclass
class AthenaFlatEnvCfg(LocomotionVelocityRoughEnvCfg):
    """Athena-Velocity-Flat-v0: flat ground, the contracts, full domain randomization."""

    rewards: AthenaRewards = AthenaRewards()
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    randomization: DomainRandomizationCfg = DomainRandomizationCfg()
    physics_preset: str = "newton"
    # the physics runs the policy step's substeps in one call (one CUDA graph on a GPU):
    # tasks.physics.hand_decimation_to_physics (issue 16; off until measured)
    decimation_in_physics: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        robot, pc = load_robot_contract(), default_policy_contract()
        # rates from the contract
        self.decimation = pc.rates.decimation
        self.sim.dt = pc.rates.physics_dt
        self.sim.render_interval = self.decimation
        self.sim.physics = physics_cfg(self.physics_preset, self.sim.device)
        self.episode_length_s = 20.0
        # scene: athena and a local ground; nothing downloaded
        self.scene.robot = athena_articulation_cfg()
        self.scene.env_spacing = 2.5
        # 32768 worlds with 6 steps each per iteration (the agent's num_steps_per_env), the
        # batch of 16384 x 12 and 8192 x 24: per-step fixed costs (launches, the reset's
        # selection, rsl-rl's act) are shared by twice the worlds, so collection runs at 0.52
        # of the physics-only ceiling (0.45-0.46 at 16384) and an iteration takes 0.39-0.42
        # instead of 0.47 s on an H100; two seeds passed the gate at iteration 250 (16384 x 12:
        # 275 with symmetry), 223 s from an empty kernel cache (flat32k6, flat32k6s43,
        # docs/profiling.md). 6.4 GiB of GPU memory; --num_envs for a smaller GPU.
        self.scene.num_envs = 32768
        self.scene.terrain.terrain_type = "usd"
        self.scene.terrain.usd_path = _ground_usd()
        self.scene.terrain.terrain_generator = None
        self.scene.terrain.visual_material = None
        self.scene.sky_light = None
        self.scene.height_scanner = None
        # converters nest bodies (pelvis/…/foot): the sensor must match them recursively
        self.scene.contact_forces.prim_path = "{ENV_REGEX_NS}/Robot/.*"
        self.scene.contact_forces.update_period = self.sim.dt
        self.curriculum.terrain_levels = None
        # commands: the contract's ranges, no heading controller (the node gets yaw rate)
        cmd = self.commands.base_velocity
        cmd.debug_vis = False
        cmd.heading_command = False
        cmd.rel_heading_envs = 0.0
        cmd.rel_standing_envs = 0.05
        cmd.resampling_time_range = (5.0, 10.0)
        r = pc.command_ranges
        cmd.ranges.lin_vel_x, cmd.ranges.lin_vel_y = r["lin_vel_x"], r["lin_vel_y"]
        cmd.ranges.ang_vel_z, cmd.ranges.heading = r["ang_vel_z"], (-math.pi, math.pi)
        # rewards: G1-flat weights
        self.rewards.lin_vel_z_l2.weight = -0.2
        self.rewards.undesired_contacts = None
        self.rewards.flat_orientation_l2.weight = -1.0
        # G1-flat's -0.005 left 0.1 rad target jumps on knees and ankles every policy step
        self.rewards.action_rate_l2.weight = -0.01
        self.rewards.dof_acc_l2.weight = -1.0e-7
        self.rewards.dof_acc_l2.params["asset_cfg"] = SceneEntityCfg(
            "robot", joint_names=[".*_hip_.*", ".*_knee_joint"])
        self.rewards.dof_torques_l2.weight = -2.0e-6
        self.rewards.dof_torques_l2.params["asset_cfg"] = SceneEntityCfg(
            "robot", joint_names=list(LEG_JOINTS))
        # terminations: contact of the contract's links, bad orientation, timeout
        self.terminations.base_contact.params["sensor_cfg"].body_names = list(
            robot.termination_contact_links)
        self.terminations.bad_orientation = DoneTerm(func=mdp.bad_orientation,
                                                     params={"limit_angle": 1.0})
        self.events.reset_robot_joints.params["position_range"] = (1.0, 1.0)
        # reads cfg.decimation_in_physics when the env starts (so it may be set after this)
        self.events.decimation_in_physics = EventTerm(func=hand_decimation_to_physics,
                                                      mode="startup")
        self.events.reset_base.params["velocity_range"] = {
            k: (-0.2, 0.2) for k in ("x", "y", "z", "roll", "pitch", "yaw")}
        self.apply_randomization()

    def apply_randomization(self) -> None:
        """Turn the event terms on/off and scale them from ``self.randomization``."""
        dr, robot = self.randomization, load_robot_contract()
        ev = self.events
        ev.base_external_force_torque = None
        ev.physics_material.params.update(
            asset_cfg=SceneEntityCfg("robot", body_names=".*"),
            static_friction_range=dr.friction_range, dynamic_friction_range=dr.friction_range)
        if not dr.friction:
            ev.physics_material = None
        ev.add_base_mass = EventTerm(
            func=mdp.randomize_rigid_body_mass, mode="startup",
            params={"asset_cfg": SceneEntityCfg("robot", body_names=".*"),
                    "mass_distribution_params": dr.mass_range, "operation": "scale"},
        ) if dr.masses else None
        c = dr.base_com_m
        ev.base_com = EventTerm(
            func=mdp.randomize_rigid_body_com, mode="startup",
            params={"asset_cfg": SceneEntityCfg("robot", body_names=robot.base_link),
                    "com_range": {"x": (-c, c), "y": (-c, c), "z": (-c, c)}},
        ) if dr.base_com else None
        ev.motor_strength = EventTerm(
            func=athena_mdp.randomize_motor_strength, mode="startup",
            params={"asset_cfg": SceneEntityCfg("robot"),
                    "strength_range": dr.motor_strength_range},
        ) if dr.motor_strength else None
        # applied after add_base_mass (event order): the payload adds to the scaled mass
        ev.payload = EventTerm(
            func=mdp.randomize_rigid_body_mass, mode="startup",
            params={"asset_cfg": SceneEntityCfg("robot", body_names=dr.payload_body),
                    "mass_distribution_params": dr.payload_kg, "operation": "add"},
        ) if dr.payload else None
        v = dr.push_velocity
        if dr.push_law not in ("box", "speed"):
            raise ValueError(f"push_law must be 'box' or 'speed', got {dr.push_law!r}")
        push, push_params = ((athena_mdp.push_by_speed, {"speed": v}) if dr.push_law == "speed"
                             else (mdp.push_by_setting_velocity,
                                   {"velocity_range": {"x": (-v, v), "y": (-v, v)}}))
        ev.push_robot = EventTerm(func=push, mode="interval", interval_range_s=dr.push_interval_s,
                                  params=push_params) if dr.pushes else None
        self.observations.policy.enable_corruption = dr.obs_noise
        self.actions.joint_pos.max_delay_steps = dr.max_latency_policy_steps if dr.latency else 0


@configclass
class AthenaFlatEnvCfg_PLAY(AthenaFlatEnvCfg):  # noqa: N801 - Isaac Lab's naming
    """Play: fewer envs, no noise or pushes."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.num_envs = 32
        self.randomization.pushes = False
        self.randomization.obs_noise = False
        self.apply_randomization()


@configclass
class RoughRandomizationCfg(DomainRandomizationCfg):
    """Stronger randomization for rough terrain (the flat task keeps DomainRandomizationCfg)."""

    friction_range: tuple[float, float] = (0.3, 1.5)
    motor_strength_range: tuple[float, float] = (0.8, 1.2)
    push_velocity: float = 1.0
    push_interval_s: tuple[float, float] = (3.0, 6.0)
    payload: bool = True


# the critic's height map: 1.6 m x 1.0 m around the pelvis, 0.1 m apart (17 x 11 = 187 rays),
# Isaac Lab's rough-terrain grid; heights relative to the pelvis minus 0.5 m, clipped to ±1 m
HEIGHT_SCAN_SIZE_M = (1.6, 1.0)
HEIGHT_SCAN_RESOLUTION_M = 0.1


def critic_height_scan(update_period_s: float) -> tuple[RayCasterCfg, ObsTerm]:
    """A yaw-aligned ray-cast grid on the pelvis and the critic term that reads it.

    Privileged (critic only): the policy contract stays blind (proprioception only). Rays start 20 m
    above the pelvis and hit the generated terrain mesh (``/World/ground``) only, once per
    policy step.
    """
    sensor = RayCasterCfg(
        # the USD converter (athena_train.make_usd) puts the link tree under Geometry/
        prim_path="{ENV_REGEX_NS}/Robot/Geometry/" + load_robot_contract().base_link,
        offset=RayCasterCfg.OffsetCfg(pos=(0.0, 0.0, 20.0)),
        ray_alignment="yaw",
        pattern_cfg=patterns.GridPatternCfg(resolution=HEIGHT_SCAN_RESOLUTION_M,
                                            size=list(HEIGHT_SCAN_SIZE_M)),
        mesh_prim_paths=["/World/ground"],
        update_period=update_period_s,
        debug_vis=False,
    )
    term = ObsTerm(func=mdp.height_scan, params={"sensor_cfg": SceneEntityCfg("height_scanner")},
                   clip=(-1.0, 1.0))
    return sensor, term


@configclass
class AthenaRoughEnvCfg(AthenaFlatEnvCfg):
    """Athena-Velocity-Rough-v0: a terrain curriculum, stronger randomization, the same policy.

    Blind actor: it gets the contract's observation, as on flat ground (athena has no terrain
    sensor). The critic sees the flat task's privileged state and the terrain under and ahead
    of the robot (:func:`critic_height_scan`): the value of a state on stairs depends on the
    stairs, and a critic without them gave the actor advantages it could not tell from noise
    (rough1 and rough2: the action std rose from 0.5 to 1.0, tracking stayed at 0.34 m/s).
    Terrain: :mod:`athena_train.tasks.terrains` (stairs up
    and down, boxes, random rough, slopes up and down; 10 levels), robots promoted when they
    end an episode upright and tracking the command, demoted when they fall or do not track
    (:func:`athena_train.tasks.mdp.terrain_levels_tracking`, from rough6 on; rough1-rough5
    used Isaac Lab's distance rule, ``terrain_levels_vel``). Physics: the
    ``newton_rough`` preset (Newton's collision pipeline: a triangle mesh collides as a mesh,
    not as its convex hull). Rewards and terminations: the flat task's, except that only the
    robot contract's ``fall_contact_links`` (pelvis, torso) end an episode and a knee touching
    costs a penalty (from rough5 on; rough1-rough4 ended episodes on knee contact too); with a
    zero command the legs' distance from the default pose costs a penalty, and so does a
    step whose swing foot stayed below the tallest riser (both from rough6 on).
    """

    randomization: DomainRandomizationCfg = RoughRandomizationCfg()
    physics_preset: str = "newton_rough"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.terrain.terrain_type = "generator"
        self.scene.terrain.usd_path = None
        self.scene.terrain.terrain_generator = rough_terrains_cfg()
        self.scene.terrain.max_init_terrain_level = 2
        # promoted when a robot stays up and tracks, demoted when it falls or does not
        # (rough1-rough5: Isaac Lab's distance rule, athena_mdp.terrain_levels_tracking says why)
        self.curriculum.terrain_levels = CurriculumTermCfg(func=athena_mdp.terrain_levels_tracking)
        # A knee on a stair's edge is a stumble, not a fall: only the pelvis and torso end an
        # episode here, the knees cost a penalty while they touch. With the knees ending it,
        # about half of rough3's knee-on-stair endings were robots that had not fallen
        # (docs/training.md, rough3).
        robot = load_robot_contract()
        knees = [b for b in robot.termination_contact_links if b not in robot.fall_contact_links]
        self.terminations.base_contact.params["sensor_cfg"].body_names = list(
            robot.fall_contact_links)
        self.rewards.undesired_contacts = RewTerm(
            func=mdp.undesired_contacts, weight=-1.0,
            params={"sensor_cfg": SceneEntityCfg("contact_forces", body_names=knees),
                    "threshold": 1.0})
        # a zero command means stand: leg joints away from the default pose cost 1.0 per rad
        # and second. rough5, without it, stepped in place and drifted up to 0.92 m in 20 s
        # under the stand protocol (rough4: 0.094 m); rough6, at Isaac Lab's Digit rough
        # weight of 0.4 and 5 % standing robots, still drifted up to 0.61 m. From rough7 on:
        # 1.0, and 10 % of the commands are a zero command
        self.commands.base_velocity.rel_standing_envs = 0.1
        self.rewards.stand_still = RewTerm(
            func=athena_mdp.stand_still_joint_deviation_l1, weight=-1.0,
            params={"command_name": "base_velocity",
                    "asset_cfg": SceneEntityCfg("robot", joint_names=list(LEG_JOINTS))})
        # a swing foot should rise above the tallest riser of the curriculum (from rough6 on):
        # rough5's rose 3.4-5.0 cm (median) on flat ground, and 19 of its 22 climbing falls
        # were on 9-12 cm steps (docs/training.md, rough5); 0.1 per touchdown with a foot
        # that stays on the ground, (1 - apex / 0.12)^2 of it for a lower swing
        self.rewards.swing_apex = RewTerm(
            func=athena_mdp.swing_apex_shortfall, weight=-0.1,
            params={"command_name": "base_velocity", "target_m": wg.STEP_HEIGHT_M[1],
                    "sensor_cfg": SceneEntityCfg("contact_forces", body_names=FOOT_LINKS,
                                                 preserve_order=True),
                    "asset_cfg": SceneEntityCfg("robot", body_names=FOOT_LINKS,
                                                preserve_order=True)})
        self.scene.height_scanner, self.observations.critic.height_scan = critic_height_scan(
            self.decimation * self.sim.dt)
        # 8192 worlds, as on flat ground (env-steps/s nearly double, the step is host-bound)
        self.scene.num_envs = 8192
        self.sim.physics = physics_cfg(self.physics_preset, self.sim.device, self.scene.num_envs)
        self.apply_randomization()

    def apply_randomization(self) -> None:
        """The flat task's terms, and the terrain's friction at the bottom of the range.

        MuJoCo takes the larger friction of the two geoms in contact: with the terrain at
        1.0 no robot would ever see less than 1.0. With the terrain at the range's lower end,
        each robot's own friction, drawn from ``friction_range``, is the contact's.
        """
        super().apply_randomization()
        mat = self.scene.terrain.physics_material
        mu = self.randomization.friction_range[0] if self.randomization.friction else 1.0
        mat.static_friction = mat.dynamic_friction = mu


@configclass
class AthenaRoughEnvCfg_PLAY(AthenaRoughEnvCfg):  # noqa: N801 - Isaac Lab's naming
    """Play on rough terrain."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.scene.num_envs = 32
        self.randomization.pushes = False
        self.randomization.obs_noise = False
        self.apply_randomization()
