"""Warm start: a fresh run initialised from another run's policy (e.g. the rough task from flat).

``train --init_from SOURCE``: SOURCE is an rsl-rl checkpoint (``model_<it>.pt``: actor and
critic, normalizers and action std included) or an exported policy (``policy.onnx`` of
``athena_train.export``, e.g. ``src/athena_train/policies/flat2/policy.onnx``: the
deterministic actor with its observation normalizer; the critic then starts fresh).

What is taken: the network weights only, through rsl-rl's own ``PPO.load`` with a ``load_cfg``
of actor (and critic). The optimizer, the learning rate and the iteration count start fresh
(iteration 0; the run's ``--max_iterations`` counts from there); the terrain curriculum too.
The run adopts the source's layer sizes and activation (the flat task's [256, 128, 128]
instead of the rough task's [512, 256, 128]), so ``params/agent.yaml`` of the new run says
what it trains and its checkpoints resume and export as any other.

Refused (:class:`WarmStartError`, nothing trained) unless the contract matches: the
``observations`` and ``actions`` sections of the source's ``params/env.yaml`` (beside the
checkpoint or the ONNX file) equal the new run's, the network's input and output sizes equal
the env's observation and action sizes, and for an ONNX source its embedded policy contract
equals this workspace's (provenance aside).

Action noise: the fresh model's std is 1.0 (0.25 rad per joint through the action scale);
a trained gait drowns in that. ``init_std`` sets the std after loading; default: the
checkpoint's own for a ``.pt`` source, :data:`ONNX_INIT_STD` for an ONNX one (which carries
no std). A fresh critic gives the actor meaningless advantages at first:
:func:`install_critic_warmup` freezes the actor (weights and std) for the first iterations,
so that only the critic learns, with the learning rate held.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

# the std of a warm start from an ONNX policy (none stored there): halfway between a trained
# flat policy's and the fresh 1.0, to leave exploration for the terrain (a choice, not tuned)
ONNX_INIT_STD = 0.5
# an ONNX file has no normalizer sample count: as if the statistics came from this many
# samples, so that the rough task's first batches move them slowly (flat2 saw ~1.5e8)
ONNX_NORMALIZER_COUNT = 100_000_000
# iterations of critic-only learning when the critic starts fresh (ONNX source)
ONNX_CRITIC_WARMUP = 25
_ACTIVATIONS = {"Elu": "elu", "Relu": "relu", "Tanh": "tanh", "Sigmoid": "sigmoid",
                "Selu": "selu", "LeakyRelu": "lrelu"}


class WarmStartError(ValueError):
    """The source cannot initialise this run (contract, shapes or format differ)."""


@dataclass
class WarmSource:
    """What a warm start takes from its source."""

    path: Path
    actor: dict  # actor state dict (from ONNX: normalizer and MLP only)
    critic: dict | None  # None: the critic starts fresh
    actor_hidden: list[int]
    critic_hidden: list[int] | None
    activation: str | None  # None: unknown, the run's own is kept
    std: float | None  # the source's mean action std (None: not stored)
    contract_checked: str  # what was checked already (ONNX metadata)


def mlp_shape(state: dict, prefix: str = "mlp.") -> tuple[int, list[int], int]:
    """(input size, hidden sizes, output size) of an rsl-rl MLP state dict."""
    layers = sorted((int(k[len(prefix):].split(".")[0]), v) for k, v in state.items()
                    if k.startswith(prefix) and k.endswith(".weight"))
    if not layers:
        raise WarmStartError(f"no '{prefix}*.weight' in the state dict: not an rsl-rl MLPModel")
    shapes = [tuple(w.shape) for _, w in layers]
    return shapes[0][1], [s[0] for s in shapes[:-1]], shapes[-1][0]


def _params_dir(path: Path) -> Path:
    return path.parent / "params"


def _onnx_actor(path: Path) -> tuple[dict, str, str]:
    """Actor state dict (normalizer + MLP), activation and contract note from an ONNX export."""
    import onnx
    import torch
    from athena_description.model_metadata import read_onnx_metadata
    from athena_description.policy_contract import default_policy_contract
    from onnx import numpy_helper

    contract = read_onnx_metadata(path)
    mine = default_policy_contract()
    neutral = {"run_id": mine.run_id, "git_commit": mine.git_commit, "extra": mine.extra}
    theirs = asdict(replace(contract, **neutral))
    ours = asdict(mine)
    diff = sorted(k for k in ours if ours[k] != theirs.get(k))
    if diff:
        raise WarmStartError(f"{path}: its policy contract differs from this workspace's in "
                             f"{', '.join(diff)}")
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    acts = set(ops[3::2])
    if (ops[:2] != ["Sub", "Div"] or any(o != "Gemm" for o in ops[2::2]) or len(acts) != 1
            or not acts <= set(_ACTIVATIONS)):
        raise WarmStartError(f"{path}: not an athena_train.export graph (normalizer, then "
                             f"Gemm/activation layers): {ops}")
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy())
            for i in model.graph.initializer}
    div = model.graph.node[1].input[1]
    state = {k: v for k, v in init.items() if k.startswith("mlp.")}
    if "obs_normalizer._mean" not in init or div not in init:
        raise WarmStartError(f"{path}: no observation normalizer constants")
    from rsl_rl.modules import EmpiricalNormalization

    eps = EmpiricalNormalization(1).eps  # the export folds std + eps into one constant
    std = init[div] - eps
    state.update({"obs_normalizer._mean": init["obs_normalizer._mean"],
                  "obs_normalizer._std": std, "obs_normalizer._var": std.square(),
                  "obs_normalizer.count": torch.tensor(ONNX_NORMALIZER_COUNT)})
    return state, _ACTIVATIONS[acts.pop()], "ONNX policy contract equal"


def read_source(path: Path) -> WarmSource:
    """Load a warm-start source (``.pt`` checkpoint or ``.onnx`` export)."""
    import torch
    import yaml

    path = Path(path)
    if not path.is_file():
        raise WarmStartError(f"warm-start source not found: {path}")
    if path.suffix == ".onnx":
        actor, activation, note = _onnx_actor(path)
        critic, std = None, None
    else:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is refused the same way
            raise WarmStartError(f"{path}: not a readable torch checkpoint: {exc}") from exc
        if not isinstance(ckpt, dict) or "actor_state_dict" not in ckpt:
            raise WarmStartError(f"{path}: not an rsl-rl checkpoint (no actor_state_dict)")
        actor, critic = ckpt["actor_state_dict"], ckpt.get("critic_state_dict")
        activation, note = None, ""
        agent_yaml = _params_dir(path) / "agent.yaml"
        if agent_yaml.exists():
            with open(agent_yaml, encoding="utf-8") as f:
                activation = (yaml.unsafe_load(f).get("actor") or {}).get("activation")
        std = None
        if "distribution.std_param" in actor:
            std = float(actor["distribution.std_param"].float().mean())
        elif "distribution.log_std_param" in actor:
            std = float(actor["distribution.log_std_param"].float().exp().mean())
    return WarmSource(path, actor, critic, mlp_shape(actor)[1],
                      mlp_shape(critic)[1] if critic is not None else None, activation, std,
                      note)


def adopt_architecture(agent_cfg: object, src: WarmSource) -> str:
    """Give the run's actor (and critic, when it is loaded) the source's layers; a note."""
    agent_cfg.actor.hidden_dims = list(src.actor_hidden)
    if src.critic_hidden is not None:
        agent_cfg.critic.hidden_dims = list(src.critic_hidden)
    if src.activation:
        agent_cfg.actor.activation = src.activation
        if src.critic is not None:
            agent_cfg.critic.activation = src.activation
    return (f"actor {agent_cfg.actor.hidden_dims} {agent_cfg.actor.activation}, critic "
            f"{agent_cfg.critic.hidden_dims} {agent_cfg.critic.activation}")


def check_contract(src: WarmSource, run_env_yaml: Path) -> str:
    """The source's observation and action config must be the run's; WarmStartError if not."""
    import yaml

    theirs_yaml = _params_dir(src.path) / "env.yaml"
    if not theirs_yaml.exists():
        raise WarmStartError(f"cannot check the observation/action contract: no {theirs_yaml} "
                             f"beside the source (train writes it into every run directory)")
    with open(theirs_yaml, encoding="utf-8") as f:
        theirs = yaml.unsafe_load(f)
    with open(run_env_yaml, encoding="utf-8") as f:
        ours = yaml.unsafe_load(f)
    diff = []
    groups = ["policy"] + (["critic"] if src.critic is not None else [])
    for g in groups:
        a, b = (theirs.get("observations") or {}).get(g), (ours.get("observations") or {}).get(g)
        if a != b:
            keys = sorted(k for k in set(a or {}) | set(b or {})
                          if (a or {}).get(k) != (b or {}).get(k))
            diff.append(f"observations.{g} ({', '.join(keys)})")
    if theirs.get("actions") != ours.get("actions"):
        diff.append("actions")
    if diff:
        raise WarmStartError(f"{src.path}: the source's {theirs_yaml} differs from this run's in "
                             f"{'; '.join(diff)}")
    return ", ".join(x for x in (src.contract_checked, "params/env.yaml observations "
                                 f"({'/'.join(groups)}) and actions equal") if x)


def _check_shapes(name: str, have: dict, want: dict) -> list[str]:
    out = []
    for k, v in want.items():
        if k not in have:
            out.append(f"{name}.{k} missing")
        elif tuple(have[k].shape) != tuple(v.shape):
            out.append(f"{name}.{k} {tuple(have[k].shape)} != {tuple(v.shape)}")
    out += [f"{name}.{k} unexpected" for k in have if k not in want]
    return out


def load_into(runner: object, src: WarmSource, init_std: float | None = None) -> str:
    """Load the source's weights into a fresh runner (rsl-rl ``PPO.load``); a note."""
    import torch

    alg = runner.alg
    policy = alg.get_policy()
    critic = getattr(alg, "_raw_critic", alg.critic)
    want_actor = policy.state_dict()
    actor = dict(src.actor)
    for k, v in want_actor.items():  # ONNX: the std comes from the fresh model (set below)
        if k.startswith("distribution.") and k not in actor:
            actor[k] = v.detach().clone()
    problems = _check_shapes("actor", actor, want_actor)
    if src.critic is not None:
        problems += _check_shapes("critic", src.critic, critic.state_dict())
    if problems:
        raise WarmStartError(f"{src.path}: the networks do not fit this run's "
                             f"(observation/action sizes or layers): {'; '.join(problems)}")
    loaded = {"actor_state_dict": actor, "critic_state_dict": src.critic}
    alg.load(loaded, {"actor": True, "critic": src.critic is not None}, True)
    std = init_std if init_std is not None else (src.std if src.std is not None
                                                 else ONNX_INIT_STD)
    dist = policy.distribution
    with torch.no_grad():
        if hasattr(dist, "std_param"):
            dist.std_param.fill_(std)
        elif hasattr(dist, "log_std_param"):
            dist.log_std_param.fill_(float(torch.log(torch.tensor(std))))
    return (f"warm start from {src.path}: actor{' and critic' if src.critic is not None else ''}"
            f" loaded{'' if src.critic is not None else ' (critic fresh)'}, action std {std:g}, "
            f"optimizer and iteration count fresh")


def install_critic_warmup(runner: object, iterations: int) -> None:
    """For the first ``iterations`` PPO updates only the critic learns (actor and std frozen).

    The adaptive learning rate is held during those updates (a frozen actor's KL is ~0, which
    would otherwise raise the rate to its 1e-2 ceiling by the time the actor thaws).
    """
    if iterations <= 0:
        return
    alg = runner.alg
    params = list(alg.get_policy().parameters())
    update = alg.update
    left = [iterations]

    def warmup_update() -> dict:
        if left[0] <= 0:
            return update()
        flags, schedule = [p.requires_grad for p in params], alg.schedule
        for p in params:
            p.requires_grad_(False)
        alg.schedule = "fixed"
        try:
            return update()
        finally:
            for p, f in zip(params, flags):
                p.requires_grad_(f)
            alg.schedule = schedule
            left[0] -= 1
            if left[0] == 0:
                print("[train] critic warm-up done: the actor learns from now on", flush=True)

    alg.update = warmup_update
