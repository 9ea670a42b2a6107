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
    assert summary["backend"] == "onnxruntime-cpu"
    assert summary["obs_dim"] == default_policy_contract().obs_dim


def test_a_version_1_model_still_runs(tmp_path: Path) -> None:
    """Contract version 1 (the current frame only, 47 values: flat2's) loads and runs."""
    c = default_policy_contract()
    v1 = dataclasses.replace(c, contract_version=1, observation=tuple(
        dataclasses.replace(t, history=1) for t in c.observation))
    model = make_test_policy(tmp_path / "v1.onnx", contract=v1)
    summary = self_check(model, "onnxruntime-cpu", n=200)
    assert summary["obs_dim"] == 47


def test_a_graph_its_contract_does_not_describe_is_refused(tmp_path: Path) -> None:
    """A 47-input graph whose metadata says 215 observations: no observation fits both."""
    c = default_policy_contract()
    v1 = dataclasses.replace(c, contract_version=1, observation=tuple(
        dataclasses.replace(t, history=1) for t in c.observation))
    model = _with_contract(make_test_policy(tmp_path / "v1.onnx", contract=v1),
                           tmp_path / "lying.onnx", c)
    with pytest.raises(ContractError, match="graph takes 47 observations"):
        self_check(model, "onnxruntime-cpu", n=10)


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
