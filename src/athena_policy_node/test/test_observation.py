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


def _state(rng: np.random.Generator) -> dict:
    robot = load_robot_contract()
    return {"ang_vel": rng.normal(size=3), "quat_xyzw": np.array([0, 0, 0, 1.0]),
            "cmd": rng.uniform(-0.3, 0.3, 3), "phase_time": 0.2,
            "q": robot.default_positions + rng.normal(0, 0.1, 23),
            "qd": rng.normal(size=23) * 3, "last_action": rng.normal(size=23)}


def _frames(c, state: dict) -> dict[str, np.ndarray]:
    """Each term's frame, clip(scale × term), computed by hand from the contract."""
    robot = load_robot_contract()
    raw = {"base_ang_vel": state["ang_vel"], "projected_gravity": np.array([0, 0, -1.0]),
           "velocity_command": state["cmd"], "gait_phase": np.array([1.0, 0.0]),
           "joint_pos_rel": state["q"] - robot.default_positions, "joint_vel": state["qd"],
           "last_action": state["last_action"]}
    out = {}
    for term in c.observation:
        v = raw[term.name][np.asarray(term.joints)] if term.joints else raw[term.name]
        out[term.name] = np.clip(v * term.scale, -term.clip, term.clip)
    return out


def test_build_matches_hand_layout() -> None:
    """Each slice is its term's frames; the first build fills every past frame with its own."""
    c = default_policy_contract()
    b = ObservationBuilder(c)
    assert b.dim == c.obs_dim == 215
    state = _state(np.random.default_rng(1))
    obs = b.build(**state).copy()
    frame = _frames(c, state)
    for term, sl in zip(c.observation, c.slices().values()):
        assert np.allclose(obs[sl], np.tile(frame[term.name], term.history), atol=1e-5), \
            term.name


def test_history_is_the_last_frames_oldest_first_and_reset_forgets() -> None:
    """Frames shift by one per build (newest last); after reset the next frame fills again."""
    c = default_policy_contract()
    b = ObservationBuilder(c)
    rng = np.random.default_rng(2)
    states = [_state(rng) for _ in range(7)]
    for s in states[:3]:
        obs = b.build(**s).copy()
    f = [_frames(c, s) for s in states]
    for term, sl in zip(c.observation, c.slices().values()):
        h = term.history
        want = [f[0]] * (h - 2) + [f[1], f[2]] if h > 1 else [f[2]]
        assert np.allclose(obs[sl], np.concatenate([w[term.name] for w in want]), atol=1e-5)
    for s in states[3:6]:
        obs = b.build(**s).copy()
    sl = c.slices()["joint_vel"]
    assert np.allclose(obs[sl], np.concatenate([w["joint_vel"] for w in f[1:6]]), atol=1e-5)
    b.reset()
    obs = b.build(**states[6]).copy()
    assert np.allclose(obs[sl], np.tile(f[6]["joint_vel"], 5), atol=1e-5)


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
