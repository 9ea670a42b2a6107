"""``engine``: builds through athena_policy_node.engine_cache; says so where TensorRT is absent."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from athena_train import export

POLICY = Path(__file__).resolve().parents[1] / "policies" / "flat2" / "policy.onnx"


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None,
                    reason="TensorRT is installed: the unavailable path cannot be shown")
def test_engine_reports_tensorrt_unavailable(capsys: pytest.CaptureFixture) -> None:
    assert export.engine_main([str(POLICY)]) == 2
    assert "TensorRT unavailable" in capsys.readouterr().err
    assert not POLICY.with_suffix(".engine").exists()
