"""Warm start (``train --init_from``): the flat policy's weights into a fresh run, or a refusal.

The unit tests read the committed flat policy (``policies/flat2/policy.onnx`` and its
``params/``); the last test trains 3 iterations of the real task on the CPU from it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the training stack (requirements/train.txt)")
pytest.importorskip("rsl_rl", reason="needs the training stack (requirements/train.txt)")

from athena_description.policy_contract import ACTION_DIM, default_policy_contract  # noqa: E402

from athena_train import warm_start  # noqa: E402

FLAT2 = Path(__file__).resolve().parents[1] / "policies" / "flat2"
OBS_DIM = 47  # flat2's: policy contract version 1, the current frame only


def _actor(src: warm_start.WarmSource, obs_dim: int = OBS_DIM) -> object:
    """An rsl-rl actor of the source's layers (what the training run builds)."""
    from rsl_rl.models.mlp_model import MLPModel
    from tensordict import TensorDict

    obs = TensorDict({"policy": torch.zeros(1, obs_dim)}, batch_size=[1])
    return MLPModel(obs, {"actor": ["policy"]}, "actor", ACTION_DIM,
                    hidden_dims=src.actor_hidden, activation=src.activation,
                    obs_normalization=True,
                    distribution_cfg={"class_name": "GaussianDistribution", "init_std": 1.0})


class _Alg:
    """The part of rsl-rl's PPO that load_into uses (its real load rules: strict, load_cfg)."""

    def __init__(self, actor: object, critic: object) -> None:
        self.actor, self._raw_actor, self.critic, self._raw_critic = actor, actor, critic, critic

    def get_policy(self) -> object:
        return self._raw_actor

    def load(self, loaded: dict, load_cfg: dict, strict: bool) -> bool:
        from rsl_rl.algorithms import PPO

        return PPO.load(self, loaded, load_cfg, strict)


def _critic() -> object:
    from rsl_rl.models.mlp_model import MLPModel
    from tensordict import TensorDict

    obs = TensorDict({"critic": torch.zeros(1, 80)}, batch_size=[1])
    return MLPModel(obs, {"critic": ["critic"]}, "critic", 1, hidden_dims=[32],
                    obs_normalization=True)


def test_onnx_source_gives_the_exported_actor() -> None:
    """Weights read back from flat2's ONNX act as the ONNX does (ONNX Runtime), std 0.5."""
    import onnxruntime as ort

    src = warm_start.read_source(FLAT2 / "policy.onnx")
    assert src.critic is None and src.std is None and src.activation == "elu"
    assert src.actor_hidden == [256, 128, 128]
    actor, critic = _actor(src), _critic()
    before = {k: v.clone() for k, v in critic.state_dict().items()}
    note = warm_start.load_into(SimpleNamespace(alg=_Alg(actor, critic)), src)
    assert "critic fresh" in note
    assert all(torch.equal(v, before[k]) for k, v in critic.state_dict().items())
    std = float(actor.distribution.std_param.detach().mean())
    assert std == pytest.approx(warm_start.ONNX_INIT_STD)
    assert int(actor.obs_normalizer.count) == warm_start.ONNX_NORMALIZER_COUNT
    obs = np.random.default_rng(0).normal(0, 1, (64, OBS_DIM)).astype(np.float32)
    sess = ort.InferenceSession(str(FLAT2 / "policy.onnx"), providers=["CPUExecutionProvider"])
    want = sess.run(["actions"], {"obs": obs})[0]
    actor.eval()
    from tensordict import TensorDict

    with torch.no_grad():
        got = actor(TensorDict({"policy": torch.from_numpy(obs)}, batch_size=[64])).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    # --init_std wins over the default
    warm_start.load_into(SimpleNamespace(alg=_Alg(actor, critic)), src, init_std=0.3)
    assert float(actor.distribution.std_param.detach().mean()) == pytest.approx(0.3)


def test_evaluation_loads_an_onnx_policy_as_a_checkpoint() -> None:
    """export.load_actor (evaluate, terrain_eval) takes the ONNX: same actions as ORT."""
    import onnxruntime as ort
    from athena_train.export import load_actor

    obs = np.random.default_rng(1).normal(0, 1, (16, OBS_DIM)).astype(np.float32)
    sess = ort.InferenceSession(str(FLAT2 / "policy.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        got = load_actor(FLAT2 / "policy.onnx")(torch.from_numpy(obs)).numpy()
    np.testing.assert_allclose(got, sess.run(["actions"], {"obs": obs})[0], atol=1e-5)


def test_pt_source_loads_actor_critic_and_keeps_its_std(tmp_path: Path) -> None:
    src_actor = _actor(warm_start.read_source(FLAT2 / "policy.onnx"))
    src_critic = _critic()
    with torch.no_grad():
        src_actor.distribution.std_param.fill_(0.4)
        for p in src_critic.parameters():
            p.add_(1.0)
    run = tmp_path / "run"
    (run / "params").mkdir(parents=True)
    shutil.copy(FLAT2 / "params" / "agent.yaml", run / "params" / "agent.yaml")
    torch.save({"actor_state_dict": src_actor.state_dict(),
                "critic_state_dict": src_critic.state_dict(), "iter": 99}, run / "model_99.pt")
    src = warm_start.read_source(run / "model_99.pt")
    assert src.std == pytest.approx(0.4) and src.critic_hidden == [32]
    actor, critic = _actor(src), _critic()
    note = warm_start.load_into(SimpleNamespace(alg=_Alg(actor, critic)), src)
    assert "actor and critic loaded" in note
    assert float(actor.distribution.std_param.detach().mean()) == pytest.approx(0.4)
    for k, v in src_critic.state_dict().items():
        assert torch.equal(critic.state_dict()[k], v), k


def test_a_warp_managers_run_took_the_contracts_history(tmp_path: Path) -> None:
    """Its env.yaml's actor terms have no history: the frames were stacked outside the env."""
    import yaml

    run = tmp_path / "run"
    (run / "params").mkdir(parents=True)
    policy = {t.name: {"func": "f", "history_length": 0}
              for t in default_policy_contract().observation}
    cfg = {"observations": {"policy": policy}, "manager_call_config": {"default": 2}}
    (run / "params" / "env.yaml").write_text(yaml.safe_dump(cfg))
    want = {t.name: t.history for t in default_policy_contract().observation}
    assert warm_start._yaml_history(run / "model_1.pt") == want
    cfg["manager_call_config"] = None  # the torch managers: what the yaml says
    (run / "params" / "env.yaml").write_text(yaml.safe_dump(cfg))
    assert set(warm_start._yaml_history(run / "model_1.pt").values()) == {1}


def test_refuses_another_contract(tmp_path: Path) -> None:
    import onnx

    model = onnx.load(str(FLAT2 / "policy.onnx"))
    for p in model.metadata_props:
        if p.key == "action_scale":
            p.value = "0.5"
    bad = tmp_path / "policy.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(warm_start.WarmStartError, match="action_scale"):
        warm_start.read_source(bad)


def test_refuses_other_observations_or_no_params(tmp_path: Path) -> None:
    import yaml

    src = warm_start.read_source(FLAT2 / "policy.onnx")
    ours = FLAT2 / "params" / "env.yaml"
    assert "equal" in warm_start.check_contract(src, ours)
    with open(ours, encoding="utf-8") as f:
        cfg = yaml.unsafe_load(f)
    cfg["observations"]["policy"]["joint_vel"]["scale"] = 0.1
    other = tmp_path / "env.yaml"
    other.write_text(yaml.dump(cfg), encoding="utf-8")
    with pytest.raises(warm_start.WarmStartError, match=r"observations.policy \(joint_vel\)"):
        warm_start.check_contract(src, other)
    lone = tmp_path / "alone" / "policy.onnx"
    lone.parent.mkdir()
    shutil.copy(FLAT2 / "policy.onnx", lone)
    with pytest.raises(warm_start.WarmStartError, match="cannot check"):
        warm_start.check_contract(warm_start.read_source(lone), ours)


def test_fit_history_widens_the_actor_and_keeps_what_it_does() -> None:
    """flat2 (47 inputs) -> 215 (5 frames): same actions whatever the older frames hold."""
    import onnxruntime as ort

    src = warm_start.read_source(FLAT2 / "policy.onnx")
    assert set(src.history.values()) == {1}
    wide, note = warm_start.fit_history(src)
    contract = default_policy_contract()
    assert "47 -> 215" in note and wide.history == {t.name: t.history for t in
                                                     contract.observation}
    actor = _actor(wide, obs_dim=contract.obs_dim)
    warm_start.load_into(SimpleNamespace(alg=_Alg(actor, _critic())), wide)
    actor.eval()
    rng = np.random.default_rng(3)
    obs = rng.normal(0, 1, (32, OBS_DIM)).astype(np.float32)
    stacked = rng.normal(0, 5, (32, contract.obs_dim)).astype(np.float32)  # older: anything
    o = 0
    for t in contract.observation:  # the newest frame of each term is flat2's value
        n = contract.slices()[t.name].stop
        stacked[:, n - t.size:n] = obs[:, o:o + t.size]
        o += t.size
    sess = ort.InferenceSession(str(FLAT2 / "policy.onnx"), providers=["CPUExecutionProvider"])
    from tensordict import TensorDict

    with torch.no_grad():
        got = actor(TensorDict({"policy": torch.from_numpy(stacked)}, batch_size=[32])).numpy()
    np.testing.assert_allclose(got, sess.run(["actions"], {"obs": obs})[0], atol=1e-4)
    assert warm_start.fit_history(wide)[0] is wide  # nothing left to widen
    with pytest.raises(warm_start.WarmStartError, match="lose past frames"):
        warm_start.fit_history(wide, replace(contract, observation=tuple(
            replace(t, history=1) for t in contract.observation)))


def test_refuses_networks_that_do_not_fit() -> None:
    src = warm_start.read_source(FLAT2 / "policy.onnx")
    actor = _actor(src, obs_dim=OBS_DIM + 1)  # another observation size
    with pytest.raises(warm_start.WarmStartError, match=r"actor.mlp.0.weight"):
        warm_start.load_into(SimpleNamespace(alg=_Alg(actor, _critic())), src)


def test_critic_warmup_freezes_the_actor_then_thaws() -> None:
    actor, critic = _actor(warm_start.read_source(FLAT2 / "policy.onnx")), _critic()
    seen = []

    def update() -> dict:
        seen.append((any(p.requires_grad for p in actor.parameters()),
                     all(p.requires_grad for p in critic.parameters()), alg.schedule))
        return {}

    alg = SimpleNamespace(get_policy=lambda: actor, update=update, schedule="adaptive")
    warm_start.install_critic_warmup(SimpleNamespace(alg=alg), 2)
    for _ in range(3):
        alg.update()
    assert seen == [(False, True, "fixed"), (False, True, "fixed"), (True, True, "adaptive")]


def test_train_from_the_flat_onnx_on_the_cpu(tmp_path: Path) -> None:
    """3 iterations from flat2: the run takes its layers, 2 frozen updates, then it learns."""
    pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")
    import yaml

    cmd = [sys.executable, "-m", "athena_train.train", "--device", "cpu", "--num_envs", "2",
           "--max_iterations", "3", "--save_interval", "1", "--run_name", "warm",
           "--log_root", str(tmp_path), "--seed", "3", "--init_from",
           str(FLAT2 / "policy.onnx"), "--critic_warmup", "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "critic fresh" in out.stdout and "ONNX policy contract equal" in out.stdout
    assert "observation history widened" in out.stdout
    run = tmp_path / "athena_flat" / "warm"
    with open(run / "params" / "agent.yaml", encoding="utf-8") as f:
        assert yaml.unsafe_load(f)["actor"]["hidden_dims"] == [256, 128, 128]
    src, _ = warm_start.fit_history(warm_start.read_source(FLAT2 / "policy.onnx"))
    frozen = torch.load(run / "model_1.pt", weights_only=False)["actor_state_dict"]
    learnt = torch.load(run / "model_2.pt", weights_only=False)["actor_state_dict"]
    for k, v in src.actor.items():
        if k.startswith("mlp."):
            assert torch.equal(frozen[k], v), k  # iterations 0 and 1: the critic only
    assert float(frozen["distribution.std_param"].mean()) == pytest.approx(0.5)
    assert any(not torch.equal(learnt[k], v) for k, v in src.actor.items() if k.startswith("mlp."))
    # a wrong source is refused before anything is built
    bad = subprocess.run(cmd[:-4] + ["--init_from", str(tmp_path / "nothing.pt")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "warm start refused" in bad.stderr, bad.stderr[-2000:]
