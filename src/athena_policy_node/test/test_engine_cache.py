"""The engine cache: build when missing, reuse when valid, rebuild when the key changes.

STAND-IN: ``FakeBuilder`` replaces TensorRT's builder, because TensorRT (and a CUDA GPU)
cannot be installed on this machine. Everything else is real: the ONNX policies are real
files with the real contract metadata, hashing, sidecars (athena_description.model_metadata)
and atomic writes are the production code. The real TensorRT build runs only in
``test_real_tensorrt_build``, which is skipped wherever ``tensorrt`` does not import.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from athena_description.model_metadata import read_onnx_metadata, read_sidecar, sidecar_path
from athena_description.policy_contract import ContractError
from athena_policy_node.engine_cache import EngineBuilder, Platform, ensure_engine
from athena_policy_node.test_policy import make_test_policy

from athena_policy_node import engine_cache


class FakeBuilder(EngineBuilder):
    """Stand-in for TensorRTBuilder (no TensorRT here): records builds, returns marker bytes."""

    def __init__(self, trt: str = "10.3.0", gpu: str = "Orin", cc: str = "8.7",
                 fail: bool = False) -> None:
        self.plat = Platform(trt, gpu, cc)
        self.builds: list[tuple[str, bool]] = []
        self.fail = fail

    def platform(self) -> Platform:
        return self.plat

    def build(self, onnx_path, fp16):
        self.builds.append((onnx_path.name, fp16))
        if self.fail:
            raise RuntimeError("simulated TensorRT build failure")
        return f"ENGINE {self.plat} fp16={fp16}".encode()


@pytest.fixture
def policy(tmp_path):
    return make_test_policy(tmp_path / "policy.onnx", seed=1)


def test_build_then_hit(policy):
    builder = FakeBuilder()
    first = ensure_engine(policy, builder=builder)
    assert first.built and first.reason == "no engine"
    assert first.engine_path == policy.with_suffix(".engine")
    assert first.engine_path.read_bytes().startswith(b"ENGINE")
    contract, extra = read_sidecar(first.engine_path)
    assert contract == read_onnx_metadata(policy)
    assert extra["engine_cache_key"]["tensorrt_version"] == "10.3.0"
    assert extra["engine_cache_key"]["compute_capability"] == "8.7"
    assert extra["fp16"] is True
    second = ensure_engine(policy, builder=builder)
    assert not second.built and second.reason == "cache hit"
    assert builder.builds == [("policy.onnx", True)]


@pytest.mark.parametrize("change,field", [
    ({"trt": "10.7.0"}, "tensorrt_version"),
    ({"gpu": "NVIDIA H100"}, "gpu_name"),
    ({"cc": "9.0"}, "compute_capability"),
])
def test_platform_change_rebuilds(policy, change, field):
    ensure_engine(policy, builder=FakeBuilder())
    again = ensure_engine(policy, builder=FakeBuilder(**change))
    assert again.built and field in again.reason
    _, extra = read_sidecar(again.engine_path)
    assert extra["engine_cache_key"][field] == list(change.values())[0]


def test_new_onnx_or_precision_rebuilds(policy, tmp_path):
    builder = FakeBuilder()
    ensure_engine(policy, builder=builder)
    make_test_policy(policy, seed=2)  # a retrained policy replaces the file
    assert "onnx_sha256" in ensure_engine(policy, builder=builder).reason
    assert "fp16" in ensure_engine(policy, builder=builder, fp16=False).reason
    assert len(builder.builds) == 3


def test_broken_sidecar_or_engine_rebuilds(policy):
    builder = FakeBuilder()
    engine = ensure_engine(policy, builder=builder).engine_path
    sidecar_path(engine).write_text("{not json")
    assert "sidecar unusable" in ensure_engine(policy, builder=builder).reason
    payload = json.loads(sidecar_path(engine).read_text())
    del payload["engine_cache_key"]
    sidecar_path(engine).write_text(json.dumps(payload))
    assert "no cache key" in ensure_engine(policy, builder=builder).reason
    engine.write_bytes(b"")
    assert ensure_engine(policy, builder=builder).reason == "no engine"
    assert len(builder.builds) == 4


def test_failed_build_leaves_no_half_written_files(policy, tmp_path):
    with pytest.raises(RuntimeError, match="simulated"):
        ensure_engine(policy, tmp_path / "out" / "p.engine", builder=FakeBuilder(fail=True))
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["policy.onnx"]


def test_model_without_contract_is_refused_before_building(tmp_path):
    bare = make_test_policy(tmp_path / "bare.onnx")
    model = onnx.load(bare)
    del model.metadata_props[:]
    onnx.save(model, bare)
    builder = FakeBuilder()
    with pytest.raises(ContractError):
        ensure_engine(bare, builder=builder)
    assert builder.builds == []


def test_cli_without_tensorrt_fails_clearly(policy, capsys):
    try:
        import tensorrt  # noqa: F401
        pytest.skip("tensorrt is installed here; the CLI would really build")
    except ImportError:
        pass
    assert engine_cache.main(["--onnx", str(policy)]) == 2
    assert not policy.with_suffix(".engine").exists()


def test_real_tensorrt_build(policy):
    """Only where TensorRT + a GPU exist (the Jetson image): build, load, compare to ORT."""
    pytest.importorskip("tensorrt")
    import onnxruntime as ort
    from athena_policy_node.tensorrt_backend import TensorRTBackend

    result = ensure_engine(policy)
    backend = TensorRTBackend(result.engine_path)
    obs = np.random.default_rng(0).standard_normal((1, 47)).astype(np.float32)
    ref = ort.InferenceSession(str(policy), providers=["CPUExecutionProvider"]).run(
        None, {"obs": obs})[0]
    np.testing.assert_allclose(backend.infer(obs), ref, atol=5e-3)  # FP16 tolerance
    backend.close()
