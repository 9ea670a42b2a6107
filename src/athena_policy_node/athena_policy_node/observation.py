"""THE observation builder: robot state → the policy input, as the model's contract says.

The layout (term order, slices, scales, clips, which joints, how many past frames) is read
from the contract the model carries; nothing here hard-codes it. One function per term, so
each can be tested against hand-computed values, and so that training can check its own
observation against this one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from athena_description.policy_contract import PolicyContract
from athena_description.robot_contract import ContractError


class MissingJointsError(ValueError):
    """A JointState lacks joints the contract needs, names one twice, or has short arrays."""


def projected_gravity(quat_xyzw: np.ndarray) -> np.ndarray:
    """Gravity direction (0, 0, -1) of the world expressed in the body frame.

    ``quat_xyzw`` is the body orientation in the world (sensor_msgs/Imu order x, y, z, w).
    """
    x, y, z, w = quat_xyzw
    # third row of R(q) is the world z-axis in body coordinates; gravity is its negative
    return -np.array([2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)])


def integrate_gyro(quat_xyzw: np.ndarray, ang_vel_body: np.ndarray, dt: float) -> np.ndarray:
    """The orientation ``dt`` seconds on, turning at ``ang_vel_body`` (rad/s, body frame).

    q ⊗ exp(ω dt / 2), renormalised; quaternions in sensor_msgs/Imu order (x, y, z, w).
    """
    w_vec = np.asarray(ang_vel_body, dtype=np.float64)
    angle = float(np.linalg.norm(w_vec)) * dt
    if angle < 1e-12:
        return np.asarray(quat_xyzw, dtype=np.float64).copy()
    ax = w_vec / np.linalg.norm(w_vec) * math.sin(angle / 2.0)
    bx, by, bz, bw = ax[0], ax[1], ax[2], math.cos(angle / 2.0)
    x, y, z, w = quat_xyzw
    q = np.array([w * bx + x * bw + y * bz - z * by,
                  w * by - x * bz + y * bw + z * bx,
                  w * bz + x * by - y * bx + z * bw,
                  w * bw - x * bx - y * by - z * bz])
    return q / np.linalg.norm(q)


def gait_phase(t: float, period: float) -> np.ndarray:
    """(sin 2πφ, cos 2πφ) with φ = (t / period) mod 1."""
    phi = (t / period) % 1.0
    return np.array([math.sin(2.0 * math.pi * phi), math.cos(2.0 * math.pi * phi)])


def clip_command(cmd: np.ndarray, contract: PolicyContract) -> np.ndarray:
    """Clip (vx, vy, yaw rate) to the ranges the policy was trained on."""
    r = contract.command_ranges
    lo = np.array([r["lin_vel_x"][0], r["lin_vel_y"][0], r["ang_vel_z"][0]])
    hi = np.array([r["lin_vel_x"][1], r["lin_vel_y"][1], r["ang_vel_z"][1]])
    return np.clip(cmd, lo, hi)


class JointMatcher:
    """Maps a JointState's names (any order, extra joints allowed) onto contract order."""

    def __init__(self, joint_names: Sequence[str]) -> None:
        self._names = list(joint_names)
        self._cache_key: tuple[str, ...] | None = None
        self._index: np.ndarray | None = None

    def index(self, names: Sequence[str]) -> np.ndarray:
        """Indices into ``names`` for each contract joint; MissingJointsError if any is absent."""
        key = tuple(names)
        if key != self._cache_key:  # names rarely change: compute once per layout
            where = {n: i for i, n in enumerate(key)}
            if len(where) != len(key):  # which of two values would be the joint's?
                dup = sorted({n for n in key if key.count(n) > 1})
                raise MissingJointsError(f"joint_states names joints twice: {dup[:4]}")
            missing = [n for n in self._names if n not in where]
            if missing:
                raise MissingJointsError(f"joint_states lacks {len(missing)} contract joints: "
                                         f"{missing[:4]}{' ...' if len(missing) > 4 else ''}")
            self._index = np.array([where[n] for n in self._names], dtype=np.intp)
            self._cache_key = key
        return self._index

    def reorder(self, names: Sequence[str], values: Sequence[float]) -> np.ndarray:
        """Values of a JointState field in contract order (checks lengths)."""
        if len(values) != len(names):
            raise MissingJointsError(f"joint_states has {len(names)} names but "
                                     f"{len(values)} values")
        return np.asarray(values, dtype=np.float64)[self.index(names)]


class ObservationBuilder:
    """Builds the observation vector from the contract embedded in the model.

    One :meth:`build` per policy step: a term with ``history`` h keeps its last h frames,
    oldest first. After construction or :meth:`reset`, the first frame fills the whole
    history, as Isaac Lab's observation history does after an episode reset: the policy
    starts as if the robot had stood still in that state.
    """

    def __init__(self, contract: PolicyContract) -> None:
        self.contract = contract
        self.default = np.asarray(contract.default_positions, dtype=np.float64)
        self._terms = []
        start = 0
        for term in contract.observation:
            joints = np.asarray(term.joints, dtype=np.intp)
            self._terms.append((term, slice(start, start + term.width), joints))
            start += term.width
        self.dim = start
        self._out = np.zeros(self.dim, dtype=np.float32)
        self._empty = True

    def reset(self) -> None:
        """Forget the past frames: the next :meth:`build` fills every history with its own."""
        self._empty = True

    def raw_terms(self, ang_vel: np.ndarray, quat_xyzw: np.ndarray, cmd: np.ndarray,
                  phase_time: float, q: np.ndarray, qd: np.ndarray,
                  last_action: np.ndarray) -> dict[str, np.ndarray]:
        """Each term's current frame before scale and clip (per-joint terms sliced)."""
        out = {}
        for term, _, joints in self._terms:
            name = term.name
            if name == "base_ang_vel":
                v = np.asarray(ang_vel, dtype=np.float64)
            elif name == "projected_gravity":
                v = projected_gravity(quat_xyzw)
            elif name == "velocity_command":
                v = clip_command(np.asarray(cmd, dtype=np.float64), self.contract)
            elif name == "gait_phase":
                v = gait_phase(phase_time, self.contract.rates.gait_period)
            elif name == "joint_pos_rel":
                v = q[joints] - self.default[joints]
            elif name == "joint_vel":
                v = qd[joints]
            elif name == "last_action":
                v = last_action[joints]
            else:  # PolicyContract already refuses unknown names; keep the error explicit
                raise ContractError(f"observation term {name!r} not implemented")
            out[name] = v
        return out

    def build(self, ang_vel: np.ndarray, quat_xyzw: np.ndarray, cmd: np.ndarray,
              phase_time: float, q: np.ndarray, qd: np.ndarray,
              last_action: np.ndarray) -> np.ndarray:
        """This policy step's observation (float32, shape [dim]); q, qd, last_action in order.

        ``last_action`` is the policy's previous raw output clipped to ±action_clip. Each call
        is one policy step: it pushes a frame into every history. The returned array is
        reused between calls: copy it to keep it.
        """
        raw = self.raw_terms(ang_vel, quat_xyzw, cmd, phase_time, q, qd, last_action)
        for term, sl, _ in self._terms:
            frame = np.clip(raw[term.name] * term.scale, -term.clip, term.clip)
            block = self._out[sl]   # a view: written in place
            if term.history == 1:
                block[:] = frame
            elif self._empty:
                block[:] = np.tile(frame, term.history)
            else:  # drop the oldest frame, append the newest (numpy handles the overlap)
                block[:-term.size] = block[term.size:]
                block[-term.size:] = frame
        self._empty = False
        return self._out
