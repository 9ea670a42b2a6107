"""Model metadata round trips: ONNX metadata_props and the TensorRT engine sidecar."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from athena_description.model_metadata import (
    embed_onnx_metadata,
    read_onnx_metadata,
    read_sidecar,
    sidecar_path,
    write_sidecar,
)
from athena_description.policy_contract import default_policy_contract
from athena_description.robot_contract import ContractError

onnx = pytest.importorskip("onnx")


def _tiny_model() -> onnx.ModelProto:
    """A one-node ONNX graph (Identity) to carry metadata."""
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, 47])
    y = helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 47])
    graph = helper.make_graph([helper.make_node("Identity", ["obs"], ["actions"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_onnx_round_trip(tmp_path: Path) -> None:
    """Embedded contract reads back equal; embedding twice replaces rather than duplicates."""
    contract = default_policy_contract()
    model = _tiny_model()
    embed_onnx_metadata(model, contract)
    embed_onnx_metadata(model, contract)
    keys = [p.key for p in model.metadata_props]
    assert len(keys) == len(set(keys))
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert read_onnx_metadata(path) == contract


def test_onnx_missing_metadata_is_contract_error(tmp_path: Path) -> None:
    """A model without metadata is refused with ContractError."""
    path = tmp_path / "bare.onnx"
    onnx.save(_tiny_model(), str(path))
    with pytest.raises(ContractError):
        read_onnx_metadata(path)


def test_onnx_corrupt_and_absent_files(tmp_path: Path) -> None:
    """Garbage bytes → ContractError; absent file → FileNotFoundError."""
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not an onnx model\xff" * 10)
    with pytest.raises(ContractError):
        read_onnx_metadata(bad)
    with pytest.raises(FileNotFoundError):
        read_onnx_metadata(tmp_path / "absent.onnx")


def test_sidecar_round_trip(tmp_path: Path) -> None:
    """Sidecar stores the contract plus extra fields next to the engine."""
    contract = default_policy_contract()
    engine = tmp_path / "policy.engine"
    out = write_sidecar(engine, contract, tensorrt_version="10.3", gpu="Orin")
    assert out == sidecar_path(engine) == tmp_path / "policy.engine.json"
    back, extra = read_sidecar(engine)
    assert back == contract
    assert extra == {"tensorrt_version": "10.3", "gpu": "Orin"}


def test_sidecar_missing_or_malformed(tmp_path: Path) -> None:
    """No sidecar, bad JSON, or JSON without the contract → ContractError."""
    engine = tmp_path / "policy.engine"
    with pytest.raises(ContractError):
        read_sidecar(engine)
    sidecar_path(engine).write_text("{not json", encoding="utf-8")
    with pytest.raises(ContractError):
        read_sidecar(engine)
    sidecar_path(engine).write_text(json.dumps({"gpu": "x"}), encoding="utf-8")
    with pytest.raises(ContractError):
        read_sidecar(engine)


def test_changed_contract_reads_back_changed(tmp_path: Path) -> None:
    """A different action scale survives the round trip (so the node can detect it)."""
    contract = dataclasses.replace(default_policy_contract(), action_scale=0.5)
    model = _tiny_model()
    embed_onnx_metadata(model, contract)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    assert read_onnx_metadata(path).action_scale == 0.5
