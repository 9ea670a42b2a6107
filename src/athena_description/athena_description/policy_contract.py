"""The policy contract: observation layout, action law, rates, command ranges.

One module for both sides of the model file:

* training resolves the contract with :func:`default_policy_contract` (``config/policy.yaml``
  plus the robot contract) and embeds it with :meth:`PolicyContract.to_metadata`;
* the policy node reads it back with :meth:`PolicyContract.from_metadata` and refuses the
  model unless :meth:`PolicyContract.check_against_robot` passes.

The metadata is a flat ``{key: JSON string}`` map, as ONNX ``metadata_props`` and a
TensorRT sidecar both store it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import yaml

from athena_description import paths
from athena_description.robot_contract import ContractError, RobotContract, load_robot_contract

ACTION_DIM = 23
OBS_INPUT_NAME = "obs"
ACTION_OUTPUT_NAME = "actions"

# Policy contract versions this workspace builds: 1, every term the current frame only;
# 2, a term may carry a history of its last ``history`` frames (oldest first).
SUPPORTED_CONTRACT_VERSIONS = (1, 2)

# Observation term names the node and the training task both implement. A model naming a
# term outside this set is refused: the node would not know how to build it.
KNOWN_TERMS = (
    "base_ang_vel",
    "projected_gravity",
    "velocity_command",
    "gait_phase",
    "joint_pos_rel",
    "joint_vel",
    "last_action",
)


@dataclass(frozen=True)
class ObservationTerm:
    """One slice of the observation vector: ``history`` frames of clip(scale*x), oldest first.

    ``size`` values per frame; the slice is ``size × history`` long. With history 1 it is
    the current frame; with history h it holds the frames of the last h policy steps, the
    newest last (Isaac Lab's per-term ``history_length`` with ``flatten_history_dim``).
    """

    name: str
    size: int
    scale: float
    clip: float
    joints: tuple[int, ...] = ()
    history: int = 1

    def __post_init__(self) -> None:
        if self.name not in KNOWN_TERMS:
            raise ContractError(f"unknown observation term {self.name!r}; known: {KNOWN_TERMS}")
        if self.joints and len(self.joints) != self.size:
            raise ContractError(f"term {self.name}: {len(self.joints)} joints for size {self.size}")
        if not isinstance(self.history, int) or self.history < 1:
            raise ContractError(f"term {self.name}: history {self.history!r} is not an integer "
                                ">= 1")

    @property
    def width(self) -> int:
        """Length of the term's slice: size × history."""
        return self.size * self.history


@dataclass(frozen=True)
class Rates:
    """Physics step, decimation, node rate and gait period (all in seconds / Hz)."""

    physics_dt: float
    decimation: int
    node_rate_hz: float
    gait_period: float

    @property
    def policy_dt(self) -> float:
        """Policy period (s): physics_dt × decimation."""
        return self.physics_dt * self.decimation

    @property
    def ticks_per_policy_step(self) -> int:
        """Node ticks per policy step (e.g. 500 Hz × 0.02 s = 10)."""
        return max(1, round(self.policy_dt * self.node_rate_hz))


@dataclass(frozen=True)
class PolicyContract:
    """Everything a deployed model promises about its inputs and outputs."""

    contract_version: int
    joint_names: tuple[str, ...]
    default_positions: tuple[float, ...]
    stiffness: tuple[float, ...]
    damping: tuple[float, ...]
    action_scale: float
    action_clip: float
    command_ranges: dict[str, tuple[float, float]]
    observation: tuple[ObservationTerm, ...]
    rates: Rates
    run_id: str = "untrained"
    git_commit: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    # -- derived -----------------------------------------------------------------------
    @property
    def obs_dim(self) -> int:
        """Length of the observation vector."""
        return sum(t.width for t in self.observation)

    def slices(self) -> dict[str, slice]:
        """Map term name -> slice of the observation vector (all its frames)."""
        out, start = {}, 0
        for term in self.observation:
            out[term.name] = slice(start, start + term.width)
            start += term.width
        return out

    def newest(self, name: str) -> slice:
        """The slice of term ``name``'s newest frame (its last ``size`` values)."""
        sl = self.slices()[name]
        size = next(t.size for t in self.observation if t.name == name)
        return slice(sl.stop - size, sl.stop)

    def actions_to_targets(self, actions: np.ndarray, robot: RobotContract) -> np.ndarray:
        """The contract's action law: default + scale × clip(action), clamped to limits."""
        a = np.clip(actions, -self.action_clip, self.action_clip)
        q = np.asarray(self.default_positions) + self.action_scale * a
        return np.clip(q, robot.lower_limits, robot.upper_limits)

    # -- (de)serialisation -------------------------------------------------------------
    def to_metadata(self) -> dict[str, str]:
        """Flat ``{key: JSON}`` map for ONNX ``metadata_props`` or an engine sidecar."""
        d = asdict(self)
        d["rates"]["policy_dt"] = self.rates.policy_dt
        d["observation"] = [
            {**asdict(t), "slice": [s.start, s.stop]}
            for t, s in zip(self.observation, self.slices().values())
        ]
        d["obs_dim"] = self.obs_dim
        d["action_dim"] = len(self.joint_names)
        d["input_name"] = OBS_INPUT_NAME
        d["output_name"] = ACTION_OUTPUT_NAME
        extra = d.pop("extra")
        d.update(extra)
        return {k: json.dumps(v) for k, v in d.items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> PolicyContract:
        """Parse the metadata of a model file; raise ContractError naming what is wrong."""
        if not meta:
            raise ContractError("the model carries no policy-contract metadata")
        try:
            d = {k: json.loads(v) for k, v in meta.items()}
        except (TypeError, json.JSONDecodeError) as exc:
            raise ContractError(f"policy-contract metadata is not JSON: {exc}") from exc
        required = ("contract_version", "joint_names", "default_positions", "stiffness",
                    "damping", "action_scale", "action_clip", "command_ranges",
                    "observation", "rates")
        missing = [k for k in required if k not in d]
        if missing:
            raise ContractError(f"policy-contract metadata lacks {missing}")
        try:
            obs = tuple(
                ObservationTerm(t["name"], int(t["size"]), float(t["scale"]), float(t["clip"]),
                                tuple(int(i) for i in t.get("joints", ())),
                                int(t.get("history", 1)))
                for t in d["observation"]
            )
            r = d["rates"]
            rates = Rates(float(r["physics_dt"]), int(r["decimation"]),
                          float(r["node_rate_hz"]), float(r["gait_period"]))
            known = set(required) | {"run_id", "git_commit", "obs_dim", "action_dim",
                                     "input_name", "output_name"}
            return cls(
                contract_version=int(d["contract_version"]),
                joint_names=tuple(d["joint_names"]),
                default_positions=tuple(float(x) for x in d["default_positions"]),
                stiffness=tuple(float(x) for x in d["stiffness"]),
                damping=tuple(float(x) for x in d["damping"]),
                action_scale=float(d["action_scale"]),
                action_clip=float(d["action_clip"]),
                command_ranges={k: (float(v[0]), float(v[1]))
                                for k, v in d["command_ranges"].items()},
                observation=obs,
                rates=rates,
                run_id=str(d.get("run_id", "unknown")),
                git_commit=str(d.get("git_commit", "unknown")),
                extra={k: v for k, v in d.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ContractError(f"malformed policy-contract metadata: {exc!r}") from exc

    # -- checks ------------------------------------------------------------------------
    def check_against_robot(self, robot: RobotContract, *, atol: float = 1e-6,
                            expected: PolicyContract | None = None) -> None:
        """Raise ContractError unless this model fits the robot (and the expected layout).

        Checks the contract version (one this workspace builds), joint names and order,
        default pose, training PD gains, and, when ``expected`` is given (the node passes
        the robot's own policy defaults), action scale, rates and the term names. The
        history of a term may differ from ``expected``'s: the node builds any.
        """
        problems: list[str] = []
        if self.contract_version not in SUPPORTED_CONTRACT_VERSIONS:
            problems.append(f"policy contract version {self.contract_version} is not one this "
                            f"node builds {SUPPORTED_CONTRACT_VERSIONS}")
        elif self.contract_version == 1 and any(t.history != 1 for t in self.observation):
            problems.append("contract version 1 with observation history (needs version 2)")
        if list(self.joint_names) != robot.joint_names:
            diff = [f"#{i}: model {m!r} vs robot {r!r}" for i, (m, r) in
                    enumerate(zip(self.joint_names, robot.joint_names)) if m != r]
            problems.append(f"joint names/order differ ({len(self.joint_names)} vs "
                            f"{robot.num_joints} joints; {'; '.join(diff[:4])})")
        else:
            for label, mine, theirs in (("default pose", self.default_positions,
                                         robot.default_positions),
                                        ("stiffness", self.stiffness, robot.stiffness),
                                        ("damping", self.damping, robot.damping)):
                bad = np.flatnonzero(~np.isclose(mine, theirs, atol=atol))
                if bad.size:
                    i = int(bad[0])
                    problems.append(f"{label} differs at {robot.joint_names[i]}: model "
                                    f"{mine[i]} vs robot {theirs[i]}")
        for t in self.observation:
            if any(not 0 <= i < robot.num_joints for i in t.joints):
                problems.append(f"term {t.name} indexes a joint outside 0..{robot.num_joints-1}")
        if expected is not None:
            if not np.isclose(self.action_scale, expected.action_scale):
                problems.append(f"action scale {self.action_scale} != {expected.action_scale}")
            if self.rates != expected.rates:
                problems.append(f"rates {self.rates} != {expected.rates}")
            if [t.name for t in self.observation] != [t.name for t in expected.observation]:
                problems.append("observation terms differ from the contract's: "
                                f"{[t.name for t in self.observation]}")
        if problems:
            raise ContractError("model does not match the athena robot contract: "
                                + " | ".join(problems))


def _from_yaml(data: dict, robot: RobotContract) -> PolicyContract:
    r = data["rates"]
    return PolicyContract(
        contract_version=int(data["contract_version"]),
        joint_names=tuple(robot.joint_names),
        default_positions=tuple(robot.default_positions.tolist()),
        stiffness=tuple(robot.stiffness.tolist()),
        damping=tuple(robot.damping.tolist()),
        action_scale=float(data["action_scale"]),
        action_clip=float(data["action_clip"]),
        command_ranges={k: (float(v[0]), float(v[1])) for k, v in data["command_ranges"].items()},
        observation=tuple(
            ObservationTerm(t["name"], int(t["size"]), float(t["scale"]), float(t["clip"]),
                            tuple(t.get("joints", ())), int(t.get("history", 1)))
            for t in data["observation"]
        ),
        rates=Rates(float(r["physics_dt"]), int(r["decimation"]), float(r["node_rate_hz"]),
                    float(r["gait_period"])),
    )


@lru_cache(maxsize=1)
def default_policy_contract() -> PolicyContract:
    """The contract training uses, resolved against the robot contract."""
    with open(paths.policy_yaml(), encoding="utf-8") as f:
        contract = _from_yaml(yaml.safe_load(f), load_robot_contract())
    contract.check_against_robot(load_robot_contract())
    return contract


def with_provenance(contract: PolicyContract, run_id: str, git_commit: str,
                    **extra: Any) -> PolicyContract:
    """Return a copy stamped with the training run id, git commit and extra fields."""
    return replace(contract, run_id=run_id, git_commit=git_commit,
                   extra={**contract.extra, **extra})
