"""Terrain-curriculum levels survive a resume: saved in the checkpoint, restored on --resume.

Unit tests on a stand-in env (the importer's tensors, a curriculum manager that counts), then
the real rough task on the CPU in a subprocess (this module's process may hold another Isaac
Lab env): a small curriculum grid, levels through a checkpoint and ``prepare_runner(resume)``,
robots reset onto their restored tiles without the curriculum moving them, a checkpoint
written on a GPU resumed on the CPU; then the task's curriculum at real episode ends (a fall
and a robot that does not track go down, one that stands and tracks goes up), its stand_still
term (paid under a zero command only), its swing_apex term (a foot that swings lower than
the tallest riser costs at touchdown) and the gates' push (mdp.push_by_speed).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch", reason="needs the training stack (requirements/train.txt)")

from athena_train import terrain_state  # noqa: E402
from athena_train import train as trainer  # noqa: E402

ROWS, COLS = 4, 3


class _Curriculum:
    def __init__(self) -> None:
        self.calls = 0

    def compute(self, env_ids: object = None) -> None:
        self.calls += 1


class _Env:
    """What terrain_state touches: scene.terrain (Isaac Lab's TerrainImporter), reset()."""

    def __init__(self, n: int) -> None:
        self.unwrapped = self
        origins = torch.arange(ROWS * COLS * 3, dtype=torch.float32).reshape(ROWS, COLS, 3)
        levels = torch.zeros(n, dtype=torch.long)
        types = torch.div(torch.arange(n), n / COLS, rounding_mode="floor").long()
        self.scene = SimpleNamespace(terrain=SimpleNamespace(
            terrain_origins=origins, terrain_levels=levels, terrain_types=types,
            env_origins=origins[levels, types].clone()))
        self.curriculum_manager = _Curriculum()
        self.resets = []

    def reset(self) -> None:
        self.curriculum_manager.compute()
        self.resets.append(self.scene.terrain.env_origins.clone())


def test_capture_and_restore_per_env() -> None:
    src, dst = _Env(9), _Env(9)
    src.scene.terrain.terrain_levels[:] = torch.tensor([0, 1, 2, 3, 3, 2, 1, 0, 2])
    state = terrain_state.capture(src)
    assert state["levels"].dtype == torch.int16 and state["grid"] == [ROWS, COLS]
    line = terrain_state.restore(dst, state)
    t = dst.scene.terrain
    assert "per env" in line and torch.equal(t.terrain_levels, src.scene.terrain.terrain_levels)
    assert torch.equal(t.env_origins, t.terrain_origins[t.terrain_levels, t.terrain_types])
    # one reset, onto the new tiles, without the curriculum; the curriculum works afterwards
    assert len(dst.resets) == 1 and dst.curriculum_manager.calls == 0
    assert torch.equal(dst.resets[0], t.env_origins)
    dst.curriculum_manager.compute()
    assert dst.curriculum_manager.calls == 1 and "compute" not in vars(dst.curriculum_manager)


def test_restore_onto_another_env_count_keeps_each_family_s_levels() -> None:
    src, dst = _Env(6), _Env(30)
    # column 0: levels 3, column 1: level 1, column 2: level 2
    src.scene.terrain.terrain_levels[:] = torch.tensor([3, 3, 1, 1, 2, 2])
    line = terrain_state.restore(dst, terrain_state.capture(src))
    t = dst.scene.terrain
    assert "drawn per column" in line
    for col, level in ((0, 3), (1, 1), (2, 2)):
        assert set(t.terrain_levels[t.terrain_types == col].tolist()) == {level}


def test_other_grid_or_no_curriculum_changes_nothing() -> None:
    src, dst = _Env(6), _Env(6)
    state = terrain_state.capture(src)
    state["grid"] = [ROWS + 1, COLS]
    assert "not restored" in terrain_state.restore(dst, state) and not dst.resets
    flat = SimpleNamespace(unwrapped=SimpleNamespace(scene=SimpleNamespace(terrain=SimpleNamespace(
        terrain_origins=None, env_origins=torch.zeros(2, 3)))))
    assert terrain_state.capture(flat) is None
    assert "no terrain curriculum" in terrain_state.restore(flat, state)


def test_atomic_save_writes_the_levels_into_the_checkpoint(tmp_path: Path) -> None:
    env = _Env(6)
    env.scene.terrain.terrain_levels[:] = 2

    def save(path: str, infos: dict | None = None) -> None:
        torch.save({"iter": 5, "infos": infos}, path)

    runner = SimpleNamespace(save=save)
    trainer.install_atomic_save(runner, trainer._terrain_infos(env))
    runner.save(str(tmp_path / "model_5.pt"), {"other": 1})
    saved = torch.load(tmp_path / "model_5.pt", weights_only=False)["infos"]
    assert saved["other"] == 1 and saved["terrain"]["levels"].tolist() == [2] * 6
    assert not list(tmp_path.glob("*.tmp"))


def _real_env_round_trip(tmp: Path) -> None:
    """The rough task (CPU): levels through a checkpoint and prepare_runner's resume."""
    from athena_train.tasks.terrains import one_column_per_family

    def small_grid(cfg: object) -> None:
        gen = one_column_per_family(cfg.scene.terrain.terrain_generator, 3)
        cfg.scene.terrain.terrain_generator = gen
        cfg.scene.terrain.max_init_terrain_level = 0
        cfg.randomization.pushes = False
        cfg.apply_randomization()
        # the curriculum check below: commands only where it writes them
        cmd = cfg.commands.base_velocity
        cmd.ranges.lin_vel_x = cmd.ranges.lin_vel_y = cmd.ranges.ang_vel_z = (0.0, 0.0)
        cmd.rel_standing_envs = 0.0

    env, agent_cfg = trainer.make_env_and_cfg("Athena-Velocity-Rough-v0", 12, "cpu", 3,
                                              edit_env_cfg=small_grid)
    agent_cfg.max_iterations, agent_cfg.save_interval = 1, 1
    t = env.unwrapped.scene.terrain
    robot = env.unwrapped.scene["robot"]
    # the first reset keeps the drawn levels (max_init_terrain_level 0): no promotion for
    # the distance from where the robots were built to their tiles
    assert t.terrain_levels.tolist() == [0] * 12, t.terrain_levels
    xy = robot.data.root_pos_w.torch[:, :2] - t.env_origins[:, :2]
    assert float(xy.norm(dim=1).max()) < 1.0, xy
    # Newton's collision pipeline pairs each robot shape with the terrain only (robot_cfg:
    # no self-collision; Newton's default paired every two non-adjacent links too)
    from isaaclab_newton.physics.newton_manager import NewtonManager

    model = NewtonManager.get_model()
    body, pairs = model.shape_body.numpy(), model.shape_contact_pairs.numpy()
    assert len(pairs) and all(body[a] == -1 or body[b] == -1 for a, b in pairs), pairs
    print("no self-collision ok")
    run_dir = tmp / "run"
    runner = trainer.prepare_runner(env, copy.deepcopy(agent_cfg), run_dir, resume=False)
    two = terrain_state.capture(env)
    two["levels"][:] = 2
    print(terrain_state.restore(env, two))
    # on their level-2 tiles, not promoted by a curriculum seeing them far from the new origin
    assert t.terrain_levels.tolist() == [2] * 12, t.terrain_levels
    xy = robot.data.root_pos_w.torch[:, :2] - t.env_origins[:, :2]
    assert float(xy.norm(dim=1).max()) < 1.0, xy
    runner.save(str(run_dir / "model_0.pt"))
    zero = terrain_state.capture(env)
    zero["levels"][:] = 0
    terrain_state.restore(env, zero)
    assert t.terrain_levels.tolist() == [0] * 12
    trainer.prepare_runner(env, copy.deepcopy(agent_cfg), run_dir, resume=True)
    assert t.terrain_levels.tolist() == [2] * 12, t.terrain_levels
    print("round trip ok")
    _resumes_a_gpu_checkpoint(env, agent_cfg, tmp)
    _curriculum_judges_falls_and_tracking(env)
    _stand_still_costs_only_under_a_stand_command(env)
    _swing_apex_costs_a_low_swing_at_touchdown(env)
    _push_by_speed_kicks_at_the_speed(env)
    env.close()


def _resumes_a_gpu_checkpoint(env: object, agent_cfg: object, tmp: Path) -> None:
    """rough5's model_1800.pt, written on an H200 (CUDA tensors), resumes on this CPU.

    Its levels are not restored here: its grid (10 x 20) is not this env's.
    """
    import shutil
    import zipfile

    src = Path(__file__).resolve().parents[3] / "benchmarks/results/rough5/model_1800.pt"
    with zipfile.ZipFile(src) as z:  # what makes it a GPU checkpoint: its tensors' device
        assert b"cuda" in z.read(next(n for n in z.namelist() if n.endswith("data.pkl")))
    run_dir = tmp / "from_gpu"
    run_dir.mkdir()
    shutil.copy(src, run_dir / src.name)
    runner = trainer.prepare_runner(env, copy.deepcopy(agent_cfg), run_dir, resume=True)
    assert runner.current_learning_iteration == 1801
    print("gpu checkpoint ok")


def _curriculum_judges_falls_and_tracking(env: object) -> None:
    """The task's curriculum at real episode ends: 12 robots on level 1 of 0-2, zero actions, 0.5 s.

    Robots 0-3 are commanded 1 m/s and do not walk (demoted: no tracking), 4-7 are thrown on
    their backs (demoted: a fall, ended by bad_orientation), 8-11 stand with a zero command
    (promoted: upright, tracking). The thrown robots' second episodes have not ended when the
    others time out. 0.5 s: zero actions have no balance, and a robot left standing in its
    default pose tips over by itself on some tiles within ~1 s (test_rough_terrain).
    """
    u = env.unwrapped
    u.cfg.episode_length_s = 0.5  # max_episode_length reads it: 25 steps
    robot, t = u.scene["robot"], u.scene.terrain
    one = terrain_state.capture(env)
    one["levels"][:] = 1  # the middle row: the top one's robots go to a random level
    terrain_state.restore(env, one)  # resets every env, without the curriculum
    u.command_manager.get_term("base_velocity").vel_command_b[:4, 0] = 1.0
    zero = torch.zeros(u.num_envs, u.action_manager.total_action_dim, device=u.device)
    for step in range(u.max_episode_length + 2):
        if step == 3:
            pose = robot.data.root_pose_w.torch[4:8].clone()
            pose[:, 2] += 0.3
            pose[:, 3:] = torch.tensor([1.0, 0.0, 0.0, 0.0])  # (x, y, z, w): rolled 180 deg
            robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=torch.arange(4, 8))
        u.step(zero)
    assert t.terrain_levels.tolist() == [0] * 8 + [2] * 4, t.terrain_levels
    print("curriculum ok")


def _stand_still_costs_only_under_a_stand_command(env: object) -> None:
    """The rough task's stand_still term: paid under a zero command, not when turning."""
    u = env.unwrapped
    cmd = u.command_manager.get_term("base_velocity").vel_command_b
    cmd[:] = 0.0
    cmd[1, 2] = 0.5  # turn on the spot: takes steps, costs nothing
    cmd[2, 0] = 0.5  # walk
    u.step(torch.zeros(u.num_envs, u.action_manager.total_action_dim, device=u.device))
    term = u.reward_manager.get_term_cfg("stand_still")
    cost = term.func(u, **term.params)
    assert float(cost[0]) > 0.0 and float(cost[1]) == 0.0 and float(cost[2]) == 0.0, cost
    print("stand_still ok")


def _swing_apex_costs_a_low_swing_at_touchdown(env: object) -> None:
    """The rough task's swing_apex term on real contacts: robots 0 and 2 dropped from 9 cm.

    A 9 cm drop is a swing of both feet (about 0.14 s in the air, apex 8-9 cm over where they
    stood): under a walking command (robot 0) it costs 0.1 x 2 x (1 - apex / 0.12)^2 at
    touchdown, about 0.015 (measured: apex 8.7 cm); under a stand command (robot 2) nothing;
    robot 1 walks the same command without leaving the ground and pays nothing, nor do the
    others (zero command).
    """
    u = env.unwrapped
    u.cfg.episode_length_s = 20.0
    terrain_state.restore(env, terrain_state.capture(env))  # every robot reset, on its tile
    robot, rm = u.scene["robot"], u.reward_manager
    cmd = u.command_manager.get_term("base_velocity").vel_command_b
    cmd[:] = 0.0
    cmd[:2, 0] = 0.5
    zero = torch.zeros(u.num_envs, u.action_manager.total_action_dim, device=u.device)
    for _ in range(10):  # reset robots land (no swing: their feet had not touched down)
        u.step(zero)
    ids = torch.tensor([0, 2])
    pose = robot.data.root_pose_w.torch[ids].clone()
    pose[:, 2] += 0.09
    robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=ids)
    k, paid = rm.active_terms.index("swing_apex"), torch.zeros(u.num_envs)
    for _ in range(15):
        u.step(zero)
        paid += rm._step_reward[:, k].cpu() * u.step_dt
    low, high = (0.1 * 2 * (1 - apex / 0.12) ** 2 for apex in (0.07, 0.095))
    assert -low < float(paid[0]) < -high, paid
    assert paid[1:].abs().max() == 0.0, paid
    print("swing_apex ok")


def _push_by_speed_kicks_at_the_speed(env: object) -> None:
    """The gates' push (mdp.push_by_speed): exactly its speed, horizontal, in any direction."""
    from athena_train.tasks import mdp

    u = env.unwrapped
    robot = u.scene["robot"]
    before = robot.data.root_vel_w.torch.clone()
    mdp.push_by_speed(u, torch.arange(u.num_envs), 1.0)
    dv = robot.data.root_vel_w.torch - before
    assert torch.allclose(dv[:, :2].norm(dim=1), torch.ones(u.num_envs), atol=1e-4), dv
    assert float(dv[:, 2:].abs().max()) < 1e-5, dv
    heading = torch.atan2(dv[:, 1], dv[:, 0])
    assert float(heading.max() - heading.min()) > 1.0, heading  # 12 kicks, not one direction
    print("push ok")


def test_real_rough_env_levels_survive_a_resume(tmp_path: Path) -> None:
    pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")
    out = subprocess.run([sys.executable, __file__, str(tmp_path)], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "terrain levels restored (per env): mean 2.00" in out.stdout
    assert "round trip ok" in out.stdout
    assert "gpu checkpoint ok" in out.stdout
    assert "curriculum ok" in out.stdout
    assert "stand_still ok" in out.stdout
    assert "swing_apex ok" in out.stdout
    assert "push ok" in out.stdout
    assert "no self-collision ok" in out.stdout


if __name__ == "__main__":
    _real_env_round_trip(Path(sys.argv[1]))
