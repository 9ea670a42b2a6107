"""evaluate.gate_env_cfg: each walking_gate protocol's conditions become the env's.

Config only (no env is built): the rollouts themselves are measured by the evaluations, on
the GPU and on this CPU (benchmarks/results/stand, rough3).
"""

from __future__ import annotations

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")

from athena_description import walking_gate as gate  # noqa: E402


@pytest.mark.parametrize("name", sorted(gate.PROTOCOLS))
def test_protocol_conditions_reach_the_env_config(name: str) -> None:
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.evaluate import gate_env_cfg
    from isaaclab_tasks.utils import load_cfg_from_registry

    p = gate.PROTOCOLS[name]
    cfg = load_cfg_from_registry("Athena-Velocity-Flat-v0", "env_cfg_entry_point")
    gate_env_cfg(cfg, 12, p)
    ev, r = cfg.events, cfg.commands.base_velocity.ranges
    assert cfg.scene.num_envs == 12 and cfg.episode_length_s == gate.EPISODE_S
    assert (r.lin_vel_x, r.lin_vel_y, r.ang_vel_z) == tuple(
        tuple(p.command_ranges[k]) for k in ("lin_vel_x", "lin_vel_y", "ang_vel_z"))
    assert cfg.commands.base_velocity.rel_standing_envs == 0.0
    # no pushes where the protocol has none (stand: a push would move any robot)
    assert (ev.push_robot is None) == (p.push_speed == 0.0)
    if ev.push_robot is not None:  # the gates' push: its speed in a random direction
        from athena_train.tasks import mdp

        assert ev.push_robot.func is mdp.push_by_speed
        assert ev.push_robot.params == {"speed": p.push_speed}
    assert ev.physics_material.params["static_friction_range"] == p.friction_range
    assert (ev.payload is None) == (p.payload_kg == (0.0, 0.0))
    assert (ev.motor_strength is None) == (p.motor_strength == (1.0, 1.0))
    assert not cfg.observations.policy.enable_corruption
    # base_contact split into one term per link: the same episodes end, the cause is named
    from athena_description.robot_contract import load_robot_contract

    links = load_robot_contract().termination_contact_links
    assert cfg.terminations.base_contact is None
    for link in links:
        term = getattr(cfg.terminations, f"contact_{link}")
        assert term.params["sensor_cfg"].body_names == [link]


def test_fall_links_choose_which_contacts_end_an_episode() -> None:
    """``fall_links``: which of the robot's contact links end an episode, whatever the task's."""
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.evaluate import gate_env_cfg
    from isaaclab_tasks.utils import load_cfg_from_registry

    cfg = load_cfg_from_registry("Athena-Velocity-Flat-v0", "env_cfg_entry_point")
    gate_env_cfg(cfg, 4, gate.WALKING, fall_links=["pelvis", "torso_link"])
    assert cfg.terminations.contact_pelvis is not None
    assert not hasattr(cfg.terminations, "contact_left_knee_link")
    cfg = load_cfg_from_registry("Athena-Velocity-Flat-v0", "env_cfg_entry_point")
    with pytest.raises(ValueError, match="not termination contact links"):
        gate_env_cfg(cfg, 4, gate.WALKING, fall_links=["left_ankle_roll_link"])
    # the rough task ends episodes on pelvis and torso only; its gate may count the knees
    rough = load_cfg_from_registry("Athena-Velocity-Rough-v0", "env_cfg_entry_point")
    gate_env_cfg(rough, 4, gate.ROBUSTNESS)
    assert not hasattr(rough.terminations, "contact_left_knee_link")
    assert rough.terminations.contact_torso_link is not None
    rough = load_cfg_from_registry("Athena-Velocity-Rough-v0", "env_cfg_entry_point")
    gate_env_cfg(rough, 4, gate.ROBUSTNESS, fall_links=["pelvis", "left_knee_link"])
    assert rough.terminations.contact_left_knee_link is not None
    assert not hasattr(rough.terminations, "contact_torso_link")
