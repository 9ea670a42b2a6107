"""The robot and policy contracts load, hold the documented values and round-trip."""

import json
from dataclasses import replace

import numpy as np
import pytest

from athena_description import (
    ContractError,
    PolicyContract,
    default_policy_contract,
    load_robot_contract,
)

CONTRACT_ORDER = [
    "left_hip_pitch_joint", "left_hip_roll_joint", "left_hip_yaw_joint", "left_knee_joint",
    "left_ankle_pitch_joint", "left_ankle_roll_joint",
    "right_hip_pitch_joint", "right_hip_roll_joint", "right_hip_yaw_joint", "right_knee_joint",
    "right_ankle_pitch_joint", "right_ankle_roll_joint",
    "waist_yaw_joint",
    "left_shoulder_pitch_joint", "left_shoulder_roll_joint", "left_shoulder_yaw_joint",
    "left_elbow_joint", "left_wrist_roll_joint",
    "right_shoulder_pitch_joint", "right_shoulder_roll_joint", "right_shoulder_yaw_joint",
    "right_elbow_joint", "right_wrist_roll_joint",
]


def test_joint_order_is_the_documented_one() -> None:
    assert load_robot_contract().joint_names == CONTRACT_ORDER


def test_g1_class_limits() -> None:
    r = load_robot_contract()
    legs = r.effort_limits[:12]
    assert legs.min() >= 50 and legs.max() <= 139
    assert np.all(r.effort_limits[13:] == 25)
    assert np.all((r.velocity_limits >= 20) & (r.velocity_limits <= 37))
    assert np.all((r.lower_limits <= r.default_positions)
                  & (r.default_positions <= r.upper_limits))


def test_fall_links_are_the_terrain_subset_of_the_termination_links(tmp_path) -> None:
    """Pelvis and torso end a terrain episode; knees only a flat one; a stray link is refused."""
    import yaml
    from athena_description.robot_contract import load_robot_contract_from

    from athena_description import paths

    r = load_robot_contract()
    assert r.fall_contact_links == ("pelvis", "torso_link")
    assert set(r.fall_contact_links) < set(r.termination_contact_links)
    data = yaml.safe_load(paths.robot_yaml().read_text(encoding="utf-8"))
    data["fall_contact_links"] = ["pelvis", "left_ankle_roll_link"]
    bad = tmp_path / "robot.yaml"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ContractError, match="left_ankle_roll_link"):
        load_robot_contract_from(bad)


def test_pd_law_is_clipped_to_effort() -> None:
    r = load_robot_contract()
    q = r.default_positions
    tau = r.pd_torque(q + 10.0, q, np.zeros(23))
    assert np.allclose(tau, r.effort_limits)


def test_observation_layout_carries_five_frames_of_proprioception() -> None:
    """Version 2: 47 values per frame, 5 frames of all but the command and the phase."""
    p = default_policy_contract()
    s = p.slices()
    assert p.contract_version == 2
    assert sum(t.size for t in p.observation) == 47
    assert p.obs_dim == 215
    assert [(k, v.start, v.stop) for k, v in s.items()] == [
        ("base_ang_vel", 0, 15), ("projected_gravity", 15, 30), ("velocity_command", 30, 33),
        ("gait_phase", 33, 35), ("joint_pos_rel", 35, 95), ("joint_vel", 95, 155),
        ("last_action", 155, 215)]
    assert {t.name: t.history for t in p.observation} == {
        "base_ang_vel": 5, "projected_gravity": 5, "velocity_command": 1, "gait_phase": 1,
        "joint_pos_rel": 5, "joint_vel": 5, "last_action": 5}
    assert p.rates.policy_dt == pytest.approx(0.02)
    assert p.rates.ticks_per_policy_step == 10


def test_metadata_round_trip() -> None:
    p = default_policy_contract()
    meta = p.to_metadata()
    assert all(isinstance(v, str) for v in meta.values())
    assert json.loads(meta["observation"])[4]["slice"] == [35, 95]
    assert json.loads(meta["observation"])[4]["history"] == 5
    assert PolicyContract.from_metadata(meta) == p


def _version1(p: PolicyContract) -> PolicyContract:
    """The contract as version 1 models carry it: no history, 47 values."""
    return replace(p, contract_version=1,
                   observation=tuple(replace(t, history=1) for t in p.observation))


def test_version_1_models_still_fit() -> None:
    """A version 1 model (metadata without history: the committed flat2) is built, 47 wide."""
    robot, p = load_robot_contract(), default_policy_contract()
    meta = _version1(p).to_metadata()
    terms = json.loads(meta["observation"])
    for t in terms:
        t.pop("history")  # what a version 1 export wrote
    v1 = PolicyContract.from_metadata({**meta, "observation": json.dumps(terms)})
    assert v1.obs_dim == 47 and all(t.history == 1 for t in v1.observation)
    v1.check_against_robot(robot, expected=p)


def test_unbuildable_versions_and_histories_are_refused() -> None:
    robot, p = load_robot_contract(), default_policy_contract()
    for version in (0, 3):
        with pytest.raises(ContractError, match="not one this node builds"):
            replace(p, contract_version=version).check_against_robot(robot, expected=p)
    with pytest.raises(ContractError, match="needs version 2"):
        replace(p, contract_version=1).check_against_robot(robot, expected=p)
    terms = json.loads(p.to_metadata()["observation"])
    for bad in (0, -1):
        terms[0]["history"] = bad
        with pytest.raises(ContractError, match="history"):
            PolicyContract.from_metadata({**p.to_metadata(), "observation": json.dumps(terms)})


def test_mismatched_models_are_refused() -> None:
    robot, p = load_robot_contract(), default_policy_contract()
    meta = p.to_metadata()
    swapped = list(p.joint_names)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    for key, value in (("joint_names", swapped),
                       ("default_positions", [0.0] * 23),
                       ("action_scale", 0.5)):
        bad = PolicyContract.from_metadata({**meta, key: json.dumps(value)})
        with pytest.raises(ContractError):
            bad.check_against_robot(robot, expected=p)
    with pytest.raises(ContractError, match="no policy-contract metadata"):
        PolicyContract.from_metadata({})
    with pytest.raises(ContractError, match="lacks"):
        PolicyContract.from_metadata({k: v for k, v in meta.items() if k != "rates"})
