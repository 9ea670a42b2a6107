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

Observation history may grow: a source whose terms carry fewer past frames than this
workspace's contract (e.g. contract version 1, the current frame only) is widened by
:func:`fit_history`. Its weights take the newest frames; the weights of the older ones start at
zero, so the widened actor acts exactly as the source did, and learns to use the past.

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
    history: dict[str, int] | None = None  # frames per observation term the actor takes


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


def _without_history(contract: object) -> dict:
    """The contract as a dict, without what :func:`fit_history` reconciles (and provenance)."""
    d = asdict(contract)
    for k in ("run_id", "git_commit", "extra", "contract_version"):
        d.pop(k)
    d["observation"] = [{k: v for k, v in t.items() if k != "history"}
                        for t in d["observation"]]
    return d


def _onnx_actor(path: Path, check: bool = True) -> tuple[dict, str, str, dict[str, int]]:
    """Actor state dict (normalizer + MLP), activation, contract note and history of an export.

    ``check``: refuse a contract that differs from this workspace's beyond observation history.
    """
    import onnx
    import torch
    from athena_description.model_metadata import read_onnx_metadata
    from athena_description.policy_contract import default_policy_contract
    from onnx import numpy_helper

    contract = read_onnx_metadata(path)
    theirs, ours = _without_history(contract), _without_history(default_policy_contract())
    diff = sorted(k for k in ours if ours[k] != theirs.get(k))
    if diff and check:
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
    history = {t.name: t.history for t in contract.observation}
    return state, _ACTIVATIONS[acts.pop()], "ONNX policy contract equal (history aside)", history


def _yaml_history(path: Path) -> dict[str, int] | None:
    """Frames per policy term in the ``params/env.yaml`` beside ``path`` (None: no file).

    A run on Isaac Lab's warp managers (its env config names a ``manager_call_config``) keeps
    no history in the env: its actor took the workspace contract's frames, stacked outside
    (:class:`athena_train.obs_history.HistoryVecEnv`).
    """
    import yaml
    from athena_description.policy_contract import default_policy_contract

    env_yaml = _params_dir(path) / "env.yaml"
    if not env_yaml.exists():
        return None
    with open(env_yaml, encoding="utf-8") as f:
        cfg = yaml.unsafe_load(f)
    if cfg.get("manager_call_config"):
        return {t.name: t.history for t in default_policy_contract().observation}
    policy = (cfg.get("observations") or {}).get("policy") or {}
    return {k: max(1, int(v.get("history_length") or 0)) for k, v in policy.items()
            if isinstance(v, dict) and "func" in v}


def read_source(path: Path, check_contract: bool = True) -> WarmSource:
    """Load a warm-start source (``.pt`` checkpoint or ``.onnx`` export).

    ``check_contract`` False: take an ONNX export of another policy contract as it is (to
    evaluate it, not to train from it).
    """
    import torch
    import yaml

    path = Path(path)
    if not path.is_file():
        raise WarmStartError(f"warm-start source not found: {path}")
    if path.suffix == ".onnx":
        actor, activation, note, history = _onnx_actor(path, check_contract)
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
        history = _yaml_history(path)
    return WarmSource(path, actor, critic, mlp_shape(actor)[1],
                      mlp_shape(critic)[1] if critic is not None else None, activation, std,
                      note, history)


def fit_history(src: WarmSource, contract: object | None = None) -> tuple[WarmSource, str]:
    """Widen the source's actor to ``contract``'s observation history (default: the workspace's).

    Per term, the source's frames become the newest frames of the wider slice (first-layer
    columns and normalizer statistics); the older frames get zero weights and the newest
    frame's statistics. The critic is untouched (its observation has no history). Returns the
    source unchanged when the histories already agree; WarmStartError when a term would lose
    frames or the source's history is unknown.
    """
    import torch
    from athena_description.policy_contract import default_policy_contract

    contract = contract or default_policy_contract()
    want = {t.name: t.history for t in contract.observation}
    have = src.history
    if have is None:
        raise WarmStartError(f"{src.path}: the source's observation history is unknown (no "
                             "params/env.yaml beside it)")
    if have == want:
        return src, ""
    if list(have) != list(want):
        raise WarmStartError(f"{src.path}: observation terms {list(have)} != {list(want)}")
    shrink = [n for n in want if have[n] > want[n]]
    if shrink:
        frames = {n: (have[n], want[n]) for n in shrink}
        raise WarmStartError(f"{src.path}: terms would lose past frames (have, want): {frames}")
    w_key = next(k for k in sorted(src.actor) if k.startswith("mlp.") and k.endswith(".weight"))
    w = src.actor[w_key]
    old_dim = sum(t.size * have[t.name] for t in contract.observation)
    if w.shape[1] != old_dim:
        raise WarmStartError(f"{src.path}: actor input {w.shape[1]} != {old_dim}, the size its "
                             f"history {have} gives")
    cols, stat_cols, o, n = [], [], 0, 0  # new column -> old column (-1: a new, zero weight)
    for t in contract.observation:
        h0, h1, s = have[t.name], want[t.name], t.size
        newest = o + (h0 - 1) * s
        for f in range(h1):
            k = f - (h1 - h0)  # the old frame this new frame is, if any
            for i in range(s):
                cols.append(o + k * s + i if k >= 0 else -1)
                stat_cols.append(o + k * s + i if k >= 0 else newest + i)
        o, n = o + h0 * s, n + h1 * s
    cols_t, stat_t = torch.tensor(cols), torch.tensor(stat_cols)
    actor = dict(src.actor)
    wide = torch.zeros(w.shape[0], n, dtype=w.dtype)
    keep = cols_t >= 0
    wide[:, keep] = w[:, cols_t[keep]]
    actor[w_key] = wide
    for k in ("obs_normalizer._mean", "obs_normalizer._var", "obs_normalizer._std"):
        if k in actor:
            v = actor[k]
            actor[k] = v[..., stat_t].clone()
    note = (f"observation history widened {have} -> {want} ({old_dim} -> {n} inputs; older "
            "frames start at zero weight)")
    return replace(src, actor=actor, history=dict(want)), note


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
        if g == "policy":  # fit_history reconciled the history (and checked it may grow)
            a, b = _no_history_keys(a), _no_history_keys(b)
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


def _no_history_keys(group: dict | None) -> dict | None:
    """An env.yaml observation group without its terms' history settings."""
    if group is None:
        return None
    return {k: ({kk: vv for kk, vv in v.items()
                 if kk not in ("history_length", "flatten_history_dim")}
                if isinstance(v, dict) else v) for k, v in group.items()}


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
