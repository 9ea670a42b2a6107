"""The training pipeline end to end on the CPU.

Real Isaac Lab (Newton + MuJoCo-Warp on warp's CPU device), real rsl-rl PPO, real ONNX export
loaded by the policy node's real backend.

One env (2 envs) is created for the whole module: creating it costs ~80 s with a cold warp
kernel cache (WARP_CACHE_PATH, set by scripts/test.sh) and ~10 s warm.
"""

from __future__ import annotations

import numpy as np
import pytest

# (skipped at collection where the training stack is missing; `make test` installs it)
pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")
torch = pytest.importorskip("torch", reason="needs the training stack (requirements/train.txt)")

from athena_description.policy_contract import ACTION_DIM, default_policy_contract  # noqa: E402
from athena_description.robot_contract import load_robot_contract  # noqa: E402

from athena_train import export as exporter  # noqa: E402
from athena_train import train as trainer  # noqa: E402

TASK = "Athena-Velocity-Flat-v0"


def _no_obs_noise(cfg: object) -> None:
    """Observation noise off, so the env's observation is exactly the state's."""
    cfg.randomization.obs_noise = False
    cfg.apply_randomization()


@pytest.fixture(scope="module")
def env_and_cfg():
    env, agent_cfg = trainer.make_env_and_cfg(TASK, 2, "cpu", 0, edit_env_cfg=_no_obs_noise)
    yield env, agent_cfg
    env.close()


def test_shapes(env_and_cfg) -> None:
    env, _ = env_and_cfg
    obs = env.get_observations()
    frame = sum(t.size for t in default_policy_contract().observation)  # one frame: 47
    assert obs["policy"].shape == (2, default_policy_contract().obs_dim)
    assert obs["critic"].shape[0] == 2 and obs["critic"].shape[1] > frame
    assert env.num_actions == ACTION_DIM
    robot = env.unwrapped.scene["robot"]
    term = env.unwrapped.action_manager.get_term("joint_pos")
    assert [robot.joint_names[i] for i in term._joint_ids] == load_robot_contract().joint_names


def test_env_observation_equals_node_builder(env_and_cfg) -> None:
    """The env's observation, past frames included, is what athena_policy_node builds.

    The node's builder is fed the same robot state after every step, and reset where an
    episode ended (random actions tip the robot over); after more steps than the history
    holds, both carry the same frames in the same order.
    """
    from athena_policy_node.observation import ObservationBuilder

    env, _ = env_and_cfg
    uenv = env.unwrapped
    robot = uenv.scene["robot"]
    names = load_robot_contract().joint_names
    idx = [robot.joint_names.index(n) for n in names]
    contract = default_policy_contract()
    builders = [ObservationBuilder(contract) for _ in range(2)]
    built = [None, None]
    term = uenv.action_manager.get_term("joint_pos")
    gen = torch.Generator().manual_seed(1)
    assert max(t.history for t in contract.observation) < 7
    for _ in range(7):  # move away from the default pose; raw actions beyond ±clip too
        obs, *_ = env.step(torch.randn(2, ACTION_DIM, generator=gen) * 3.0)
        for e, builder in enumerate(builders):
            if uenv.reset_buf[e]:  # the env reset: its history restarts, so does the node's
                builder.reset()
            built[e] = builder.build(
                ang_vel=robot.data.root_ang_vel_b.torch[e].numpy(),
                quat_xyzw=robot.data.root_quat_w.torch[e].numpy(),
                cmd=uenv.command_manager.get_command("base_velocity")[e].numpy(),
                phase_time=float(uenv.episode_length_buf[e]) * uenv.step_dt,
                q=robot.data.joint_pos.torch[e, idx].numpy(),
                qd=robot.data.joint_vel.torch[e, idx].numpy(),
                last_action=np.clip(term.raw_actions[e].numpy(), -10.0, 10.0),
            ).copy()
    obs = env.get_observations()["policy"]  # reading again does not push a frame
    for e in range(2):
        np.testing.assert_allclose(obs[e].numpy(), built[e], atol=1e-5, rtol=1e-5)


def test_robot_links_collide_with_the_ground_only(env_and_cfg) -> None:
    """Training's physics model has no self-collision, like the MJCF the MuJoCo sim runs.

    Newton's default collides every pair of non-adjacent links; with it, MuJoCo-Warp built
    box-box and cylinder-box GJK/EPA kernels (a cold first iteration's longest compile) and ran
    them every substep, and the two simulators disagreed on whether the legs can touch.
    """
    from isaaclab_newton.physics.newton_manager import NewtonManager

    m = NewtonManager._solver.mj_model
    ground = [g for g in range(m.ngeom) if m.geom_bodyid[g] == 0]
    robot = [g for g in range(m.ngeom) if m.geom_bodyid[g] != 0]

    def collide(a: int, b: int) -> bool:
        return bool(m.geom_contype[a] & m.geom_conaffinity[b]
                    or m.geom_contype[b] & m.geom_conaffinity[a])

    assert ground and len(robot) >= 7  # pelvis, torso, head, knees, feet
    assert all(collide(g, r) for g in ground for r in robot)
    assert not [(a, b) for a in robot for b in robot if a < b and collide(a, b)]


def test_tracking_sees_every_physics_substep(env_and_cfg) -> None:
    """Tracking rewards and gate read the base velocity before each physics substep.

    One sample per substep, each a different state, the first the previous step's end.
    """
    env, _ = env_and_cfg
    uenv = env.unwrapped
    robot, term = uenv.scene["robot"], uenv.action_manager.get_term("joint_pos")
    gen = torch.Generator().manual_seed(2)
    env.step(torch.randn(2, ACTION_DIM, generator=gen))
    w_end = robot.data.root_ang_vel_b.torch[:, 2].clone()
    env.step(torch.randn(2, ACTION_DIM, generator=gen))
    sub = term.substep_velocity()
    assert sub.shape == (uenv.cfg.decimation, 2, 3)
    torch.testing.assert_close(sub[0, :, 2], w_end)
    assert (sub[1:, :, 2] != sub[:-1, :, 2]).all()  # a new state before every substep
    rew = uenv.reward_manager.get_term_cfg("track_ang_vel_z_exp").func(
        uenv, command_name="base_velocity", std=0.5)
    cmd = uenv.command_manager.get_command("base_velocity")[:, 2]
    expected = torch.exp(-torch.square(sub[..., 2] - cmd) / 0.25).mean(dim=0)
    torch.testing.assert_close(rew, expected)


def test_two_ppo_iterations_export_and_node_backend(env_and_cfg, tmp_path) -> None:
    """2 PPO iterations → checkpoint → ONNX (+contract) → the node's ONNX Runtime backend."""
    from athena_description.model_metadata import read_onnx_metadata
    from athena_policy_node.inference import load_backend

    env, agent_cfg = env_and_cfg
    agent_cfg.max_iterations = 2
    agent_cfg.save_interval = 1
    run_dir = tmp_path / "run"
    runner = trainer.prepare_runner(env, agent_cfg, run_dir, resume=False)
    final = trainer.learn(runner, env, agent_cfg, run_dir)
    assert final.exists() and trainer.latest_checkpoint(run_dir) == final
    assert (run_dir / "params" / "agent.yaml").exists() and (run_dir / "git.txt").exists()
    assert list(run_dir.glob("events.out.tfevents*")), "no TensorBoard events"
    assert not list(run_dir.glob("*.tmp"))
    assert not list((run_dir / "params").glob("*.tmp*"))  # params written atomically too

    recorded = env.get_observations()["policy"].numpy()
    onnx_path, diff = exporter.export(final, tmp_path / "policy.onnx", recorded=recorded)
    assert diff <= exporter.PARITY_ATOL
    contract = read_onnx_metadata(onnx_path)
    contract.check_against_robot(load_robot_contract(), expected=default_policy_contract())
    assert contract.run_id.endswith(final.stem)

    backend = load_backend(onnx_path, "onnxruntime-cpu")
    out = backend.infer(recorded[:1].astype(np.float32))
    actor = exporter.load_actor(final)
    with torch.no_grad():
        ref = actor(torch.from_numpy(recorded[:1])).numpy()
    assert np.asarray(out).reshape(1, ACTION_DIM).shape == (1, ACTION_DIM)
    np.testing.assert_allclose(np.asarray(out).reshape(1, ACTION_DIM), ref, atol=1e-5)


def test_export_fails_on_parity_violation(env_and_cfg, tmp_path, monkeypatch) -> None:
    """A model whose ONNX and torch outputs differ must not be exported."""
    env, agent_cfg = env_and_cfg
    ckpts = sorted(tmp_path.parent.glob("*/run/model_*.pt"))
    if not ckpts:
        pytest.skip("needs the checkpoint of the PPO test")
    monkeypatch.setattr(exporter, "PARITY_ATOL", -1.0)
    original = exporter.parity_check
    monkeypatch.setattr(exporter, "parity_check",
                        lambda p, a, r, atol=-1.0: original(p, a, r, atol=-1.0))
    out = tmp_path / "bad.onnx"
    with pytest.raises(exporter.ParityError):
        exporter.export(ckpts[-1], out)
    assert not out.exists() and not out.with_name("bad.onnx.tmp").exists()
