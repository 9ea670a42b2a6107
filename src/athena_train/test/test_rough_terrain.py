"""Athena-Velocity-Rough-v0: a robot holding its default pose stands on every terrain family.

Issue 17: with MuJoCo's own contacts (the flat preset) a triangle-mesh terrain collides as its
convex hull, and 34-100 % of zero-action episodes ended on base contact within 10 steps. With
the ``newton_rough`` preset (Newton's collision pipeline) none may: real Isaac Lab on the CPU,
one env on each tile of a 2-level grid with one column per family (the easiest and the
hardest half of the curriculum), the task's randomization without pushes, 0.5 s of zero
actions.

The env is built in a subprocess (``python -m athena_train.terrain_eval stand``, the command
the GPU check uses): this module's process may already hold another Isaac Lab env.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")

# 0.5 s at the 20 ms policy period: the feet have settled on the mesh after ~0.1 s; zero
# actions have no balance, and on random_rough a robot tips over by itself within ~1.2 s
STEPS = 25


def test_rough_task_config_and_flat_unchanged() -> None:
    """The rough task uses Newton's collision pipeline; the flat task MuJoCo's, as before."""
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.tasks.terrains import FAMILIES, column_families
    from isaaclab_tasks.utils import load_cfg_from_registry

    rough = load_cfg_from_registry("Athena-Velocity-Rough-v0", "env_cfg_entry_point")
    flat = load_cfg_from_registry("Athena-Velocity-Flat-v0", "env_cfg_entry_point")
    assert rough.physics_preset == "newton_rough" and flat.physics_preset == "newton"
    rs, fs = rough.sim.physics.solver_cfg, flat.sim.physics.solver_cfg
    assert not rs.use_mujoco_contacts and rough.sim.physics.collision_cfg is not None
    assert (rs.nconmax, rs.njmax, rough.sim.physics.num_substeps) == (64, 256, 1)
    assert fs.use_mujoco_contacts and flat.sim.physics.collision_cfg is None
    assert (fs.nconmax, fs.njmax) == (24, 64)
    gen = rough.scene.terrain.terrain_generator
    assert set(column_families(gen)) == set(FAMILIES) and gen.curriculum
    # blind actor: the same observation as on flat ground; the terrain is the critic's only
    assert rough.observations.policy.__dict__.keys() == flat.observations.policy.__dict__.keys()
    assert not hasattr(rough.observations.policy, "height_scan")
    assert rough.observations.critic.height_scan.params["sensor_cfg"].name == "height_scanner"
    assert rough.scene.height_scanner.prim_path.endswith("/pelvis")
    assert flat.scene.height_scanner is None and not hasattr(flat.observations.critic,
                                                                "height_scan")
    agents = load_cfg_from_registry("Athena-Velocity-Rough-v0", "rsl_rl_cfg_entry_point")
    assert agents.algorithm.entropy_coef < 0.008
    dr = rough.randomization
    assert dr.friction_range[0] == pytest.approx(0.3)
    assert rough.scene.terrain.physics_material.dynamic_friction == pytest.approx(0.3)
    assert dr.push_velocity == pytest.approx(1.0) and rough.events.payload is not None
    assert flat.randomization.push_velocity == pytest.approx(0.5) and flat.events.payload is None
    # terrain: pelvis or torso contact is a fall, a knee's a penalty; flat: the knees end it
    from athena_description.robot_contract import load_robot_contract

    robot = load_robot_contract()
    links = lambda term: term.params["sensor_cfg"].body_names  # noqa: E731
    assert links(rough.terminations.base_contact) == list(robot.fall_contact_links)
    assert links(rough.rewards.undesired_contacts) == ["left_knee_link", "right_knee_link"]
    assert rough.rewards.undesired_contacts.weight < 0
    assert links(flat.terminations.base_contact) == list(robot.termination_contact_links)
    assert flat.rewards.undesired_contacts is None
    # curriculum: judged on falls and on the tracking reward the gate's error corresponds to
    from athena_description.walking_gate import STEP_HEIGHT_M
    from athena_train.tasks.mdp import terrain_levels_tracking

    cur = rough.curriculum.terrain_levels
    assert cur.func is terrain_levels_tracking and flat.curriculum.terrain_levels is None
    track = getattr(rough.rewards, cur.params.get("track_term", "track_lin_vel_xy_exp"))
    assert track.weight > 0 and "std" in track.params
    # a zero command means stand: the legs' deviation from the default pose costs
    stand = rough.rewards.stand_still
    assert stand.weight < 0 and stand.params["command_name"] == "base_velocity"
    assert not hasattr(flat.rewards, "stand_still")
    standing = rough.commands.base_velocity.rel_standing_envs
    assert standing > flat.commands.base_velocity.rel_standing_envs
    # a swing below the tallest riser costs at touchdown (rough only), feet in one order
    swing = rough.rewards.swing_apex
    assert swing.weight < 0 and swing.params["target_m"] == STEP_HEIGHT_M[1]
    assert swing.params["sensor_cfg"].body_names == swing.params["asset_cfg"].body_names
    assert not hasattr(flat.rewards, "swing_apex")


def test_solver_overrides_from_the_command_line() -> None:
    """``train --solver KEY=VALUE``: typed like the field, a typo or a bad value refused early."""
    from athena_train.tasks.physics import override_solver, physics_cfg
    from athena_train.train import main

    physics = physics_cfg("newton_rough", "cpu", 64)
    done = override_solver(physics, ["njmax=512", "tolerance=1e-5", "iterations=7"])
    assert done == {"njmax": 512, "tolerance": 1e-5, "iterations": 7}
    assert (physics.solver_cfg.njmax, physics.solver_cfg.iterations) == (512, 7)
    assert isinstance(physics.solver_cfg.tolerance, float)
    for bad in (["njmx=3"], ["njmax=abc"], ["njmax"]):
        with pytest.raises(ValueError, match="--solver"):
            override_solver(physics, bad)
        with pytest.raises(SystemExit) as exc:  # before any simulation starts
            main(["--device", "cpu", "--solver", bad[0]])
        assert exc.value.code == 2


def test_zero_action_standing_on_every_family(tmp_path: Path) -> None:
    out = tmp_path / "stand.json"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "athena_train.terrain_eval", "stand", "--device", "cpu",
           "--per_tile", "1", "--num_rows", "2", "--steps", str(STEPS), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    from athena_train.tasks.terrains import FAMILIES

    assert result["physics_preset"] == "newton_rough" and not result["use_mujoco_contacts"]
    assert set(result["families"]) == set(FAMILIES)
    # the preset's constraint-row and contact capacities held for every world
    assert result["physics_after_steps"]["worlds_overflowed"] == 0, result["physics_after_steps"]
    for fam, r in result["families"].items():
        assert r["episodes"] == 2, fam  # one tile per level
        assert r[f"base_contact_within_{STEPS}_steps"] == 0, (fam, r)
        assert r["any_termination"] == 0, (fam, r)
        # standing, not sinking into the mesh or thrown up: about the standing height
        assert 0.65 < r["mean_base_height_end_m"] < 0.85, (fam, r)
        # the critic's terrain: 17 x 11 rays, the ground under the robot where it stands
        assert r["height_scan_rays"] == 187 and r["height_scan_finite"], (fam, r)
        assert r["height_scan_median_error_m"] < (0.06 if fam == "random_rough" else 0.02), (
            fam, r)
