"""Checkpoint → ONNX with the policy contract embedded; parity-checked; optional TensorRT engine.

``python -m athena_train.export CHECKPOINT [--out policy.onnx] [--recorded obs.npy]``

The ONNX graph is the deterministic actor (observation normalizer included): input ``obs``
[N, obs_dim] (the policy contract's), output ``actions`` [N, 23], dynamic batch, opset 17.
The metadata carries the whole policy contract plus the run id and git commit. The export
fails (exit 1, no file left) unless ONNX Runtime and torch agree to 1e-5 relative to the
largest action (1e-5 absolute for actions within ±1) on random observations and on recorded
ones.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

PARITY_ATOL = 1e-5
OPSET = 17


class ParityError(RuntimeError):
    """ONNX Runtime and torch disagree beyond the tolerance."""


def load_actor(checkpoint: Path) -> object:
    """Rebuild the deterministic actor (normalizer + MLP + mean) from a checkpoint.

    The network shape comes from the run's ``params/agent.yaml`` (written by ``train``), its
    input size from the weights. An exported ``.onnx`` of any contract this workspace builds
    is read back into the same torch module (:mod:`athena_train.warm_start`), so that
    ``evaluate``/``terrain_eval`` take it too (in an env built with its observation).
    """
    import torch
    import yaml
    from athena_description.policy_contract import ACTION_DIM
    from rsl_rl.models.mlp_model import MLPModel, _OnnxMLPModel
    from tensordict import TensorDict

    from athena_train.warm_start import mlp_shape, read_source

    def obs_of(actor_state: dict) -> TensorDict:
        return TensorDict({"policy": torch.zeros(1, mlp_shape(actor_state)[0])}, batch_size=[1])

    checkpoint = Path(checkpoint)
    if checkpoint.suffix == ".onnx":
        src = read_source(checkpoint, check_contract=False)
        model = MLPModel(obs_of(src.actor), {"actor": ["policy"]}, "actor", ACTION_DIM,
                         hidden_dims=src.actor_hidden, activation=src.activation,
                         obs_normalization=True)
        model.load_state_dict(src.actor)
        exportable = _OnnxMLPModel(model, verbose=False)
        exportable.eval()
        return exportable
    agent_yaml = checkpoint.parent / "params" / "agent.yaml"
    with open(agent_yaml, encoding="utf-8") as f:
        agent = yaml.unsafe_load(f)
    actor_cfg = dict(agent["actor"])
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    model = MLPModel(obs_of(state["actor_state_dict"]), {"actor": ["policy"]}, "actor", ACTION_DIM,
                     hidden_dims=actor_cfg["hidden_dims"], activation=actor_cfg["activation"],
                     obs_normalization=actor_cfg["obs_normalization"],
                     distribution_cfg=actor_cfg.get("distribution_cfg"))
    model.load_state_dict(state["actor_state_dict"])
    exportable = _OnnxMLPModel(model, verbose=False)
    exportable.eval()
    return exportable


def run_id_of(checkpoint: Path) -> str:
    """``<experiment>/<run>/<model_it>`` — names the training run and iteration."""
    return f"{checkpoint.parent.parent.name}/{checkpoint.parent.name}/{checkpoint.stem}"


def commit_of(checkpoint: Path) -> str:
    """The git commit recorded by ``train`` in the run directory."""
    p = checkpoint.parent / "git.txt"
    return p.read_text(encoding="utf-8").strip() if p.exists() else "unknown"


def parity_check(onnx_path: Path, actor: object, recorded: np.ndarray | None,
                 atol: float = PARITY_ATOL, obs_dim: int | None = None) -> float:
    """Worst |ORT - torch| / max(1, max |torch|) per batch; ParityError above ``atol``.

    Relative, because float32 rounding grows with the values: random N(0, 1) observations
    through the normalizer of a model whose observations vary little (a history of joint
    velocities) give large actions, where two correct runtimes differ by more than 1e-5
    absolutely (rough4's model_975: actions up to 97, 3.1e-5 apart; model_500: 2.3e-5).
    """
    import onnxruntime as ort
    import torch
    from athena_description.policy_contract import default_policy_contract

    obs_dim = obs_dim or default_policy_contract().obs_dim
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    batches = [rng.normal(0, 1, (64, obs_dim)).astype(np.float32),
               rng.normal(0, 1, (1, obs_dim)).astype(np.float32)]
    if recorded is not None:
        batches.append(np.asarray(recorded, dtype=np.float32).reshape(-1, obs_dim))
    per_batch = []  # (relative, absolute, scale)
    for obs in batches:
        out_ort = sess.run(["actions"], {"obs": obs})[0]
        with torch.no_grad():
            out_torch = actor(torch.from_numpy(obs)).numpy()
        diff = float(np.abs(out_ort - out_torch).max())
        scale = max(1.0, float(np.abs(out_torch).max()))
        per_batch.append((diff / scale, diff, scale))
    # NaN (a runtime producing NaN) counts as the worst
    worst, worst_abs, scale_at_worst = max(per_batch, key=lambda b: np.nan_to_num(b[0], nan=np.inf))
    if not worst <= atol:
        raise ParityError(f"ONNX Runtime vs torch max abs diff {worst_abs:.3g} at actions up to "
                          f"{scale_at_worst:.3g}: relative {worst:.3g} > {atol:g}")
    return worst


def export(checkpoint: Path, out: Path, recorded: np.ndarray | None = None) -> tuple[Path, float]:
    """Export ``checkpoint`` to ``out``; return (path, parity: relative max diff)."""
    import onnx
    import torch
    from athena_description.model_metadata import embed_onnx_metadata
    from athena_description.policy_contract import (
        ACTION_OUTPUT_NAME,
        OBS_INPUT_NAME,
        default_policy_contract,
        with_provenance,
    )

    checkpoint, out = Path(checkpoint), Path(out)
    actor = load_actor(checkpoint)
    obs_dim = default_policy_contract().obs_dim
    takes = actor.input_size
    if takes != obs_dim:  # the contract embedded below must be the one it was trained on
        raise ValueError(f"{checkpoint}: the actor takes {takes} observations, this "
                         f"workspace's policy contract {obs_dim}: export it from its own commit")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    torch.onnx.export(actor, (torch.zeros(1, obs_dim),), str(tmp), opset_version=OPSET,
                      input_names=[OBS_INPUT_NAME], output_names=[ACTION_OUTPUT_NAME],
                      dynamic_axes={OBS_INPUT_NAME: {0: "batch"}, ACTION_OUTPUT_NAME: {0: "batch"}},
                      dynamo=False)
    model = onnx.load(str(tmp))
    contract = with_provenance(default_policy_contract(), run_id_of(checkpoint),
                               commit_of(checkpoint))
    embed_onnx_metadata(model, contract)
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    try:
        diff = parity_check(tmp, actor, recorded)
    except ParityError:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)
    return out, diff


def build_engine(onnx_path: Path) -> Path:
    """TensorRT FP16 engine (+ sidecar) via the node's engine cache; RuntimeError if no TensorRT."""
    try:
        from athena_policy_node import engine_cache
    except ImportError as exc:
        raise RuntimeError(f"athena_policy_node.engine_cache is unavailable: {exc}") from exc
    try:
        return Path(engine_cache.ensure_engine(onnx_path, fp16=True).engine_path)
    except (ImportError, OSError) as exc:  # no TensorRT / no CUDA driver on this machine
        raise RuntimeError(str(exc)) from exc


def main(argv: list[str] | None = None) -> int:
    """Command line: ``export CHECKPOINT [--out PATH] [--recorded OBS.npy]``."""
    ap = argparse.ArgumentParser(description="Export an athena checkpoint to ONNX.")
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("--out", type=Path, default=None,
                    help="default: <run dir>/exported/policy.onnx")
    ap.add_argument("--recorded", type=Path, default=None,
                    help=".npy of recorded observations [N, obs_dim] for the parity check")
    args = ap.parse_args(argv)
    out = args.out or args.checkpoint.parent / "exported" / "policy.onnx"
    recorded = np.load(args.recorded) if args.recorded else None
    try:
        path, diff = export(args.checkpoint, out, recorded)
    except ParityError as exc:
        print(f"[export] FAILED: {exc}", file=sys.stderr)
        return 1
    print(f"[export] {path} (parity: max diff {diff:.2e} relative to the largest action)")
    return 0


def engine_main(argv: list[str] | None = None) -> int:
    """Command line: ``engine POLICY.onnx`` → TensorRT FP16 engine next to it."""
    ap = argparse.ArgumentParser(description="Build a TensorRT FP16 engine from an ONNX policy.")
    ap.add_argument("onnx", type=Path)
    args = ap.parse_args(argv)
    try:
        print(f"[engine] {build_engine(args.onnx)}")
    except RuntimeError as exc:
        print(f"[engine] TensorRT unavailable: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
