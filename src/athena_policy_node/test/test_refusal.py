"""A model that does not fit the robot is refused; the generated test policy passes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import pytest
from athena_description.model_metadata import embed_onnx_metadata
from athena_policy_node.self_check import self_check
from athena_policy_node.test_policy import make_test_policy

from athena_description import ContractError, default_policy_contract


def _with_contract(src: Path, dst: Path, contract) -> Path:
    model = onnx.load(str(src))
    if contract is None:
        del model.metadata_props[:]
    else:
        embed_onnx_metadata(model, contract)
    onnx.save(model, str(dst))
    return dst


def test_test_policy_passes_self_check(tmp_path: Path) -> None:
    """The generated policy loads on ONNX Runtime CPU and produces finite actions."""
    summary = self_check(make_test_policy(tmp_path / "p.onnx"), "onnxruntime-cpu", n=200)
    assert summary["backend"] == "onnxruntime-cpu" and summary["obs_dim"] == 47


@pytest.mark.parametrize("change", ["missing", "joint_order", "action_scale"])
def test_mismatched_model_refused(tmp_path: Path, change: str) -> None:
    """Missing metadata, swapped joint order, wrong action scale → ContractError."""
    src = make_test_policy(tmp_path / "p.onnx")
    c = default_policy_contract()
    if change == "missing":
        bad = None
    elif change == "joint_order":
        names = list(c.joint_names)
        names[0], names[1] = names[1], names[0]
        bad = dataclasses.replace(c, joint_names=tuple(names))
    else:
        bad = dataclasses.replace(c, action_scale=c.action_scale * 2)
    model = _with_contract(src, tmp_path / "bad.onnx", bad)
    with pytest.raises(ContractError):
        self_check(model, "onnxruntime-cpu", n=10)
