"""The mirror of an observation is the observation of the mirrored robot (train --symmetry).

Real Isaac Lab (Newton + MuJoCo-Warp, CPU), the flat task with 2 robots, no noise and no
randomization. Robot 0 gets a random state (joint angles and rates, a tilted base, a base
velocity), a command, an action and a gait phase; robot 1 gets their mirror images (y -> -y:
``left_*`` and ``right_*`` joints swapped, roll and yaw angles negated, the quaternion's x and
z negated, the phase half a period on). Then the actor's and the critic's observations of
robot 1, as the env computes them, must equal :mod:`athena_train.symmetry`'s mirror of robot
0's, history included. The same process trains one PPO iteration with the augmentation on,
through rsl-rl's runner (each mini-batch and its mirror image). The joint map is checked
against the robot contract without a simulator; every critic term of the rough task has a
mirror rule and its height-scan rays mirror onto rays.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")


def _edit(cfg: object) -> None:
    r = cfg.randomization
    r.obs_noise = r.pushes = r.masses = r.friction = r.base_com = r.motor_strength = False
    r.payload = r.latency = False
    cfg.apply_randomization()


def _mirror_state(u: object, sym: object) -> None:
    """Robot 0: a random state; robot 1: its mirror image (both relative to their origins)."""
    import torch
    from athena_train.symmetry import joint_mirror

    robot = u.scene["robot"]
    axes = {j.name: j.axis for j in _robot_contract().joints}
    perm, sign = joint_mirror(list(robot.joint_names), axes)
    perm, sign = torch.tensor(perm), torch.tensor(sign)
    gen = torch.Generator().manual_seed(11)
    ids = torch.tensor([0, 1])
    q = robot.data.default_joint_pos.torch.clone()
    lo, hi = robot.data.soft_joint_pos_limits.torch[0].unbind(-1)
    q[0] = torch.clamp(q[0] + 0.3 * torch.randn(q.shape[1], generator=gen), lo, hi)
    q[1] = sign * q[0, perm]
    qd = torch.zeros_like(q)
    qd[0] = 2.0 * torch.randn(q.shape[1], generator=gen)
    qd[1] = sign * qd[0, perm]
    robot.write_joint_state_to_sim_index(position=q, velocity=qd, env_ids=ids)
    origins = u.scene.env_origins.cpu()
    pose = torch.zeros(2, 7)
    pose[:, :3] = origins[:2] + torch.tensor([0.1, 0.2, 0.8])
    pose[1, 1] = origins[1, 1] - 0.2
    quat = torch.nn.functional.normalize(torch.tensor([0.08, -0.05, 0.3, 0.95]), dim=0)
    pose[0, 3:] = quat  # (x, y, z, w): tilted and turned
    pose[1, 3:] = quat * torch.tensor([-1.0, 1.0, -1.0, 1.0])
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=ids)
    vel = torch.zeros(2, 6)
    vel[0] = torch.tensor([0.4, 0.15, -0.05, 0.3, -0.2, 0.6])
    vel[1] = vel[0] * torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    robot.write_root_velocity_to_sim_index(root_velocity=vel, env_ids=ids)
    cmd = u.command_manager.get_term("base_velocity").vel_command_b
    cmd[0] = torch.tensor([0.6, 0.2, 0.5])
    cmd[1] = torch.tensor([0.6, -0.2, -0.5])
    action = torch.zeros(2, u.action_manager.total_action_dim)
    action[0] = torch.randn(action.shape[1], generator=gen)
    action[1] = sym.actions(action[0])
    u.action_manager.process_action(action)
    half = round(0.5 * u.cfg.observations.policy.gait_phase.params["period"] / u.step_dt)
    u.episode_length_buf[0] = 7
    u.episode_length_buf[1] = 7 + half


def _robot_contract() -> object:
    from athena_description.robot_contract import load_robot_contract

    return load_robot_contract()


def _run(out: Path) -> None:
    """One process: mirrored states and their observations; one PPO iteration, augmented."""
    import tempfile

    import torch

    from athena_train import symmetry, train

    env, agent_cfg = train.make_env_and_cfg("Athena-Velocity-Flat-v0", 2, "cpu", 3,
                                            edit_env_cfg=_edit)
    u = env.unwrapped
    sym = symmetry.env_mirror(env)
    _mirror_state(u, sym)
    u.scene.update(dt=u.physics_dt)
    for _ in range(6):  # every frame of the history from the state just written
        obs = u.observation_manager.compute(update_history=True)
    rec = {}
    for group in ("policy", "critic"):
        x = obs[group]
        rec[group] = {"robot1": x[1].tolist(), "mirror_of_robot0": sym.groups[group](x[0]).tolist(),
                      "twice": sym.groups[group](sym.groups[group](x)).sub(x).abs().max().item(),
                      "terms": u.observation_manager.active_terms[group]}
    # one PPO iteration with the augmentation, through rsl-rl's runner
    symmetry.enable(agent_cfg)
    agent_cfg.num_steps_per_env, agent_cfg.max_iterations = 4, 1
    agent_cfg.algorithm.num_mini_batches = 2
    with tempfile.TemporaryDirectory() as d:
        runner = train.prepare_runner(env, agent_cfg, Path(d), resume=False)
        seen = []
        inner = runner.alg.symmetry.data_augmentation_func

        def spy(env: object, obs: object = None, actions: torch.Tensor | None = None) -> tuple:
            o, a = inner(env=env, obs=obs, actions=actions)
            seen.append((None if obs is None else obs.batch_size[0],
                         None if o is None else o.batch_size[0]))
            return o, a

        runner.alg.symmetry.data_augmentation_func = spy
        train.learn(runner, env, agent_cfg, Path(d))
        rec["augmented_batches"] = seen
    out.write_text(json.dumps(rec))
    env.close()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("symmetry") / "run.json"
    proc = subprocess.run([sys.executable, __file__, str(out)], capture_output=True, text=True,
                          timeout=900, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("group", ["policy", "critic"])
def test_mirrored_robot_sees_the_mirrored_observation(run: dict, group: str) -> None:
    import numpy as np

    rec = run[group]
    np.testing.assert_allclose(rec["robot1"], rec["mirror_of_robot0"], atol=1e-4,
                               err_msg=f"{group}: {rec['terms']}")
    assert rec["twice"] < 1e-6  # the mirror is its own inverse
    assert np.abs(np.array(rec["robot1"])).max() > 0.1  # a state, not zeros


def test_ppo_trains_on_each_minibatch_and_its_mirror(run: dict) -> None:
    batches = run["augmented_batches"]
    assert batches, "rsl-rl never called the augmentation"
    assert all(n_out == 2 * n_in for n_in, n_out in batches if n_in is not None), batches


@pytest.mark.parametrize("task", ["Athena-Velocity-Flat-v0", "Athena-Velocity-Rough-v0"])
def test_training_mirrors_by_default_and_can_be_told_not_to(task: str) -> None:
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from athena_train.symmetry import AUGMENT, enable
    from isaaclab_tasks.utils import load_cfg_from_registry

    agent_cfg = load_cfg_from_registry(task, "rsl_rl_cfg_entry_point")
    sym = agent_cfg.algorithm.symmetry_cfg
    assert sym is not None and sym.use_data_augmentation
    assert sym.data_augmentation_func == AUGMENT
    enable(agent_cfg, False)  # train --no-symmetry
    assert agent_cfg.algorithm.symmetry_cfg is None


def test_joint_mirror_follows_the_robot_contract() -> None:
    import numpy as np
    from athena_train.symmetry import joint_mirror, partner_name

    robot = _robot_contract()
    names = robot.joint_names
    perm, sign = joint_mirror(names, {j.name: j.axis for j in robot.joints})
    for i, n in enumerate(names):
        assert names[perm[i]] == partner_name(n)
        kind = n.split("_")[-2]  # hip_roll_joint -> roll
        assert sign[i] == (-1.0 if kind in ("roll", "yaw") else 1.0), (n, sign[i])
    s = np.array(sign)
    d, lo, hi = robot.default_positions, robot.lower_limits, robot.upper_limits
    np.testing.assert_allclose(s * d, d[perm])  # the default pose is symmetric
    mirrored_lo = np.where(s > 0, lo, -hi)
    np.testing.assert_allclose(mirrored_lo, lo[perm], atol=1e-4)  # so are the joint limits
    assert perm[names.index("waist_yaw_joint")] == names.index("waist_yaw_joint")
    with pytest.raises(ValueError, match="no mirror partner"):
        joint_mirror(["left_knee_joint"], {"left_knee_joint": (0, 1, 0)})


def test_every_rough_critic_term_has_a_mirror() -> None:
    import athena_train.tasks  # noqa: F401 - registers the tasks
    import numpy as np
    from isaaclab_tasks.utils import load_cfg_from_registry

    from athena_train import symmetry

    cfg = load_cfg_from_registry("Athena-Velocity-Rough-v0", "env_cfg_entry_point")
    args = dict(contract_joints={"joint_pos_rel": ["left_knee_joint", "right_knee_joint"],
                                 "joint_vel": ["left_knee_joint", "right_knee_joint"],
                                 "last_action": ["left_knee_joint", "right_knee_joint"]},
                all_joints=["left_knee_joint", "right_knee_joint"],
                axes={"left_knee_joint": (0, 1, 0), "right_knee_joint": (0, 1, 0)},
                rays=None)
    pattern = cfg.scene.height_scanner.pattern_cfg
    rays = pattern.func(pattern, "cpu")[0][:, :2].numpy()
    args["rays"] = rays
    for name, term in vars(cfg.observations.critic).items():
        if hasattr(term, "func"):
            symmetry.term_frame(name, **args)  # raises for a term without a rule
    perm = symmetry.ray_mirror(rays)
    np.testing.assert_allclose(rays[perm], rays * np.array([1.0, -1.0]), atol=1e-6)
    assert sorted(perm) == list(range(len(rays))) and perm != list(range(len(rays)))


if __name__ == "__main__":
    _run(Path(sys.argv[1]))


@pytest.mark.parametrize("contract", ["default", "flat2"])
def test_policy_mirror_of_a_contract_is_an_involution(contract: str) -> None:
    """The mirror of a policy's observation (any contract version) undone by itself.

    ``benchmarks/rough/mirror_check.py`` reads an exported policy's own contract: flat2's
    one-frame layout and the default's five frames must both mirror.
    """
    import torch
    from athena_description.model_metadata import read_onnx_metadata
    from athena_description.policy_contract import default_policy_contract
    from athena_train.symmetry import action_mirror, policy_mirror

    pc = default_policy_contract() if contract == "default" else read_onnx_metadata(
        Path(__file__).resolve().parents[1] / "policies" / "flat2" / "policy.onnx")
    m, a = policy_mirror(pc), action_mirror()
    assert len(m.perm) == pc.obs_dim
    x = torch.randn(7, pc.obs_dim)
    torch.testing.assert_close(m(m(x)), x)
    y = torch.randn(7, len(a.perm))
    torch.testing.assert_close(a(a(y)), y)
