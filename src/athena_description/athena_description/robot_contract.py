"""The robot contract: joint order, limits, default pose, gains and body names.

Loaded from ``config/robot.yaml``, the one source of truth. Every other package reads the
robot from here::

    from athena_description import load_robot_contract
    robot = load_robot_contract()
    robot.joint_names          # contract order
    robot.default_positions    # numpy array, contract order
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from athena_description import paths

NUM_JOINTS = 23


class ContractError(ValueError):
    """A contract file is malformed, or a model/robot disagrees with the contract."""


@dataclass(frozen=True)
class Joint:
    """One actuated revolute joint of the contract."""

    name: str
    axis: tuple[float, float, float]
    lower: float
    upper: float
    velocity: float
    effort: float
    default: float
    stiffness: float
    damping: float
    armature: float


@dataclass(frozen=True)
class RobotContract:
    """The whole robot contract. Arrays are in contract joint order."""

    contract_version: int
    name: str
    joints: tuple[Joint, ...]
    base_link: str
    imu_link: str
    torso_link: str
    foot_links: tuple[str, ...]
    termination_contact_links: tuple[str, ...]
    fall_contact_links: tuple[str, ...]
    standing_base_height: float

    @property
    def num_joints(self) -> int:
        """Number of actuated joints (23)."""
        return len(self.joints)

    @property
    def joint_names(self) -> list[str]:
        """Joint names in contract order."""
        return [j.name for j in self.joints]

    def _column(self, field: str) -> np.ndarray:
        return np.array([getattr(j, field) for j in self.joints], dtype=np.float64)

    @property
    def default_positions(self) -> np.ndarray:
        """Default standing pose (rad)."""
        return self._column("default")

    @property
    def lower_limits(self) -> np.ndarray:
        """Lower position limits (rad)."""
        return self._column("lower")

    @property
    def upper_limits(self) -> np.ndarray:
        """Upper position limits (rad)."""
        return self._column("upper")

    @property
    def velocity_limits(self) -> np.ndarray:
        """Velocity limits (rad/s)."""
        return self._column("velocity")

    @property
    def effort_limits(self) -> np.ndarray:
        """Effort limits (N·m)."""
        return self._column("effort")

    @property
    def stiffness(self) -> np.ndarray:
        """PD stiffness (N·m/rad)."""
        return self._column("stiffness")

    @property
    def damping(self) -> np.ndarray:
        """PD damping (N·m·s/rad)."""
        return self._column("damping")

    @property
    def armature(self) -> np.ndarray:
        """Reflected rotor inertia (kg·m²)."""
        return self._column("armature")

    def joint(self, name: str) -> Joint:
        """Return the joint called ``name``; raise ContractError if there is none."""
        for j in self.joints:
            if j.name == name:
                return j
        raise ContractError(f"no joint named {name!r} in the athena robot contract")

    def pd_torque(self, q_target: np.ndarray, q: np.ndarray, qd: np.ndarray) -> np.ndarray:
        """The contract's PD law: tau = kp (q* - q) - kd qd, clipped to the effort limits.

        This is the law the MuJoCo model, the Isaac Lab actuators and a real robot's joint
        controllers all apply; it is here once so that they can be tested against it.
        """
        tau = self.stiffness * (q_target - q) - self.damping * qd
        return np.clip(tau, -self.effort_limits, self.effort_limits)


def _parse(data: dict, source: str) -> RobotContract:
    try:
        joints = tuple(
            Joint(
                name=str(j["name"]),
                axis=tuple(float(a) for a in j["axis"]),
                lower=float(j["lower"]),
                upper=float(j["upper"]),
                velocity=float(j["velocity"]),
                effort=float(j["effort"]),
                default=float(j["default"]),
                stiffness=float(j["stiffness"]),
                damping=float(j["damping"]),
                armature=float(j["armature"]),
            )
            for j in data["joints"]
        )
        contract = RobotContract(
            contract_version=int(data["contract_version"]),
            name=str(data["name"]),
            joints=joints,
            base_link=str(data["base_link"]),
            imu_link=str(data["imu_link"]),
            torso_link=str(data["torso_link"]),
            foot_links=tuple(data["foot_links"]),
            termination_contact_links=tuple(data["termination_contact_links"]),
            fall_contact_links=tuple(data["fall_contact_links"]),
            standing_base_height=float(data["standing_base_height"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"malformed robot contract {source}: {exc!r}") from exc
    _validate(contract, source)
    return contract


def _validate(c: RobotContract, source: str) -> None:
    if c.num_joints != NUM_JOINTS:
        raise ContractError(f"{source}: expected {NUM_JOINTS} joints, found {c.num_joints}")
    if len(set(c.joint_names)) != c.num_joints:
        raise ContractError(f"{source}: duplicate joint names")
    for j in c.joints:
        if not j.lower < j.upper:
            raise ContractError(f"{source}: {j.name} lower limit {j.lower} >= upper {j.upper}")
        if not j.lower <= j.default <= j.upper:
            raise ContractError(f"{source}: {j.name} default {j.default} outside its limits")
        if min(j.velocity, j.effort, j.stiffness, j.damping, j.armature) <= 0:
            raise ContractError(f"{source}: {j.name} has a non-positive limit, gain or armature")
        if sorted(abs(a) for a in j.axis) != [0.0, 0.0, 1.0]:
            raise ContractError(f"{source}: {j.name} axis {j.axis} is not a unit coordinate axis")
    extra = set(c.fall_contact_links) - set(c.termination_contact_links)
    if not c.fall_contact_links or extra:
        raise ContractError(f"{source}: fall_contact_links must be a non-empty subset of "
                            f"termination_contact_links (not in it: {sorted(extra)})")


def load_robot_contract_from(path: Path) -> RobotContract:
    """Load and validate a robot contract from a YAML file."""
    with open(path, encoding="utf-8") as f:
        return _parse(yaml.safe_load(f), str(path))


@lru_cache(maxsize=1)
def load_robot_contract() -> RobotContract:
    """Load the athena robot contract (cached; the file is read once per process)."""
    return load_robot_contract_from(paths.robot_yaml())
