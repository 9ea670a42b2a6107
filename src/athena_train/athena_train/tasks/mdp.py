"""athena's own MDP terms: observations, actions, substep tracking, pushes, curriculum, motors.

Everything the deployed node must reproduce is defined here once, from the policy contract:
gait phase from the episode clock, leg-only slices, ``last_action`` = the raw policy output
clipped to ±action_clip, and targets = default + scale × clip(action) clamped to the limits.

Why substeps: Isaac Lab computes rewards once per policy step, from the state at the end of
the decimation loop. A policy trained on that learned to be on target exactly there and
nowhere else: a fresh joint target every 20 ms kicked the pelvis, whose yaw rate swung by
±0.3 rad/s inside each period (MuJoCo, flat1: yaw error 0.15 rad/s at the sampled phase,
0.31 rad/s averaged over all phases). The robot's IMU and odometry see every phase, so the
tracking rewards and the walking gate use the base velocity at every physics substep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import warp as wp
from athena_description.policy_contract import default_policy_contract
from isaaclab.envs import ManagerBasedEnv, ManagerBasedRLEnv
from isaaclab.envs import mdp as isaac_mdp
from isaaclab.envs.mdp.actions.actions_cfg import JointPositionActionCfg
from isaaclab.envs.mdp.actions.joint_actions import JointPositionAction
from isaaclab.managers import ManagerTermBase, SceneEntityCfg
from isaaclab.utils import configclass

# -- observations ---------------------------------------------------------------------------


def gait_phase(env: ManagerBasedRLEnv, period: float) -> torch.Tensor:
    """(sin 2πφ, cos 2πφ), φ = (t / period) mod 1, t = time since the episode started."""
    t = env.episode_length_buf.to(torch.float32) * env.step_dt
    phi = torch.remainder(t / period, 1.0)
    return torch.stack((torch.sin(2 * math.pi * phi), torch.cos(2 * math.pi * phi)), dim=-1)


_INDEX_CACHE: dict[tuple[str, tuple[int, ...]], torch.Tensor] = {}


def _device_index(joint_ids: Sequence[int], device: torch.device) -> torch.Tensor:
    """``joint_ids`` as a long tensor on ``device``, built once.

    Indexing with a Python list copies the list to the GPU at every call (a host→device copy
    and a sync per env step and term); a cached index tensor does neither.
    """
    key = (str(device), tuple(joint_ids))
    if key not in _INDEX_CACHE:
        _INDEX_CACHE[key] = torch.as_tensor(key[1], dtype=torch.long, device=device)
    return _INDEX_CACHE[key]


def clipped_last_action(env: ManagerBasedEnv, action_name: str, joint_ids: Sequence[int],
                        action_clip: float) -> torch.Tensor:
    """The policy's previous raw output for ``joint_ids``, clipped to ±action_clip."""
    raw = env.action_manager.get_term(action_name).raw_actions
    return raw.index_select(1, _device_index(joint_ids, raw.device)).clamp(-action_clip,
                                                                           action_clip)


# -- actions --------------------------------------------------------------------------------


class ContractJointPositionAction(JointPositionAction):
    """The contract's action law, plus an optional actuation latency.

    target = default + scale × clip(action, ±action_clip), clamped to the joint limits. With
    ``max_delay_steps`` > 0 each environment applies the target of ``d`` policy steps ago,
    ``d`` drawn uniformly from 0..max_delay_steps at every reset (domain randomization).
    """

    cfg: ContractJointPositionActionCfg

    def __init__(self, cfg: ContractJointPositionActionCfg, env: ManagerBasedEnv) -> None:
        """Build the term; the limits come from the simulated articulation."""
        super().__init__(cfg, env)
        limits = self._asset.data.joint_pos_limits.torch[:, self._joint_ids]
        self._lower, self._upper = limits[..., 0].clone(), limits[..., 1].clone()
        n = cfg.max_delay_steps + 1
        self._history = self._offset.unsqueeze(0).repeat(n, 1, 1).clone() \
            if torch.is_tensor(self._offset) else torch.zeros(n, self.num_envs, self.action_dim,
                                                              device=self.device)
        self._delay = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._env_idx = torch.arange(self.num_envs, device=self.device)
        # body-frame (vx, vy, wz) of the base before each physics substep of this policy step,
        # recorded by the physics itself (SubstepVelocityRecorder)
        self._recorder = SubstepVelocityRecorder(self._asset, env.cfg.decimation,
                                                 env.sim.physics_manager)

    def process_actions(self, actions: torch.Tensor) -> None:
        """Store the raw action; compute the (possibly delayed) position target."""
        self._raw_actions[:] = actions
        clipped = actions.clamp(-self.cfg.action_clip, self.cfg.action_clip)
        target = torch.maximum(torch.minimum(self._offset + self._scale * clipped, self._upper),
                               self._lower)
        self._history = torch.roll(self._history, 1, dims=0)
        self._history[0] = target
        self._processed_actions = self._history[self._delay, self._env_idx]
        self._recorder.restart()

    def apply_actions(self) -> None:
        """Write the targets; without Newton, record the substep's base velocity here."""
        super().apply_actions()
        if not self._recorder.in_physics:
            self._recorder.record_from(self._asset.data)

    def substep_velocity(self) -> torch.Tensor:
        """(decimation, num_envs, 3) base (vx, vy, wz) recorded during the last policy step."""
        return self._recorder.samples

    def reset(self, env_ids: Sequence[int] | None = None) -> None:
        """Zero the raw action, refill the history with the default pose, redraw the delay."""
        super().reset(env_ids)
        if env_ids is None or isinstance(env_ids, slice):
            env_ids = torch.arange(self.num_envs, device=self.device)
        ids = torch.as_tensor(env_ids, device=self.device, dtype=torch.long)
        default = self._offset if torch.is_tensor(self._offset) else 0.0
        self._history[:, ids] = default[ids] if torch.is_tensor(default) else default
        if self.cfg.max_delay_steps > 0:
            self._delay[ids] = torch.randint(0, self.cfg.max_delay_steps + 1, (len(ids),),
                                             device=self.device)


@wp.kernel
def _record_base_velocity(com_vel_w: wp.array(dtype=wp.spatial_vectorf),
                          pose_w: wp.array(dtype=wp.transformf), slot: wp.array(dtype=wp.int32),
                          out: wp.array2d(dtype=wp.vec3f)) -> None:
    """out[slot, env] = the root's (vx, vy, wz) in its own frame.

    As ``root_lin_vel_b`` / ``root_ang_vel_b`` read it: the centre-of-mass velocity rotated
    into the root link's frame.
    """
    i = wp.tid()
    k = slot[0]
    if k < out.shape[0]:
        q = wp.transform_get_rotation(pose_w[i])
        v = wp.quat_rotate_inv(q, wp.spatial_top(com_vel_w[i]))
        w = wp.quat_rotate_inv(q, wp.spatial_bottom(com_vel_w[i]))
        out[k, i] = wp.vec3f(v[0], v[1], w[2])


@wp.kernel
def _next_slot(slot: wp.array(dtype=wp.int32)) -> None:
    """One sample recorded: the next one goes to the next row."""
    slot[0] = slot[0] + 1


class SubstepVelocityRecorder:
    """The base velocity at the start of every physics substep, recorded inside the physics.

    Newton calls a post-actuator callback once per substep, just before the solver runs (inside
    the captured CUDA graph when the physics runs the whole decimation loop in one step,
    ``decimation_in_physics``; eagerly, once per ``sim.step``, otherwise). Two warp kernels read
    the simulator's own root state there, so the record is the same either way: the state
    after the previous policy step and after each of the first ``decimation - 1`` substeps.
    Isaac Lab's lazily computed ``root_lin_vel_b`` cannot be read inside a graph, and read from
    Python it cost 14 kernel launches per env step (docs/profiling.md).
    """

    def __init__(self, asset: object, decimation: int, physics_manager: type) -> None:
        """Bind to ``asset``'s simulator state and register with Newton (before any capture).

        Other physics (PhysX, not run in this workspace): no callback; the action term calls
        :meth:`record_from` once per substep instead.
        """
        register = getattr(physics_manager, "register_post_actuator_callback", None)
        self.in_physics = callable(register)
        n = asset.num_instances
        self._out = wp.zeros((decimation, n), dtype=wp.vec3f, device=str(asset.device))
        self._slot = wp.zeros(1, dtype=wp.int32, device=str(asset.device))
        # (decimation, num_envs, 3), the same memory
        self.samples: torch.Tensor = wp.to_torch(self._out)
        self._next = 0  # record_from's row
        if self.in_physics:
            data = asset.data
            self._com_vel_w = data._sim_bind_root_com_vel_w     # views of Newton's state, fixed
            self._pose_w = data._sim_bind_root_link_pose_w      # for the simulation's lifetime
            register(self.record)

    @property
    def samples_wp(self) -> wp.array:
        """:attr:`samples` as a (decimation, num_envs) ``vec3f`` warp array (the same memory)."""
        return self._out

    def restart(self) -> None:
        """A new policy step: the next substep's sample goes to row 0."""
        self._slot.zero_()
        self._next = 0

    def record_from(self, data: object) -> None:
        """This substep's sample from the asset's data (physics without the callback)."""
        if self._next < self.samples.shape[0]:
            self.samples[self._next, :, :2] = data.root_lin_vel_b.torch[:, :2]
            self.samples[self._next, :, 2] = data.root_ang_vel_b.torch[:, 2]
            self._next += 1

    def record(self) -> None:
        """Newton's callback: this substep's sample into the next row (no row past the last)."""
        n = self._com_vel_w.shape[0]
        wp.launch(_record_base_velocity, dim=n, device=self._out.device,
                  inputs=[self._com_vel_w, self._pose_w, self._slot, self._out])
        wp.launch(_next_slot, dim=1, device=self._out.device, inputs=[self._slot])


@configclass
class ContractJointPositionActionCfg(JointPositionActionCfg):
    """Configuration of :class:`ContractJointPositionAction`."""

    class_type: type = ContractJointPositionAction
    action_clip: float = 10.0
    max_delay_steps: int = 0


# -- rewards --------------------------------------------------------------------------------


def track_lin_vel_xy_substep_exp(env: ManagerBasedRLEnv, command_name: str, std: float,
                                 action_name: str = "joint_pos") -> torch.Tensor:
    """exp(−‖v_xy,cmd − v_xy,body‖² / std²), averaged over the physics substeps of the step."""
    v = env.action_manager.get_term(action_name).substep_velocity()
    cmd = env.command_manager.get_command(command_name)[:, :2]
    err = torch.sum(torch.square(v[..., :2] - cmd.unsqueeze(0)), dim=-1)
    return torch.exp(-err / std**2).mean(dim=0)


def track_ang_vel_z_substep_exp(env: ManagerBasedRLEnv, command_name: str, std: float,
                                action_name: str = "joint_pos") -> torch.Tensor:
    """exp(−(ω_z,cmd − ω_z,body)² / std²), averaged over the physics substeps of the step."""
    v = env.action_manager.get_term(action_name).substep_velocity()
    cmd = env.command_manager.get_command(command_name)[:, 2]
    err = torch.square(v[..., 2] - cmd.unsqueeze(0))
    return torch.exp(-err / std**2).mean(dim=0)


STAND_LIN, STAND_YAW = 0.06, 0.06
"""A command below both (‖v_xy‖ in m/s, |ω_z| in rad/s) says stand."""


def stand_still_joint_deviation_l1(env: ManagerBasedRLEnv, command_name: str,
                                   asset_cfg: SceneEntityCfg, lin_threshold: float = STAND_LIN,
                                   yaw_threshold: float = STAND_YAW) -> torch.Tensor:
    """Σ |q − q_default| over ``asset_cfg``'s joints while the command says stand, else 0.

    Stand = ‖v_xy,cmd‖ < ``lin_threshold`` (m/s) and |ω_z,cmd| < ``yaw_threshold`` (rad/s).
    Isaac Lab's term of the same name looks at the xy command only, so turning on the spot,
    which takes steps, would pay it too.
    """
    return isaac_mdp.joint_deviation_l1(env, asset_cfg) * stand_command(
        env, command_name, lin_threshold, yaw_threshold)


def stand_command(env: ManagerBasedRLEnv, command_name: str, lin_threshold: float = STAND_LIN,
                  yaw_threshold: float = STAND_YAW) -> torch.Tensor:
    """(num_envs,) bool: the command says stand (‖v_xy‖ and |ω_z| below the thresholds)."""
    cmd = env.command_manager.get_command(command_name)
    return (torch.linalg.norm(cmd[:, :2], dim=1) < lin_threshold) & (cmd[:, 2].abs()
                                                                     < yaw_threshold)


class swing_apex_shortfall(ManagerTermBase):  # noqa: N801 - Isaac Lab's term naming
    """Cost of a step whose swing foot stayed low: (1 − apex / ``target_m``)², per touchdown.

    A blind policy climbs a step cleanly only if its swing foot rises above the riser;
    rough5's feet rose a median 3.4-5.0 cm per swing on flat ground (MuJoCo,
    ``benchmarks/rough/foot_clearance.py``) and fell on the curriculum's 9-12 cm steps.
    apex = the foot's greatest height during a swing above its height at lift-off (the
    last policy step it touched the ground), so on stairs up it is the lift over the tread
    the foot left. Charged at touchdown, for swings of at least ``min_air_s`` (shorter ones
    are bounces), 0 at or above ``target_m``, and only while the command asks to move (a
    standing robot's shuffles belong to ``stand_still``). The value is the touchdowns' cost
    divided by the policy step (the reward manager multiplies by it again), so the weight is
    the cost of one touchdown with a foot that never left the ground. Contact from the
    contact sensor (``sensor_cfg``), heights from the asset (``asset_cfg``), the same feet in
    the same order in both.
    """

    def __init__(self, cfg: object, env: ManagerBasedRLEnv) -> None:
        """Per env and foot: height at lift-off and apex so far; no swing yet."""
        super().__init__(cfg, env)
        n = len(cfg.params["asset_cfg"].body_ids)
        self._lift_z = torch.zeros(env.num_envs, n, device=env.device)
        self._apex = torch.zeros(env.num_envs, n, device=env.device)
        # a reset robot's feet: not in a swing until they first touch the ground (a robot
        # spawned above the ground, or in the air, lands without paying for a step)
        self._fresh = torch.ones(env.num_envs, n, dtype=torch.bool, device=env.device)

    def reset(self, env_ids: Sequence[int] | torch.Tensor | None = None) -> None:
        """A reset robot's feet are in no swing until they touch the ground."""
        self._fresh[slice(None) if env_ids is None else env_ids] = True

    def __call__(self, env: ManagerBasedRLEnv, command_name: str, target_m: float,
                 sensor_cfg: SceneEntityCfg, asset_cfg: SceneEntityCfg,
                 min_air_s: float = 0.1) -> torch.Tensor:
        """Cost of this step's touchdowns; then the swings' state advances by one step."""
        sensor = env.scene.sensors[sensor_cfg.name]
        feet = sensor_cfg.body_ids
        z = env.scene[asset_cfg.name].data.body_pos_w.torch[:, asset_cfg.body_ids, 2]
        down = sensor.data.current_contact_time.torch[:, feet] > 0.0
        landed = (sensor.compute_first_contact(env.step_dt).torch[:, feet] > 0) & ~self._fresh
        swung = sensor.data.last_air_time.torch[:, feet] >= min_air_s
        short = torch.clamp(1.0 - self._apex / target_m, min=0.0).square()
        cost = torch.sum(short * (landed & swung), dim=1) * ~stand_command(env, command_name)
        self._fresh &= ~down
        reset = down | self._fresh
        self._apex = torch.where(reset, 0.0, torch.maximum(self._apex, z - self._lift_z))
        self._lift_z = torch.where(reset, z, self._lift_z)
        return cost / env.step_dt


# -- events ---------------------------------------------------------------------------------


def push_by_speed(env: ManagerBasedEnv, env_ids: torch.Tensor | slice, speed: float,
                  asset_cfg: SceneEntityCfg | None = None) -> None:
    """Kick the base: add ``speed`` m/s of horizontal velocity in a uniformly random direction.

    The gates' push (``athena_description.walking_gate``: a ``push_speed`` m/s kick), as the
    MuJoCo sim node applies it (``athena_sim.sim_node.push_base``). Isaac Lab's
    ``push_by_setting_velocity``, which training uses, draws each axis from ±``speed``
    instead: kicks from 0 to 1.41 × ``speed``, 0.77 × on average, so a gate run with it would
    push more gently than the same gate in MuJoCo.
    """
    asset = env.scene[asset_cfg.name if asset_cfg is not None else "robot"]
    vel_w = asset.data.root_vel_w.torch[env_ids].clone()
    ang = torch.rand(vel_w.shape[0], device=vel_w.device) * (2.0 * math.pi)
    vel_w[:, 0] += speed * torch.cos(ang)
    vel_w[:, 1] += speed * torch.sin(ang)
    asset.write_root_velocity_to_sim_index(root_velocity=vel_w, env_ids=env_ids)


# -- curriculum -----------------------------------------------------------------------------


def terrain_levels_tracking(env: ManagerBasedRLEnv, env_ids: Sequence[int] | torch.Tensor | slice,
                            track_term: str = "track_lin_vel_xy_exp", promote_error: float = 0.3,
                            demote_error: float = 0.5) -> torch.Tensor:
    """Terrain levels judged as the robustness gate judges an episode: upright and tracking.

    At the end of an episode a robot moves one level up when it did not fall (the episode
    timed out) and tracked the command at least as well as a constant ``promote_error``
    (m/s) would have; one level down when it fell or tracked worse than a constant
    ``demote_error``. Tracking = the per-step mean of ``track_term`` over the episode, the
    reward exp(-err^2 / std^2) whose ``std`` the term's params give, so a constant error e
    scores exp(-(e / std)^2): 0.70 at 0.3 m/s, 0.37 at 0.5 m/s with std 0.5.

    Why 0.3 m/s and not the robustness gate's 0.25: an error that varies scores lower than a
    constant one of the same mean, so the gate's figure on this scale is stricter than the
    gate. rough5, which passes the gate on random rough ground (0 falls in 50, 0.197 m/s),
    would be promoted from 6 of 30 rough-ground episodes at 0.25 and from 27 at 0.3, with 0
    falls at every level (``benchmarks/rough/curriculum_dry_run.py``,
    ``benchmarks/results/rough5/curriculum_dry_run_cpu.json``).

    Why not Isaac Lab's ``terrain_levels_vel`` (promote after walking half a tile, 4 m, from
    its origin): athena's commands turn (yaw rate up to 0.8 rad/s, no heading target) and are
    often slow, so few episodes carry a robot 4 m away whatever the ground. On the flat
    tiles, identical at every level, rough5's robots sat at mean level 2.8 of 9 after 1800
    iterations; on stairs up at 0.8, where the training hardly saw steps above 6 cm while the
    gate spans 5-12 cm (docs/training.md, rough5).

    Reads the reward manager's episode sums before its reset clears them (Isaac Lab's
    ``_reset_idx`` computes the curriculum first); ``episode_length_buf`` still holds the
    episode's length there. A fresh run's first episodes (rsl-rl's ``init_at_random_ep_len``
    starts their clocks part-way) count steps they did not run: their tracking reads low, and
    some robots go down one level once. Returns the mean terrain level.
    """
    terrain = env.scene.terrain
    if isinstance(env_ids, slice):
        env_ids = torch.arange(env.num_envs, device=env.device)[env_ids]
    ids = torch.as_tensor(env_ids, device=env.device, dtype=torch.long)
    move_up, move_down, _ = tracking_decisions(env, ids, track_term, promote_error,
                                               demote_error)
    terrain.update_env_origins(ids, move_up, move_down)
    return torch.mean(terrain.terrain_levels.float())


def tracking_decisions(env: ManagerBasedRLEnv, ids: torch.Tensor, track_term: str,
                       promote_error: float, demote_error: float
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(up, down, tracking) of :func:`terrain_levels_tracking` for the episodes ending at ``ids``.

    Call it where the term runs: at the episode's end, before the managers' reset.
    """
    rm = env.reward_manager
    cfg = rm.get_term_cfg(track_term)
    steps = env.episode_length_buf[ids].clamp(min=1).to(torch.float32)
    # the manager sums weight x value x dt per step (RewardManager.compute; Isaac Lab's warp
    # reward manager keeps the same sums in warp arrays)
    sums = getattr(rm, "_episode_sums", None)
    episode = (sums[track_term] if sums is not None
               else wp.to_torch(rm._episode_sum_views_wp[track_term]))
    tracking = episode[ids] / (cfg.weight * env.step_dt * steps)
    std = float(cfg.params["std"])
    fell = env.termination_manager.terminated[ids]
    up = ~fell & (tracking >= math.exp(-(promote_error / std) ** 2))
    down = (fell | (tracking < math.exp(-(demote_error / std) ** 2))) & ~up
    return up, down, tracking


# -- events ---------------------------------------------------------------------------------


class randomize_motor_strength(ManagerTermBase):  # noqa: N801 - Isaac Lab's event naming
    """Scale each environment's joint stiffness, damping and effort limit by one factor.

    A weaker or stronger motor moves all three together, so one factor per joint is drawn
    from ``strength_range`` at the event.
    """

    def __init__(self, cfg: object, env: ManagerBasedEnv) -> None:
        """Remember the nominal gains and effort limits."""
        super().__init__(cfg, env)
        self.asset = env.scene[cfg.params["asset_cfg"].name]
        data = self.asset.data
        self.kp = data.joint_stiffness.torch.clone()
        self.kd = data.joint_damping.torch.clone()
        self.effort = data.joint_effort_limits.torch.clone()

    def __call__(self, env: ManagerBasedEnv, env_ids: torch.Tensor | None,
                 asset_cfg: SceneEntityCfg, strength_range: tuple[float, float]) -> None:
        """Draw the factors and write them into the simulation."""
        if env_ids is None:
            env_ids = torch.arange(env.scene.num_envs, device=self.kp.device)
        lo, hi = strength_range
        f = torch.empty(len(env_ids), self.kp.shape[1], device=self.kp.device).uniform_(lo, hi)
        self.asset.write_joint_stiffness_to_sim_index(stiffness=self.kp[env_ids] * f,
                                                      env_ids=env_ids)
        self.asset.write_joint_damping_to_sim_index(damping=self.kd[env_ids] * f, env_ids=env_ids)
        self.asset.write_joint_effort_limit_to_sim_index(limits=self.effort[env_ids] * f,
                                                         env_ids=env_ids)


def contract() -> object:
    """The policy contract training uses (cached)."""
    return default_policy_contract()
