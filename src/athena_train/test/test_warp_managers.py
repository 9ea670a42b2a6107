"""Isaac Lab's warp managers compute what its torch managers compute, for athena's tasks.

Real Isaac Lab (Newton + MuJoCo-Warp on warp's CPU device, where the warp managers run their
kernels eagerly: capturing them into CUDA graphs needs a GPU). The same seeded env (2 robots,
no noise, pushes, latency or randomization, fixed commands, 0.1 s episodes so that both
robots are reset twice) takes the same seeded random actions twice, in two processes (Isaac
Lab holds one simulation per process): on the torch managers (``ManagerBasedRLEnv``) and on
the warp managers (``ManagerBasedRLEnvWarp`` with athena's twins,
:mod:`athena_train.tasks.warp_mdp`, and the history outside the env,
:class:`athena_train.obs_history.HistoryVecEnv`). Every step's actor and critic observations,
rewards and dones must agree, and the robots must end in the same state; the same on the
rough task (terrain curriculum, the critic's height scan, its extra rewards), and with the
decimation loop in the physics (``decimation_in_physics``: one ``sim.step`` per policy step,
:class:`athena_train.tasks.warp_env.AthenaWarpEnv` on the warp side). A process
checks the twin's actuation latency: the target applied at a step is the one computed
``delay`` steps before, and each reset draws ``delay`` in 0..max.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")

STEPS = 12


def _edit(latency: bool, in_physics: bool = False):  # noqa: ANN202 - the config edit
    def edit(cfg: object) -> None:
        cfg.decimation_in_physics = in_physics
        r = cfg.randomization
        r.obs_noise = r.pushes = r.masses = r.friction = r.base_com = r.motor_strength = False
        r.payload = False
        r.latency = latency
        cfg.apply_randomization()
        cfg.events.reset_base.params["pose_range"] = {}
        cfg.events.reset_base.params["velocity_range"] = {}
        c = cfg.commands.base_velocity
        c.ranges.lin_vel_x, c.ranges.lin_vel_y = (0.5, 0.5), (0.1, 0.1)
        c.ranges.ang_vel_z = (0.3, 0.3)
        c.rel_standing_envs = 0.0
        cfg.episode_length_s = 0.1  # 5 policy steps: resets at steps 5 and 10

    return edit


def _run(mode: str, out: Path) -> None:
    """One process: build the env, step it, write what it saw to ``out``."""
    import numpy as np
    import torch
    from athena_description.policy_contract import ACTION_DIM

    from athena_train import train as trainer

    managers = "torch" if mode.endswith("torch") else "warp"
    task = "Athena-Velocity-Rough-v0" if mode.startswith("rough") else "Athena-Velocity-Flat-v0"
    env, _ = trainer.make_env_and_cfg(task, 2, "cpu", 3, managers=managers,
                                      edit_env_cfg=_edit(mode == "latency",
                                                         mode.startswith("dip")))
    u = env.unwrapped
    term = u.action_manager.get_term("joint_pos")
    gen = torch.Generator().manual_seed(5)
    rec: dict[str, list] = {"policy": [], "critic": [], "reward": [], "done": [], "applied": [],
                            "delay": []}
    calls, sim_step = [0], u.sim.step

    def counted(*args: object, **kwargs: object) -> object:
        calls[0] += 1
        return sim_step(*args, **kwargs)

    u.sim.step = counted  # physics calls per env step: 4, or 1 with the loop in the physics
    obs = env.get_observations()
    for _ in range(STEPS):
        rec["policy"].append(obs["policy"].tolist())
        rec["critic"].append(obs["critic"].tolist())
        action = torch.randn(2, ACTION_DIM, generator=gen) * 0.5
        if mode == "latency":  # the delay this step uses (a reset at its end draws the next)
            rec["delay"].append(term._delay.numpy().tolist())
        obs, rew, done, _ = env.step(action)
        rec["reward"].append(rew.tolist())
        rec["done"].append(done.tolist())
        if mode == "latency":
            clip = term.cfg.action_clip
            target = np.clip(term._offset.numpy() + term._scale.numpy()
                             * np.clip(action.numpy(), -clip, clip),
                             term._lower.numpy(), term._upper.numpy())
            rec["applied"].append([term.processed_actions.numpy().tolist(), target.tolist()])
    if mode == "latency":
        rec["default"] = term._offset.numpy().tolist()
    if mode.startswith("rough"):
        rec["levels"] = u.scene.terrain.terrain_levels.tolist()
    rec["sim_steps_per_env_step"] = calls[0] / STEPS
    rec["root_pose"] = u.scene["robot"].data.root_pose_w.torch.tolist()
    rec["substep_velocity"] = term.substep_velocity().tolist()
    out.write_text(json.dumps(rec))
    env.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """What each process saw, keyed by mode."""
    d = tmp_path_factory.mktemp("warp_managers")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("MANAGER_CALL_CONFIG", None)
    results = {}
    for mode in ("torch", "warp", "latency", "rough_torch", "rough_warp", "dip_torch",
                 "dip_warp"):
        out = d / f"{mode}.json"
        proc = subprocess.run([sys.executable, __file__, mode, str(out)], capture_output=True,
                              text=True, timeout=900, env=env)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        results[mode] = json.loads(out.read_text())
    return results


@pytest.mark.parametrize("task", ["flat", "rough", "dip"])
def test_same_observations_rewards_and_dones(runs: dict[str, dict], task: str) -> None:
    """Rough: the terrain curriculum, the critic's height scan, stand-still and swing apex too.

    dip: the flat task with the decimation loop in the physics on both sides.
    """
    import numpy as np

    pre = "" if task == "flat" else f"{task}_"
    t, w = runs[pre + "torch"], runs[pre + "warp"]
    assert np.array(t["policy"]).shape == (STEPS, 2, 215)  # the contract's, history included
    for key in ("policy", "critic", "reward", "root_pose", "substep_velocity"):
        np.testing.assert_allclose(np.array(w[key]), np.array(t[key]), atol=1e-5, rtol=1e-5,
                                   err_msg=key)
    assert w["done"] == t["done"] and w.get("levels") == t.get("levels")
    calls = 1 if task == "dip" else 4
    assert t["sim_steps_per_env_step"] == w["sim_steps_per_env_step"] == calls
    dones = np.array(t["done"])
    assert dones[4].all() and dones[9].all() and dones.sum() == 4  # the resets were exercised


def test_latency_applies_the_target_of_delay_steps_ago(runs: dict[str, dict]) -> None:
    import numpy as np

    rec = runs["latency"]
    applied = np.array([a[0] for a in rec["applied"]])  # (steps, envs, joints)
    target = np.array([a[1] for a in rec["applied"]])
    delay = np.array(rec["delay"])
    assert ((delay >= 0) & (delay <= 2)).all()
    for k in range(STEPS):
        for e in range(2):
            d = delay[k, e]
            start = (k // 5) * 5  # the episode's first step (0.1 s episodes: 5 steps)
            # before the episode's first step the history holds the default pose
            want = target[k - d, e] if k - d >= start else np.array(rec["default"])
            np.testing.assert_allclose(applied[k, e], want, atol=1e-6)
    assert len({tuple(d) for d in rec["delay"]}) > 1  # redrawn at the resets


if __name__ == "__main__":
    _run(sys.argv[1], Path(sys.argv[2]))
