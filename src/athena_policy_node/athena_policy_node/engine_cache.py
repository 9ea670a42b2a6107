"""TensorRT engine cache: build an FP16 engine from the ONNX policy when missing or stale.

TensorRT engines are not portable: one built by another TensorRT version or for another
GPU (name / compute capability) may refuse to load or silently run slower. The cache key
is therefore (ONNX sha256, TensorRT version, GPU name, compute capability), stored in the
engine's sidecar ``<engine>.json`` next to the policy contract. ``ensure_engine`` rebuilds
whenever the engine or sidecar is missing, unreadable, or its key differs from this
machine's.

The cache logic talks to an ``EngineBuilder``; ``TensorRTBuilder`` is the real one (needs
``tensorrt`` and a CUDA GPU, i.e. the Jetson). Tests inject another builder.

Command line (used by docker/entrypoint.sh)::

    python3 -m athena_policy_node.engine_cache --onnx policy.onnx --engine policy.engine
"""

from __future__ import annotations

import abc
import argparse
import hashlib
import logging
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from athena_description.model_metadata import read_onnx_metadata, read_sidecar, write_sidecar
from athena_description.policy_contract import ContractError

KEY_FIELD = "engine_cache_key"


@dataclass(frozen=True)
class EngineKey:
    """Everything an engine depends on besides its own bytes."""

    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    fp16: bool


@dataclass(frozen=True)
class Platform:
    """The TensorRT version and GPU the engine is built and run on."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str


@dataclass
class EnsureResult:
    """Outcome of ``ensure_engine``: the engine path, whether it was (re)built, and why."""

    engine_path: Path
    built: bool
    reason: str
    key: EngineKey


class EngineBuilder(abc.ABC):
    """Builds serialized engines for one platform."""

    @abc.abstractmethod
    def platform(self) -> Platform:
        """The TensorRT version and GPU this builder targets."""

    @abc.abstractmethod
    def build(self, onnx_path: Path, fp16: bool) -> bytes:
        """Parse ``onnx_path`` and return the serialized engine (raise on failure)."""


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_engine_path(onnx_path: str | Path) -> Path:
    """``policy.onnx`` → ``policy.engine`` beside it."""
    return Path(onnx_path).with_suffix(".engine")


def stale_reason(engine_path: Path, key: EngineKey) -> str | None:
    """Why the cached engine cannot be used with ``key`` (None: it can)."""
    if not engine_path.is_file() or engine_path.stat().st_size == 0:
        return "no engine"
    try:
        _, extra = read_sidecar(engine_path)
    except ContractError as exc:
        return f"sidecar unusable: {exc}"
    cached = extra.get(KEY_FIELD)
    if not isinstance(cached, dict):
        return "sidecar has no cache key"
    diffs = [f"{name} {cached.get(name)!r} != {value!r}" for name, value in asdict(key).items()
             if cached.get(name) != value]
    return "mismatch: " + ", ".join(diffs) if diffs else None


def ensure_engine(onnx_path: str | Path, engine_path: str | Path | None = None,
                  builder: EngineBuilder | None = None, fp16: bool = True,
                  logger: logging.Logger | None = None) -> EnsureResult:
    """Return a usable engine for ``onnx_path``, building it if missing or stale.

    The ONNX's policy contract is validated first (a model without metadata is refused
    before any build). The engine and its sidecar are written atomically (temp + rename),
    engine first, so a crash mid-build never leaves a sidecar vouching for a bad engine.
    """
    log = logger or logging.getLogger("athena_policy_node.engine_cache")
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise FileNotFoundError(f"ONNX policy not found: {onnx_path}")
    engine_path = Path(engine_path) if engine_path else default_engine_path(onnx_path)
    contract = read_onnx_metadata(onnx_path)
    builder = builder or TensorRTBuilder()
    plat = builder.platform()
    key = EngineKey(sha256_file(onnx_path), plat.tensorrt_version, plat.gpu_name,
                    plat.compute_capability, bool(fp16))
    reason = stale_reason(engine_path, key)
    if reason is None:
        log.info(f"engine cache hit: {engine_path} (TensorRT {key.tensorrt_version}, "
                 f"{key.gpu_name} sm_{key.compute_capability})")
        return EnsureResult(engine_path, False, "cache hit", key)

    log.info(f"building TensorRT engine {engine_path} from {onnx_path.name}: {reason}")
    blob = builder.build(onnx_path, fp16)
    if not blob:
        raise RuntimeError(f"TensorRT produced an empty engine for {onnx_path}")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = engine_path.with_name(engine_path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(bytes(blob))
    tmp.replace(engine_path)
    write_sidecar(engine_path, contract, **{KEY_FIELD: asdict(key),
                                            "tensorrt_version": key.tensorrt_version,
                                            "gpu": key.gpu_name, "fp16": key.fp16,
                                            "onnx": onnx_path.name})
    log.info(f"engine written: {engine_path} ({len(blob)} bytes)")
    return EnsureResult(engine_path, True, reason, key)


def _cudart():
    """cuda-python's runtime module (new layout ``cuda.bindings`` first, then the old)."""
    try:
        from cuda.bindings import runtime as cudart
    except ImportError:
        from cuda import cudart
    return cudart


def cuda_check(result: tuple) -> object:
    """Unpack a cuda-python ``(err, value...)`` tuple, raising on error."""
    err, *rest = result
    if int(err) != 0:
        raise RuntimeError(f"CUDA error {err}")
    return rest[0] if len(rest) == 1 else (tuple(rest) if rest else None)


class TensorRTBuilder(EngineBuilder):
    """The real builder: TensorRT 10 OnnxParser + builder, batch-1 profile, FP16."""

    def __init__(self, workspace_bytes: int = 256 << 20, device: int = 0) -> None:
        import tensorrt as trt  # only here: the cache logic must import without TensorRT

        self.trt = trt
        self.workspace_bytes = workspace_bytes
        self.device = device
        self.logger = trt.Logger(trt.Logger.WARNING)

    def platform(self) -> Platform:
        """TensorRT version and the CUDA device's name and compute capability."""
        cudart = _cudart()
        props = cuda_check(cudart.cudaGetDeviceProperties(self.device))
        name = props.name.decode() if isinstance(props.name, bytes) else str(props.name)
        return Platform(self.trt.__version__, name.strip("\x00 "),
                        f"{props.major}.{props.minor}")

    def build(self, onnx_path: Path, fp16: bool) -> bytes:
        """Parse the ONNX and build a serialized engine (obs fixed to batch 1)."""
        from athena_description.policy_contract import OBS_INPUT_NAME

        trt = self.trt
        builder = trt.Builder(self.logger)
        network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse_from_file(str(onnx_path)):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise RuntimeError(f"TensorRT cannot parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, self.workspace_bytes)
        if fp16:
            if not builder.platform_has_fast_fp16:
                raise RuntimeError("FP16 requested but this GPU has no fast FP16")
            config.set_flag(trt.BuilderFlag.FP16)
        obs = network.get_input(0)
        if obs.name != OBS_INPUT_NAME:
            raise RuntimeError(f"ONNX input is {obs.name!r}, contract needs {OBS_INPUT_NAME!r}")
        one = (1, obs.shape[-1])
        profile = builder.create_optimization_profile()
        profile.set_shape(OBS_INPUT_NAME, one, one, one)
        config.add_optimization_profile(profile)
        blob = builder.build_serialized_network(network, config)
        if blob is None:
            raise RuntimeError(f"TensorRT engine build failed for {onnx_path}")
        return bytes(blob)


def main(argv: list[str] | None = None) -> int:
    """CLI: ensure the engine for an ONNX policy; exit 0 if usable, 2 if it cannot be built."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", required=True, help="exported policy (.onnx with metadata)")
    parser.add_argument("--engine", help="engine path (default: beside the ONNX)")
    parser.add_argument("--no-fp16", action="store_true", help="build FP32")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[engine_cache] %(message)s")
    try:
        result = ensure_engine(args.onnx, args.engine, fp16=not args.no_fp16)
    except ImportError as exc:
        logging.error(f"TensorRT is not available here ({exc}); no engine built")
        return 2
    except (RuntimeError, ContractError, FileNotFoundError) as exc:
        logging.error(f"cannot provide an engine: {exc}")
        return 2
    print(result.engine_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
