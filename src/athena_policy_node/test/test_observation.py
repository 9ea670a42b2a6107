"""Observation builder terms against hand-computed values; joint matching by name."""

from __future__ import annotations

import math

import numpy as np
import pytest
from athena_policy_node.observation import (
    JointMatcher,
    MissingJointsError,
    ObservationBuilder,
    gait_phase,
    projected_gravity,
)

from athena_description import default_policy_contract, load_robot_contract


def test_projected_gravity_upright_and_tilted() -> None:
    """Upright → (0,0,-1); rolled 90° about x → gravity along -y of the body... (hand value)."""
    assert np.allclose(projected_gravity(np.array([0, 0, 0, 1.0])), [0, 0, -1])
    a = math.pi / 2
    g = projected_gravity(np.array([math.sin(a / 2), 0, 0, math.cos(a / 2)]))
    assert np.allclose(g, [0, -1, 0], atol=1e-12)


def test_gait_phase() -> None:
    """φ = 0.25 at t = 0.2 s with a 0.8 s period → (1, 0); wraps each period."""
    assert np.allclose(gait_phase(0.2, 0.8), [1.0, 0.0], atol=1e-12)
    assert np.allclose(gait_phase(1.0, 0.8), gait_phase(0.2, 0.8))


def test_build_matches_hand_layout() -> None:
    """Each slice equals clip(scale × term) computed by hand from the contract."""
    c = default_policy_contract()
    robot = load_robot_contract()
    b = ObservationBuilder(c)
    assert b.dim == 47
    rng = np.random.default_rng(1)
    ang, cmd = rng.normal(size=3), np.array([0.3, 0.1, -0.2])
    q = robot.default_positions + rng.normal(0, 0.1, 23)
    qd, act = rng.normal(size=23) * 3, rng.normal(size=23)
    obs = b.build(ang, np.array([0, 0, 0, 1.0]), cmd, 0.2, q, qd, act).copy()
    raw = {"base_ang_vel": ang, "projected_gravity": np.array([0, 0, -1.0]),
           "velocity_command": cmd, "gait_phase": np.array([1.0, 0.0]),
           "joint_pos_rel": q - robot.default_positions, "joint_vel": qd, "last_action": act}
    for term, sl in zip(c.observation, c.slices().values()):
        idx = np.asarray(term.joints) if term.joints else slice(None)
        v = raw[term.name] if not term.joints else raw[term.name][idx]
        expect = np.clip(v * term.scale, -term.clip, term.clip)
        assert np.allclose(obs[sl], expect, atol=1e-5), term.name


def test_joint_matcher_reorders_and_ignores_extras() -> None:
    """JointState in any order with extra joints maps to contract order; missing → error."""
    names = list(load_robot_contract().joint_names)
    m = JointMatcher(names)
    shuffled = names[::-1] + ["extra_joint"]
    values = [float(names.index(n)) if n in names else 99.0 for n in shuffled]
    assert np.allclose(m.reorder(shuffled, values), np.arange(len(names)))
    with pytest.raises(MissingJointsError):
        m.reorder(names[1:], list(range(len(names) - 1)))
    with pytest.raises(MissingJointsError):
        m.reorder(names, [0.0] * (len(names) - 1))
    with pytest.raises(MissingJointsError, match="twice"):   # which value would be the joint's?
        m.reorder(names + [names[3]], [0.0] * (len(names) + 1))
