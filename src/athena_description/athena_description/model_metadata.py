"""Read and write the policy contract carried by a model file.

* ONNX: the contract lives in the model's ``metadata_props`` (one JSON value per key).
* TensorRT engine: the same map in a JSON sidecar ``<engine>.json`` next to the engine, plus
  what the engine was built for (TensorRT version, GPU).

onnx is imported inside the functions: this package must import without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from athena_description.policy_contract import PolicyContract
from athena_description.robot_contract import ContractError


def embed_onnx_metadata(model: Any, contract: PolicyContract) -> None:
    """Write ``contract`` into an ``onnx.ModelProto``'s metadata_props (replacing old keys)."""
    meta = contract.to_metadata()
    keep = [p for p in model.metadata_props if p.key not in meta]
    del model.metadata_props[:]
    for prop in keep:
        model.metadata_props.add(key=prop.key, value=prop.value)
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)


def read_onnx_metadata(path: str | Path) -> PolicyContract:
    """Read the policy contract from an ONNX file; ContractError if absent or malformed."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends on a corrupt file
        raise ContractError(f"{path} is not a readable ONNX model: {exc}") from exc
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        return PolicyContract.from_metadata(meta)
    except ContractError as exc:
        raise ContractError(f"{path}: {exc}") from exc


def sidecar_path(engine_path: str | Path) -> Path:
    """The sidecar file of an engine: ``policy.engine`` → ``policy.engine.json``."""
    engine_path = Path(engine_path)
    return engine_path.with_name(engine_path.name + ".json")


def write_sidecar(engine_path: str | Path, contract: PolicyContract, **extra: Any) -> Path:
    """Write the contract (and ``extra``, e.g. TensorRT version, GPU) next to an engine."""
    out = sidecar_path(engine_path)
    payload = {"policy_contract": contract.to_metadata(), **extra}
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(out)
    return out


def read_sidecar(engine_path: str | Path) -> tuple[PolicyContract, dict[str, Any]]:
    """Read an engine's sidecar: (contract, the other fields). ContractError if missing/bad."""
    path = sidecar_path(engine_path)
    if not path.is_file():
        raise ContractError(f"engine {engine_path} has no metadata sidecar {path}")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        meta = payload.pop("policy_contract")
    except (json.JSONDecodeError, KeyError, AttributeError) as exc:
        raise ContractError(f"malformed engine sidecar {path}: {exc!r}") from exc
    return PolicyContract.from_metadata(meta), payload
