"""train's options: ``--set`` overrides, ``ATHENA_FIRST_IT_STACKS``, warp's compile settings.

``--set env.…=V / agent.…=V``: the task's real configs edited, typed like the field, a typo
refused before the simulation starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def _configs() -> tuple[object, object]:
    import athena_train.tasks  # noqa: F401 - registers the tasks
    from isaaclab_tasks.utils import load_cfg_from_registry

    task = "Athena-Velocity-Flat-v0"
    return (load_cfg_from_registry(task, "env_cfg_entry_point"),
            load_cfg_from_registry(task, "rsl_rl_cfg_entry_point"))


def test_overrides_are_typed_like_the_field() -> None:
    from athena_train.overrides import apply

    env_cfg, agent_cfg = _configs()
    pairs = ["env.rewards.track_ang_vel_z_exp.weight=2", "agent.algorithm.num_mini_batches=2",
             "env.rewards.track_ang_vel_z_exp.params.std=0.35", "agent.actor.hidden_dims=[64,64]",
             "env.commands.base_velocity.heading_command=false"]
    assert apply(pairs, "env", env_cfg) == {
        "env.rewards.track_ang_vel_z_exp.weight": 2.0,
        "env.rewards.track_ang_vel_z_exp.params.std": 0.35,
        "env.commands.base_velocity.heading_command": False}
    assert isinstance(env_cfg.rewards.track_ang_vel_z_exp.weight, float)  # int given, float kept
    assert apply(pairs, "agent", agent_cfg) == {"agent.algorithm.num_mini_batches": 2,
                                                "agent.actor.hidden_dims": [64, 64]}
    assert agent_cfg.algorithm.num_mini_batches == 2


@pytest.mark.parametrize("pair", ["env.rewards.no_such_term.weight=1",
                                  "agent.algorithm.num_mini_batches=two",
                                  "env.rewards.track_ang_vel_z_exp.params.nope=1",
                                  "agent.actor.hidden_dims=64"])
def test_a_wrong_field_or_value_is_refused_with_its_name(pair: str) -> None:
    from athena_train.overrides import OverrideError, apply

    env_cfg, agent_cfg = _configs()
    with pytest.raises(OverrideError, match="--set"):
        apply([pair], pair.split(".")[0], env_cfg if pair.startswith("env") else agent_cfg)


def test_train_refuses_before_the_simulation_starts(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    from athena_train.train import main

    with pytest.raises(SystemExit) as exc:  # malformed: argparse refuses it at once
        main(["--device", "cpu", "--set", "rewards.weight=2"])
    assert exc.value.code == 2
    # well-formed but not a field: refused when the config is loaded, before the env is built
    rc = main(["--device", "cpu", "--num_envs", "2", "--max_iterations", "1", "--log_root",
               str(tmp_path), "--set", "env.rewards.track_yaw.weight=2"])
    assert rc == 2
    assert "no field 'rewards.track_yaw'" in capsys.readouterr().err
    assert not any(tmp_path.rglob("model_*.pt"))


def test_first_iteration_stacks_stop_at_the_first_logged_iteration(
        capfd: pytest.CaptureFixture) -> None:
    """ATHENA_FIRST_IT_STACKS: stacks every period until rsl-rl's logger logs iteration 0."""
    import time
    from types import SimpleNamespace

    from athena_train.train import install_first_iteration_stacks

    logged = []
    runner = SimpleNamespace(logger=SimpleNamespace(log=lambda *a, **k: logged.append(k)))
    install_first_iteration_stacks(runner, 0.05)
    time.sleep(0.6)  # the first iteration's rollout, as far as the sampler can tell
    runner.logger.log(it=0)
    before = capfd.readouterr().err
    assert "Thread" in before and "test_train_options.py" in before  # this thread, sleeping
    time.sleep(0.3)
    runner.logger.log(it=1)
    assert capfd.readouterr().err == ""  # cancelled at the first logged iteration
    assert logged == [{"it": 0}, {"it": 1}]


def test_managers_auto_is_warp_on_one_gpu_only() -> None:
    from athena_train.train import resolve_managers

    assert resolve_managers("auto", "cuda:0", distributed=False) == "warp"
    assert resolve_managers("auto", "cuda:1", distributed=True) == "torch"
    assert resolve_managers("auto", "cpu", distributed=False) == "torch"
    assert resolve_managers("torch", "cuda:0", distributed=False) == "torch"


def test_warp_compiles_forward_only_cubin_kernels() -> None:
    """CUBIN, not PTX: a fresh GPU machine then loads carried kernels without a driver JIT.

    The GPU side (the load time) is measured on the device (docs/profiling.md); here, that the
    settings train makes before Isaac Lab is imported are the ones that matter there.
    """
    import warp as wp
    from athena_train.train import configure_warp

    saved = wp.config.enable_backward, wp.config.cuda_output
    try:
        configure_warp()
        assert wp.config.enable_backward is False
        assert wp.config.cuda_output == "cubin"
    finally:
        wp.config.enable_backward, wp.config.cuda_output = saved
