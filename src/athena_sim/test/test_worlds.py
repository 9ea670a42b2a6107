"""The sim's terrain worlds: each builds, its ground is where World.height says, the robot stands.

Real MuJoCo, no ROS: the worlds are the sim node's scene (athena_sim.sim_node.load_model).
"""

from __future__ import annotations

import mujoco
import numpy as np
import pytest
from athena_sim.sim_node import MotorCommands, contract_indices, load_model

from athena_description import load_robot_contract
from athena_sim import worlds

ROBOT = load_robot_contract()


def _ray_ground(model: mujoco.MjModel, data: mujoco.MjData, x: float, y: float) -> float:
    """The highest static surface under (x, y), by MuJoCo's ray cast from 5 m down."""
    geomid = np.zeros(1, dtype=np.int32)
    # geomgroup None, flg_static 1, bodyexclude 1 (the robot's pelvis is body 1; its other
    # bodies are excluded by hitting only world geoms, checked below)
    dist = mujoco.mj_ray(model, data, np.array([x, y, 5.0]), np.array([0.0, 0.0, -1.0]), None,
                         1, -1, geomid)
    assert dist >= 0 and model.geom_bodyid[geomid[0]] == 0, (x, y)
    return 5.0 - dist


@pytest.mark.parametrize("name", worlds.WORLDS)
def test_the_ground_is_where_world_height_says(name: str) -> None:
    model, world = worlds.build(name)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(1)
    # robot-free points: ahead of the robot, across the strip and beside it
    xs = rng.uniform(0.6, 25.0, 300)
    ys = rng.uniform(-2.3, 2.3, 300)
    err = [abs(_ray_ground(model, data, x, y) - world.height(x, y)) for x, y in zip(xs, ys)
           if abs(abs(y) - worlds.WIDTH_M / 2) > 0.01]   # (not on the strip's edge itself)
    assert max(err) < 2e-3, (name, max(err))
    assert world.start_z == pytest.approx(world.height(0.0, 0.0))


def test_a_world_that_is_not_there_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown world 'moon'"):
        worlds.build("moon")
    for bad in ("stairs_up@2", "stairs_up@-0.1", "stairs_up@high"):
        with pytest.raises(ValueError, match="difficulty after '@'"):
            worlds.parse(bad)


@pytest.mark.parametrize(("spec", "rise"), [("stairs_up@0", 18 * 0.05),
                                            ("stairs_up@1", 18 * 0.12),
                                            ("stairs_up@0.5", 18 * 0.085),
                                            ("slope_up@1", 5.4 * 0.21)])
def test_a_difficulty_sizes_the_world_as_the_gate_ranges_say(spec: str, rise: float) -> None:
    # the top of the stairs (18 steps) or the ramp (5.4 m): the gate's step height or slope
    # at D, over the gate's run of terrain (walking_gate.TERRAIN_RUN_M)
    model, world = worlds.build(spec)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    assert world.height(20.0, 0.0) == pytest.approx(rise)
    assert _ray_ground(model, data, 20.0, 0.0) == pytest.approx(rise, abs=2e-3)
    # the name alone keeps the demo's sizes (10 cm steps)
    assert worlds.parse("stairs_up")[1] == worlds.WorldParams()


@pytest.mark.parametrize("name", worlds.WORLDS)
def test_the_robot_stands_at_its_start_on_every_world(name: str) -> None:
    # the stand the node sends (default pose, the contract's gains) for 1 s: on its feet, on
    # the ground of its start (a landing for stairs_down / slope_down), not sunk, not fallen
    model, data = load_model(world=name)
    _, world = worlds.build(name)
    qadr, vadr, act = contract_indices(model, ROBOT.joint_names)
    motors = MotorCommands(model, act, vadr, ROBOT.effort_limits)
    zero = np.zeros(ROBOT.num_joints)
    for _ in range(500):
        motors.apply(data, ROBOT.default_positions, zero, ROBOT.stiffness, ROBOT.damping, zero)
        mujoco.mj_step(model, data)
    height = data.qpos[2] - world.start_z
    assert 0.6 < height < 0.9, (name, height)
    assert abs(data.qpos[0]) < 0.05 and abs(data.qpos[1]) < 0.05, (name, data.qpos[:2])
