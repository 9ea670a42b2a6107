"""Left-right mirror symmetry of athena's observations and actions (``train --no-symmetry``: off).

athena is left-right symmetric, so the mirror image of a good motion is a good motion: with
rsl-rl's symmetry augmentation (Mittal et al., ICRA 2024) every PPO mini-batch also holds the
mirrored samples, and the policy learns both sides of the gait from one side's data.

The mirror is the reflection y -> -y of the base frame (REP-103: x forward, y left). Under it
a vector (linear velocity, gravity) keeps x and z and negates y; an angular velocity, a
pseudovector, keeps y and negates x and z; a ``left_*`` joint trades places with its
``right_*`` partner (an unpaired joint is its own partner) and its angle keeps or flips sign
as its axis, mirrored, matches or opposes the partner's (rotations about x and z flip, about y
keep); the gait phase moves on by half a period (the other foot's turn), which negates its
sine and cosine; a height-scan ray trades places with the ray at (x, -y). Every map here is
a permutation with signs, built from the robot contract (joint names and axes) and the names
and sizes of the env's observation terms, so a term without a rule is refused, not guessed.

rsl-rl calls :func:`augment` with each mini-batch (``RslRlSymmetryCfg.data_augmentation_func
= "athena_train.symmetry:augment"``). The athena runner configs turn it on
(``athena_train.agents``); ``train --no-symmetry`` turns it off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

# per-frame sign of each base term under y -> -y (all are their own partners)
VECTOR_SIGNS: dict[str, tuple[float, ...]] = {
    "base_lin_vel": (1.0, -1.0, 1.0),  # a vector
    "projected_gravity": (1.0, -1.0, 1.0),
    "base_ang_vel": (-1.0, 1.0, -1.0),  # a pseudovector
    "velocity_command": (1.0, -1.0, -1.0),  # (vx, vy, yaw rate)
    "base_height": (1.0,),
    "gait_phase": (-1.0, -1.0),  # (sin 2πφ, cos 2πφ) at φ + 1/2
}
# per-joint terms of the policy contract (their joints: the contract's ``joints``) and the
# critic's terms over every joint of the articulation (in its own order)
CONTRACT_JOINT_TERMS = ("joint_pos_rel", "joint_vel", "last_action")
ALL_JOINT_TERMS = ("all_joint_pos", "all_joint_vel")
HEIGHT_SCAN = "height_scan"
_REFLECT = np.diag([1.0, -1.0, 1.0])


def partner_name(name: str) -> str:
    """``left_x`` <-> ``right_x``; any other name is its own partner."""
    for a, b in (("left_", "right_"), ("right_", "left_")):
        if name.startswith(a):
            return b + name[len(a):]
    return name


def joint_mirror(names: Sequence[str], axes: dict[str, Sequence[float]]
                 ) -> tuple[list[int], list[float]]:
    """For the joints ``names``: each one's partner index in ``names`` and the angle's sign.

    Mirrored, joint i at angle q is its partner p at angle ``sign · q``: the reflected axis of
    a rotation is ``-R a`` (a pseudovector), so ``sign = a_p · (-R a_i)``, ±1 for the
    contract's unit coordinate axes. Raises if a partner is missing or the axes do not
    mirror onto each other.
    """
    index = {n: i for i, n in enumerate(names)}
    perm, sign = [], []
    for n in names:
        p = partner_name(n)
        if p not in index:
            raise ValueError(f"joint {n!r} has no mirror partner {p!r} among {list(names)}")
        s = float(np.dot(np.asarray(axes[p], float), -_REFLECT @ np.asarray(axes[n], float)))
        if abs(abs(s) - 1.0) > 1e-9:
            raise ValueError(f"joint {n!r} (axis {axes[n]}) does not mirror onto {p!r} "
                             f"(axis {axes[p]})")
        perm.append(index[p])
        sign.append(s)
    return perm, sign


def ray_mirror(ray_xy: np.ndarray, tol: float = 1e-4) -> list[int]:
    """For rays at ``ray_xy`` (n, 2) in the base's yaw frame: the index of the ray at (x, -y)."""
    target = ray_xy * np.array([1.0, -1.0])
    d = np.linalg.norm(ray_xy[None, :, :] - target[:, None, :], axis=-1)
    perm = d.argmin(axis=1)
    if (d[np.arange(len(perm)), perm] > tol).any():
        raise ValueError("the height scan's rays are not symmetric about the x axis")
    return perm.tolist()


@dataclass(frozen=True)
class SignedPermutation:
    """``mirror(x)[..., k] = sign[k] · x[..., perm[k]]``."""

    perm: torch.Tensor
    sign: torch.Tensor

    @staticmethod
    def of(perm: Sequence[int], sign: Sequence[float], device: str | torch.device = "cpu"
           ) -> SignedPermutation:
        """From lists, on ``device``."""
        if sorted(perm) != list(range(len(perm))) or len(sign) != len(perm):
            raise ValueError("not a permutation with one sign per entry")
        return SignedPermutation(torch.as_tensor(list(perm), dtype=torch.long, device=device),
                                 torch.as_tensor(list(sign), dtype=torch.float32, device=device))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The mirror image of ``x`` (its last dimension)."""
        return x[..., self.perm] * self.sign

    def to(self, device: str | torch.device) -> SignedPermutation:
        """On ``device``."""
        return SignedPermutation(self.perm.to(device), self.sign.to(device))


def concat(parts: Sequence[tuple[Sequence[int], Sequence[float]]]) -> tuple[list[int], list[float]]:
    """Blocks laid end to end: each block's permutation shifted by the sizes before it."""
    perm: list[int] = []
    sign: list[float] = []
    for p, s in parts:
        offset = len(perm)
        perm += [offset + i for i in p]
        sign += list(s)
    return perm, sign


def term_frame(name: str, contract_joints: dict[str, list[str]], all_joints: list[str],
               axes: dict[str, Sequence[float]], rays: np.ndarray | None
               ) -> tuple[list[int], list[float]]:
    """The mirror of one frame of observation term ``name``."""
    if name in VECTOR_SIGNS:
        s = VECTOR_SIGNS[name]
        return list(range(len(s))), list(s)
    if name in CONTRACT_JOINT_TERMS:
        return joint_mirror(contract_joints[name], axes)
    if name in ALL_JOINT_TERMS:
        return joint_mirror(all_joints, axes)
    if name == HEIGHT_SCAN and rays is not None:
        return ray_mirror(rays), [1.0] * len(rays)
    raise ValueError(f"observation term {name!r} has no mirror rule (athena_train.symmetry)")


def group_mirror(terms: Sequence[tuple[str, int]], **frame_args: object
                 ) -> tuple[list[int], list[float]]:
    """The mirror of an observation group: its ``(term name, width)`` in order.

    A term wider than one frame holds ``width / frame`` frames (the contract's history), each
    mirrored alike.
    """
    blocks = []
    for name, width in terms:
        perm, sign = term_frame(name, **frame_args)
        if width % len(perm):
            raise ValueError(f"term {name!r}: width {width} is not a whole number of "
                             f"{len(perm)}-value frames")
        for _ in range(width // len(perm)):
            blocks.append((perm, sign))
    return concat(blocks)


@dataclass(frozen=True)
class EnvMirror:
    """The mirror of each observation group of an env and of its actions."""

    groups: dict[str, SignedPermutation]
    actions: SignedPermutation


def joint_axes(robot: object) -> dict[str, Sequence[float]]:
    """Each joint's rotation axis, by name, from the robot contract."""
    return {j.name: j.axis for j in robot.joints}


def joint_args(robot: object, pc: object, all_joints: Sequence[str] | None = None) -> dict:
    """:func:`term_frame`'s joint arguments from the robot and policy contracts.

    ``all_joints``: the articulation's joints in its own order (the critic's per-joint
    terms); default the robot contract's.
    """
    return dict(contract_joints={t.name: [robot.joint_names[i] for i in t.joints]
                                 for t in pc.observation if t.joints},
                all_joints=list(all_joints if all_joints is not None else robot.joint_names),
                axes=joint_axes(robot))


def policy_mirror(pc: object, robot: object | None = None) -> SignedPermutation:
    """The mirror of a policy's observation as contract ``pc`` lays it out.

    Each term's frames, oldest first (the node's ``ObservationBuilder``, Isaac Lab's history
    on the torch managers, :class:`athena_train.obs_history.HistoryVecEnv` on the warp ones).
    """
    from athena_description.robot_contract import load_robot_contract

    robot = robot or load_robot_contract()
    return SignedPermutation.of(*group_mirror([(t.name, t.size * t.history)
                                               for t in pc.observation],
                                              rays=None, **joint_args(robot, pc)))


def action_mirror(robot: object | None = None) -> SignedPermutation:
    """The mirror of the contract's actions (its joints in contract order)."""
    from athena_description.robot_contract import load_robot_contract

    robot = robot or load_robot_contract()
    return SignedPermutation.of(*joint_mirror(robot.joint_names, joint_axes(robot)))


def env_mirror(env: object) -> EnvMirror:
    """The mirrors of a training env (rsl-rl's vec env around an Isaac Lab env).

    The actor's group (``policy``) is laid out as the policy contract says (each term's
    frames, oldest first: on the torch managers Isaac Lab's history, on the warp managers
    :class:`athena_train.obs_history.HistoryVecEnv`'s); the other groups as their
    observation manager reports. The actions are the contract's joints in contract order.
    """
    from athena_description.policy_contract import default_policy_contract
    from athena_description.robot_contract import load_robot_contract

    uenv = env.unwrapped
    robot, pc = load_robot_contract(), default_policy_contract()
    rays = None
    if "height_scanner" in uenv.scene.keys():
        pattern = uenv.scene["height_scanner"].cfg.pattern_cfg
        rays = pattern.func(pattern, "cpu")[0][:, :2].numpy()
    frame_args = dict(rays=rays, **joint_args(robot, pc, uenv.scene["robot"].joint_names))
    om = uenv.observation_manager
    groups = {}
    for group, names in om.active_terms.items():
        if group == "policy":
            groups[group] = policy_mirror(pc, robot)
            continue
        terms = [(n, int(np.prod(d))) for n, d in zip(names, om.group_obs_term_dim[group])]
        groups[group] = SignedPermutation.of(*group_mirror(terms, **frame_args))
    return EnvMirror(groups, action_mirror(robot))


_MIRRORS: dict[tuple[int, str], EnvMirror] = {}


def _mirror_on(env: object, device: torch.device) -> EnvMirror:
    key = (id(env), str(device))
    if key not in _MIRRORS:
        m = env_mirror(env)
        _MIRRORS[key] = EnvMirror({g: p.to(device) for g, p in m.groups.items()},
                                  m.actions.to(device))
    return _MIRRORS[key]


def augment(env: object, obs: object | None = None, actions: torch.Tensor | None = None
            ) -> tuple[object | None, torch.Tensor | None]:
    """rsl-rl's data augmentation: the batch followed by its mirror image (twice the rows).

    ``obs``: a TensorDict of observation groups, ``actions``: (batch, joints); either may be
    None (then None comes back in its place).
    """
    from tensordict import TensorDict

    obs_out = act_out = None
    if obs is not None:
        m = _mirror_on(env, obs.device)
        missing = [k for k in obs.keys() if k not in m.groups]
        if missing:
            raise ValueError(f"no mirror for observation group(s) {missing}")
        mirrored = {}
        for k in obs.keys():
            if obs[k].shape[-1] != len(m.groups[k].perm):
                raise ValueError(f"group {k!r} has {obs[k].shape[-1]} values, its mirror "
                                 f"{len(m.groups[k].perm)}")
            mirrored[k] = m.groups[k](obs[k])
        obs_out = torch.cat([obs, TensorDict(mirrored, batch_size=obs.batch_size)], dim=0)
    if actions is not None:
        m = _mirror_on(env, actions.device)
        act_out = torch.cat([actions, m.actions(actions)], dim=0)
    return obs_out, act_out


AUGMENT = "athena_train.symmetry:augment"


def augmentation_cfg() -> object:
    """rsl-rl's symmetry config: every PPO mini-batch also holds its mirror (:func:`augment`).

    The athena runner configs carry it (``athena_train.agents``).
    """
    from isaaclab_rl.rsl_rl import RslRlSymmetryCfg

    return RslRlSymmetryCfg(use_data_augmentation=True, data_augmentation_func=AUGMENT)


def enable(agent_cfg: object, on: bool = True) -> None:
    """Turn the augmentation (:func:`augmentation_cfg`) on or off in a runner config."""
    agent_cfg.algorithm.symmetry_cfg = augmentation_cfg() if on else None
