"""Warp twins of athena's MDP terms, for Isaac Lab's warp managers (issue 16).

Isaac Lab 3.0 ships a second implementation of its managers (``isaaclab_experimental``): every
observation, reward, termination, event and action term is a warp kernel writing into a
buffer its manager owns (``func(env, out, **params)``; events get a warp env mask instead of
env ids), so that each manager's work in an env step can be captured into one CUDA graph and
replayed instead of launching a few hundred small torch kernels from Python, the host-bound
part of the env step (docs/profiling.md). Its frontend (``WarpFrontend``) builds that env
from the same task config by swapping each stock term for its same-named warp twin.

This module holds the twins of athena's own terms (:mod:`athena_train.tasks.mdp`, and Isaac
Lab's ``bad_orientation``, which has none), with the same mathematics, and
:func:`to_warp_managers`, which swaps them into a task config. ``tests/test_warp_managers.py``
checks that both implementations compute the same observations, rewards and terminations
from the same state. The warp observation manager keeps no history: on this path the
contract's frames are stacked outside the env (:class:`athena_train.obs_history.ContractHistory`).
"""

from __future__ import annotations

import os

import torch
import warp as wp
from isaaclab.envs import mdp as isaac_mdp
from isaaclab.utils import configclass
from isaaclab_experimental.envs.mdp.actions.actions_cfg import (
    JointPositionActionCfg as WarpJointPositionActionCfg,
)
from isaaclab_experimental.envs.mdp.actions.joint_actions import (
    JointPositionAction as WarpJointPositionAction,
)
from isaaclab_experimental.envs.utils.io_descriptors import generic_io_descriptor_warp
from isaaclab_experimental.managers import ManagerTermBase as WarpManagerTermBase

from athena_train.tasks import mdp, physics

# -- observations ---------------------------------------------------------------------------


@wp.kernel
def _gait_phase_kernel(episode_length: wp.array(dtype=wp.int64), step_dt: float, period: float,
                       out: wp.array2d(dtype=wp.float32)) -> None:
    i = wp.tid()
    phi = float(episode_length[i]) * step_dt / period
    phi = phi - wp.floor(phi)
    out[i, 0] = wp.sin(2.0 * wp.pi * phi)
    out[i, 1] = wp.cos(2.0 * wp.pi * phi)


@generic_io_descriptor_warp(out_dim=2, observation_type="Phase")
def gait_phase(env: object, out: wp.array, period: float) -> None:
    """Twin of :func:`athena_train.tasks.mdp.gait_phase`: (sin 2πφ, cos 2πφ), episode clock."""
    wp.launch(_gait_phase_kernel, dim=env.num_envs, device=env.device,
              inputs=[env._episode_length_buf_wp, float(env.step_dt), float(period), out])


@wp.kernel
def _gather_clip_kernel(raw: wp.array2d(dtype=wp.float32), ids: wp.array(dtype=wp.int32),
                        clip: float, out: wp.array2d(dtype=wp.float32)) -> None:
    i, j = wp.tid()
    out[i, j] = wp.clamp(raw[i, ids[j]], -clip, clip)


_IDS: dict[tuple[str, tuple[int, ...]], wp.array] = {}


def _ids_wp(ids: tuple[int, ...] | list[int], device: str) -> wp.array:
    """``ids`` as an int32 warp array on ``device``, built once (a fixed pointer for graphs)."""
    key = (str(device), tuple(ids))
    if key not in _IDS:
        _IDS[key] = wp.array(list(key[1]), dtype=wp.int32, device=str(device))
    return _IDS[key]


def clipped_last_action(env: object, out: wp.array, action_name: str, joint_ids: list[int],
                        action_clip: float, term_dim: int | None = None) -> None:
    """Twin of :func:`athena_train.tasks.mdp.clipped_last_action`.

    ``term_dim`` (= len(joint_ids)) tells the warp observation manager the output size.
    """
    raw = env.action_manager.get_term(action_name).raw_actions
    wp.launch(_gather_clip_kernel, dim=(env.num_envs, len(joint_ids)), device=env.device,
              inputs=[raw, _ids_wp(joint_ids, env.device), float(action_clip), out])


# -- actions --------------------------------------------------------------------------------


@wp.kernel
def _contract_action_kernel(actions: wp.array2d(dtype=wp.float32), action_offset: int,
                            scale: wp.array(dtype=wp.float32), offset: wp.array(dtype=wp.float32),
                            clip: float, lower: wp.array2d(dtype=wp.float32),
                            upper: wp.array2d(dtype=wp.float32), delay: wp.array(dtype=wp.int32),
                            raw: wp.array2d(dtype=wp.float32),
                            history: wp.array3d(dtype=wp.float32),
                            processed: wp.array2d(dtype=wp.float32)) -> None:
    i, j = wp.tid()
    a = actions[i, action_offset + j]
    raw[i, j] = a
    target = offset[j] + scale[j] * wp.clamp(a, -clip, clip)
    target = wp.max(wp.min(target, upper[i, j]), lower[i, j])
    # history[k] = the target of k policy steps ago
    for k in range(history.shape[0] - 1, 0, -1):
        history[k, i, j] = history[k - 1, i, j]
    history[0, i, j] = target
    processed[i, j] = history[delay[i], i, j]


@wp.kernel
def _contract_action_reset_kernel(mask: wp.array(dtype=wp.bool), offset: wp.array(dtype=wp.float32),
                                  max_delay: int, rng: wp.array(dtype=wp.uint32),
                                  raw: wp.array2d(dtype=wp.float32),
                                  history: wp.array3d(dtype=wp.float32),
                                  delay: wp.array(dtype=wp.int32)) -> None:
    i = wp.tid()
    if not mask[i]:
        return
    for j in range(raw.shape[1]):
        raw[i, j] = 0.0
        for k in range(history.shape[0]):
            history[k, i, j] = offset[j]
    if max_delay > 0:
        state = rng[i]
        delay[i] = wp.randi(state, 0, max_delay + 1)
        rng[i] = state


class ContractJointPositionAction(WarpJointPositionAction):
    """Twin of :class:`athena_train.tasks.mdp.ContractJointPositionAction` (same law, same latency).

    target = default + scale × clip(action, ±action_clip), clamped to the joint limits; with
    ``max_delay_steps`` > 0 each environment applies the target of ``d`` policy steps ago,
    ``d`` drawn uniformly from 0..max_delay_steps at every reset. One kernel per policy step.
    The substep velocity record is the same object as on the torch path
    (:class:`athena_train.tasks.mdp.SubstepVelocityRecorder`, inside Newton's step).
    """

    cfg: ContractJointPositionActionCfg

    def __init__(self, cfg: ContractJointPositionActionCfg, env: object) -> None:
        """Build the term; the limits come from the simulated articulation."""
        super().__init__(cfg, env)
        limits = self._asset.data.joint_pos_limits.torch[:, self._joint_ids]
        self._lower = wp.from_torch(limits[..., 0].contiguous().clone())
        self._upper = wp.from_torch(limits[..., 1].contiguous().clone())
        offset = self._offset.numpy()
        self._history = wp.array(offset[None, None, :].repeat(cfg.max_delay_steps + 1, 0)
                                 .repeat(self.num_envs, 1), dtype=wp.float32, device=self.device)
        self._delay = wp.zeros(self.num_envs, dtype=wp.int32, device=self.device)
        self._recorder = mdp.SubstepVelocityRecorder(self._asset, env.cfg.decimation,
                                                     env.sim.physics_manager)
        if not self._recorder.in_physics:
            raise RuntimeError("the warp managers need Newton physics (the substep velocity "
                               "record runs inside its step)")

    def process_actions(self, actions: wp.array, action_offset: int = 0) -> None:
        """Store the raw action; compute the (possibly delayed) position target."""
        wp.launch(_contract_action_kernel, dim=(self.num_envs, self.action_dim),
                  device=self.device,
                  inputs=[actions, int(action_offset), self._scale, self._offset,
                          float(self.cfg.action_clip), self._lower, self._upper, self._delay,
                          self._raw_actions, self._history, self._processed_actions])
        self._recorder.restart()

    def substep_velocity(self) -> torch.Tensor:
        """(decimation, num_envs, 3) base (vx, vy, wz) recorded during the last policy step."""
        return self._recorder.samples

    @property
    def substep_velocity_wp(self) -> wp.array:
        """The same record as a (decimation, num_envs) ``vec3f`` warp array."""
        return self._recorder.samples_wp

    def reset(self, env_mask: wp.array | None = None) -> None:
        """Zero the raw action, refill the history with the default pose, redraw the delay."""
        mask = env_mask if env_mask is not None else self._env.ALL_ENV_MASK
        wp.launch(_contract_action_reset_kernel, dim=self.num_envs, device=self.device,
                  inputs=[mask, self._offset, int(self.cfg.max_delay_steps),
                          self._env.rng_state_wp, self._raw_actions, self._history,
                          self._delay])


@configclass
class ContractJointPositionActionCfg(WarpJointPositionActionCfg):
    """Configuration of :class:`ContractJointPositionAction`."""

    class_type: type = ContractJointPositionAction
    action_clip: float = 10.0
    max_delay_steps: int = 0


# -- rewards --------------------------------------------------------------------------------


@wp.kernel
def _track_substep_kernel(samples: wp.array2d(dtype=wp.vec3f), cmd: wp.array2d(dtype=wp.float32),
                          yaw: int, std_sq_inv: float, out: wp.array(dtype=wp.float32)) -> None:
    i = wp.tid()
    total = wp.float32(0.0)  # a variable, not a constant: it changes in the loop
    for k in range(samples.shape[0]):
        s = samples[k, i]
        if yaw == 0:
            err = (s[0] - cmd[i, 0]) * (s[0] - cmd[i, 0]) + (s[1] - cmd[i, 1]) * (s[1] - cmd[i, 1])
        else:
            err = (s[2] - cmd[i, 2]) * (s[2] - cmd[i, 2])
        total += wp.exp(-err * std_sq_inv)
    out[i] = total / float(samples.shape[0])


_COMMANDS: dict[tuple[int, str], wp.array] = {}


def _command_wp(env: object, command_name: str) -> wp.array:
    """The command manager's (torch) command as a warp view, built once per env."""
    key = (id(env), command_name)
    if key not in _COMMANDS:
        _COMMANDS[key] = wp.from_torch(env.command_manager.get_command(command_name))
    return _COMMANDS[key]


def _track_substep(env: object, out: wp.array, command_name: str, std: float,
                   action_name: str, yaw: int) -> None:
    samples = env.action_manager.get_term(action_name).substep_velocity_wp
    wp.launch(_track_substep_kernel, dim=env.num_envs, device=env.device,
              inputs=[samples, _command_wp(env, command_name), yaw, 1.0 / std**2, out])


def track_lin_vel_xy_substep_exp(env: object, out: wp.array, command_name: str, std: float,
                                 action_name: str = "joint_pos") -> None:
    """Twin of :func:`athena_train.tasks.mdp.track_lin_vel_xy_substep_exp`."""
    _track_substep(env, out, command_name, std, action_name, 0)


def track_ang_vel_z_substep_exp(env: object, out: wp.array, command_name: str, std: float,
                                action_name: str = "joint_pos") -> None:
    """Twin of :func:`athena_train.tasks.mdp.track_ang_vel_z_substep_exp`."""
    _track_substep(env, out, command_name, std, action_name, 1)


@wp.func
def _stands(cmd: wp.array2d(dtype=wp.float32), i: int, lin: float, yaw: float) -> bool:
    """The command says stand (:func:`athena_train.tasks.mdp.stand_command`)."""
    return wp.sqrt(cmd[i, 0] * cmd[i, 0] + cmd[i, 1] * cmd[i, 1]) < lin and wp.abs(cmd[i, 2]) < yaw


@wp.kernel
def _stand_still_kernel(joint_pos: wp.array2d(dtype=wp.float32),
                        default_pos: wp.array2d(dtype=wp.float32),
                        ids: wp.array(dtype=wp.int32), cmd: wp.array2d(dtype=wp.float32),
                        lin: float, yaw: float, out: wp.array(dtype=wp.float32)) -> None:
    i = wp.tid()
    dev = wp.float32(0.0)  # a variable: it changes in the loop
    for k in range(ids.shape[0]):
        dev += wp.abs(joint_pos[i, ids[k]] - default_pos[i, ids[k]])
    out[i] = wp.where(_stands(cmd, i, lin, yaw), dev, 0.0)


def stand_still_joint_deviation_l1(env: object, out: wp.array, command_name: str,
                                   asset_cfg: object, lin_threshold: float = mdp.STAND_LIN,
                                   yaw_threshold: float = mdp.STAND_YAW) -> None:
    """Twin of :func:`athena_train.tasks.mdp.stand_still_joint_deviation_l1`.

    Not Isaac Lab's warp term of the same name, which its frontend would pick by name: that
    one looks at the xy command only and at every joint.
    """
    asset = env.scene[asset_cfg.name]
    wp.launch(_stand_still_kernel, dim=env.num_envs, device=env.device,
              inputs=[asset.data.joint_pos.warp, asset.data.default_joint_pos.warp,
                      asset_cfg.joint_ids_wp, _command_wp(env, command_name),
                      float(lin_threshold), float(yaw_threshold), out])


@wp.kernel
def _swing_apex_kernel(contact_time: wp.array2d(dtype=wp.float32),
                       last_air_time: wp.array2d(dtype=wp.float32),
                       body_pose_w: wp.array2d(dtype=wp.transformf),
                       sensor_ids: wp.array(dtype=wp.int32), body_ids: wp.array(dtype=wp.int32),
                       cmd: wp.array2d(dtype=wp.float32), stand_lin: float, stand_yaw: float,
                       first_below: float, min_air_s: float,
                       target_m: float, step_dt: float, lift_z: wp.array2d(dtype=wp.float32),
                       apex: wp.array2d(dtype=wp.float32), fresh: wp.array2d(dtype=wp.bool),
                       out: wp.array(dtype=wp.float32)) -> None:
    i = wp.tid()
    moving = not _stands(cmd, i, stand_lin, stand_yaw)
    cost = wp.float32(0.0)  # a variable: it changes in the loop
    for k in range(sensor_ids.shape[0]):
        ct = contact_time[i, sensor_ids[k]]
        z = wp.transform_get_translation(body_pose_w[i, body_ids[k]])[2]
        down = ct > 0.0
        landed = down and ct < first_below and not fresh[i, k]
        swung = last_air_time[i, sensor_ids[k]] >= min_air_s
        if landed and swung and moving:
            short = wp.max(1.0 - apex[i, k] / target_m, 0.0)
            cost += short * short
        is_fresh = fresh[i, k] and not down
        fresh[i, k] = is_fresh
        if down or is_fresh:
            apex[i, k] = 0.0
            lift_z[i, k] = z
        else:
            apex[i, k] = wp.max(apex[i, k], z - lift_z[i, k])
    out[i] = cost / step_dt


@wp.kernel
def _fresh_feet_kernel(mask: wp.array(dtype=wp.bool), fresh: wp.array2d(dtype=wp.bool)) -> None:
    i = wp.tid()
    if mask[i]:
        for k in range(fresh.shape[1]):
            fresh[i, k] = True


class swing_apex_shortfall(WarpManagerTermBase):  # noqa: N801 - Isaac Lab's term naming
    """Twin of :class:`athena_train.tasks.mdp.swing_apex_shortfall` (same state, one kernel)."""

    def __init__(self, cfg: object, env: object) -> None:
        """Per env and foot: height at lift-off and apex so far; no swing yet."""
        super().__init__(cfg, env)
        n = len(cfg.params["asset_cfg"].body_ids)
        self._lift_z = wp.zeros((env.num_envs, n), dtype=wp.float32, device=env.device)
        self._apex = wp.zeros((env.num_envs, n), dtype=wp.float32, device=env.device)
        self._fresh = wp.ones((env.num_envs, n), dtype=wp.bool, device=env.device)

    def reset(self, env_mask: wp.array | None = None) -> None:
        """A reset robot's feet are in no swing until they touch the ground."""
        mask = env_mask if env_mask is not None else self._env.ALL_ENV_MASK
        wp.launch(_fresh_feet_kernel, dim=self.num_envs, device=self.device,
                  inputs=[mask, self._fresh])

    def __call__(self, env: object, out: wp.array, command_name: str, target_m: float,
                 sensor_cfg: object, asset_cfg: object, min_air_s: float = 0.1) -> None:
        """Cost of this step's touchdowns; then the swings' state advances by one step."""
        sensor = env.scene.sensors[sensor_cfg.name]
        first_below = env.step_dt + sensor._resolve_first_transition_tolerance(None)
        wp.launch(_swing_apex_kernel, dim=env.num_envs, device=env.device,
                  inputs=[sensor.data.current_contact_time.warp, sensor.data.last_air_time.warp,
                          env.scene[asset_cfg.name].data.body_link_pose_w.warp,
                          sensor_cfg.body_ids_wp, asset_cfg.body_ids_wp,
                          _command_wp(env, command_name), mdp.STAND_LIN, mdp.STAND_YAW,
                          float(first_below), float(min_air_s),
                          float(target_m), float(env.step_dt), self._lift_z, self._apex,
                          self._fresh, out])


# -- terminations ---------------------------------------------------------------------------


@wp.kernel
def _bad_orientation_kernel(pose_w: wp.array(dtype=wp.transformf),
                            gravity_w: wp.array(dtype=wp.vec3f), limit: float,
                            out: wp.array(dtype=wp.bool)) -> None:
    i = wp.tid()
    g = wp.quat_rotate_inv(wp.transform_get_rotation(pose_w[i]), wp.normalize(gravity_w[i]))
    out[i] = wp.abs(wp.acos(wp.clamp(-g[2], -1.0, 1.0))) > limit


def bad_orientation(env: object, out: wp.array, limit_angle: float,
                    asset_cfg: object = None) -> None:
    """Twin of Isaac Lab's ``bad_orientation``: the base tilted more than ``limit_angle`` (rad)."""
    asset = env.scene[asset_cfg.name if asset_cfg is not None else "robot"]
    wp.launch(_bad_orientation_kernel, dim=env.num_envs, device=env.device,
              inputs=[asset.data.root_link_pose_w.warp, asset.data.GRAVITY_VEC_W.warp,
                      float(limit_angle), out])


# -- the critic's terrain ---------------------------------------------------------------------


@wp.kernel
def _height_scan_kernel(pos_w: wp.array(dtype=wp.vec3f), hits_w: wp.array2d(dtype=wp.vec3f),
                        offset: float, out: wp.array2d(dtype=wp.float32)) -> None:
    i, r = wp.tid()
    out[i, r] = pos_w[i][2] - hits_w[i, r][2] - offset


def height_scan(env: object, out: wp.array, sensor_cfg: object, offset: float = 0.5,
                term_dim: int | None = None) -> None:
    """Twin of Isaac Lab's ``height_scan``: sensor height − hit height − ``offset``, per ray.

    ``term_dim`` (the number of rays) tells the warp observation manager the output size.
    """
    sensor = env.scene.sensors[sensor_cfg.name]
    hits = sensor.data.ray_hits_w.warp
    wp.launch(_height_scan_kernel, dim=hits.shape, device=env.device,
              inputs=[sensor.data.pos_w.warp, hits, float(offset), out])


# -- events (startup: outside any graph, the torch term does the work) ----------------------


def _mask_to_ids(env_mask: wp.array) -> torch.Tensor:
    return torch.nonzero(wp.to_torch(env_mask), as_tuple=False).squeeze(-1)


class randomize_motor_strength(mdp.randomize_motor_strength, WarpManagerTermBase):  # noqa: N801
    """Twin of :class:`athena_train.tasks.mdp.randomize_motor_strength` (startup only)."""

    def __call__(self, env: object, env_mask: wp.array, asset_cfg: object,
                 strength_range: tuple[float, float]) -> None:
        """The torch term, for the envs of ``env_mask``."""
        super().__call__(env, _mask_to_ids(env_mask), asset_cfg, strength_range)

    def reset(self, env_mask: wp.array | None = None) -> None:
        """Nothing to reset: drawn once at startup."""


def hand_decimation_to_physics(env: object, env_mask: wp.array) -> None:
    """Twin of :func:`athena_train.tasks.physics.hand_decimation_to_physics` (startup)."""
    physics.hand_decimation_to_physics(env, None)  # (every env: the mask is not needed)


# -- the swap -------------------------------------------------------------------------------

TWINS = {mdp.gait_phase: gait_phase, mdp.clipped_last_action: clipped_last_action,
         mdp.track_lin_vel_xy_substep_exp: track_lin_vel_xy_substep_exp,
         mdp.track_ang_vel_z_substep_exp: track_ang_vel_z_substep_exp,
         mdp.stand_still_joint_deviation_l1: stand_still_joint_deviation_l1,
         mdp.swing_apex_shortfall: swing_apex_shortfall,
         mdp.randomize_motor_strength: randomize_motor_strength,
         physics.hand_decimation_to_physics: hand_decimation_to_physics,
         isaac_mdp.bad_orientation: bad_orientation, isaac_mdp.height_scan: height_scan}
"""athena's term (and Isaac Lab's, where Isaac Lab has no twin) -> its warp twin."""


def to_warp_managers(cfg: object, captured: bool) -> None:
    """Make a task config run on Isaac Lab's warp managers (``ManagerBasedRLEnvWarp``).

    athena's terms become their twins; Isaac Lab's stock terms are left to its frontend,
    which swaps them when the env is built. The actor's observation loses its history (the
    warp observation manager has none; :class:`athena_train.obs_history.ContractHistory`
    stacks the frames outside the env). ``captured``: each manager's step is captured into a
    CUDA graph (a GPU only), else the warp kernels run eagerly (the CPU path, for tests).
    The decimation loop in the physics (``decimation_in_physics``) needs the env class
    :class:`athena_train.tasks.warp_env.AthenaWarpEnv`.
    """
    from isaaclab_experimental.envs.frontend import WarpFrontend

    # the frontend leaves a term alone when its function comes from a warp package, as the
    # twins here do
    if __name__ not in WarpFrontend.WARP_ROOT_PREFIXES:
        WarpFrontend.WARP_ROOT_PREFIXES = (*WarpFrontend.WARP_ROOT_PREFIXES, __name__)
    for group in (cfg.observations.policy, cfg.observations.critic):
        for name, term in list(vars(group).items()):
            if name.startswith("_") or not hasattr(term, "history_length"):
                continue
            term.history_length = 0
            # the warp observation manager sizes a term's buffer from ``term_dim``
            if term.func is mdp.clipped_last_action:
                term.params = dict(term.params, term_dim=len(term.params["joint_ids"]))
            if term.func is isaac_mdp.height_scan:
                term.params = dict(term.params, term_dim=_rays(cfg.scene.height_scanner))
            term.func = TWINS.get(term.func, term.func)
    for group in (cfg.rewards, cfg.terminations, cfg.events):
        for name, term in list(vars(group).items()):
            if name.startswith("_") or term is None or not hasattr(term, "func"):
                continue
            term.func = TWINS.get(term.func, term.func)
    a = cfg.actions.joint_pos
    cfg.actions.joint_pos = ContractJointPositionActionCfg(
        asset_name=a.asset_name, joint_names=a.joint_names, preserve_order=a.preserve_order,
        scale=a.scale, use_default_offset=a.use_default_offset, action_clip=a.action_clip,
        max_delay_steps=a.max_delay_steps)
    # sensors computed in the scene's update (outside the graphs), not when a term reads them:
    # a captured term replays what it launched when captured, a lazy update included or not
    cfg.scene.lazy_sensor_update = False
    # Isaac Lab's own switch, when set, says per manager what to capture (e.g. to leave out
    # one whose capture fails: MANAGER_CALL_CONFIG='{"default": 2, "ObservationManager": 1}')
    cfg.manager_call_config = (os.environ.get("MANAGER_CALL_CONFIG")
                               or {"default": 2 if captured else 1})


def _rays(sensor_cfg: object) -> int:
    """Number of rays of a ray caster config's pattern."""
    starts, _ = sensor_cfg.pattern_cfg.func(sensor_cfg.pattern_cfg, "cpu")
    return int(starts.shape[0])
