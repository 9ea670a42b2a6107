"""Inference backends behind one small interface, and the choice between them.

* ``tensorrt``         — a TensorRT engine + sidecar metadata (Jetson Orin; tensorrt_backend.py)
* ``onnxruntime-gpu``  — ONNX Runtime with the TensorRT / CUDA execution providers
* ``onnxruntime-cpu``  — ONNX Runtime on the CPU (everywhere)
* ``auto``             — the first of these that loads, in this order

Every backend exposes the policy contract of the model it loaded, so the node can check it
against the robot before it runs anything.
"""

from __future__ import annotations

import abc
import logging
from pathlib import Path

import numpy as np
from athena_description.model_metadata import read_onnx_metadata
from athena_description.policy_contract import ACTION_OUTPUT_NAME, OBS_INPUT_NAME, PolicyContract
from athena_description.robot_contract import ContractError

BACKENDS = ("tensorrt", "onnxruntime-gpu", "onnxruntime-cpu")


class BackendUnavailable(RuntimeError):
    """This backend cannot run here (library, hardware or file missing)."""


class InferenceBackend(abc.ABC):
    """One loaded policy: float32 obs [1, obs_dim] → actions [1, action_dim]."""

    name: str
    contract: PolicyContract

    @abc.abstractmethod
    def infer(self, obs: np.ndarray) -> np.ndarray:
        """Run the policy on one observation batch."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources."""


class OnnxRuntimeBackend(InferenceBackend):
    """ONNX Runtime, tuned for latency of batch-1 calls (one thread, sequential)."""

    def __init__(self, model_path: str | Path, providers: list[str] | None = None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendUnavailable("onnxruntime is not installed") from exc
        self.contract = read_onnx_metadata(model_path)
        available = ort.get_available_providers()
        providers = providers or ["CPUExecutionProvider"]
        missing = [p for p in providers if p not in available]
        if missing:
            raise BackendUnavailable(f"ONNX Runtime lacks {missing} (has {available})")
        opts = ort.SessionOptions()
        # one intra-op thread: a 47→512→256→128→23 MLP is too small to split, and spare
        # threads spinning would steal the control loop's core.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session = ort.InferenceSession(str(model_path), opts, providers=providers)
        self.name = "onnxruntime-gpu" if providers[0] != "CPUExecutionProvider" else \
            "onnxruntime-cpu"
        self.providers = self._session.get_providers()
        inputs = [i.name for i in self._session.get_inputs()]
        outputs = [o.name for o in self._session.get_outputs()]
        if inputs != [OBS_INPUT_NAME] or outputs != [ACTION_OUTPUT_NAME]:
            raise BackendUnavailable(f"model I/O {inputs}->{outputs}, contract needs "
                                     f"[{OBS_INPUT_NAME}]->[{ACTION_OUTPUT_NAME}]")
        width = self._session.get_inputs()[0].shape[-1]
        if isinstance(width, int) and width != self.contract.obs_dim:
            # the graph and its own metadata disagree: no observation would fit both
            raise ContractError(f"{model_path}: the graph takes {width} observations, its "
                                f"policy contract describes {self.contract.obs_dim}")
        self._run = self._session.run
        self._outputs = [ACTION_OUTPUT_NAME]

    def infer(self, obs: np.ndarray) -> np.ndarray:
        """Run one batch (float32 [N, obs_dim]) and return actions [N, action_dim]."""
        return self._run(self._outputs, {OBS_INPUT_NAME: obs})[0]


def _load(kind: str, model_path: Path) -> InferenceBackend:
    if kind == "tensorrt":
        try:
            from athena_policy_node.tensorrt_backend import TensorRTBackend
        except ImportError as exc:
            raise BackendUnavailable(f"TensorRT backend unavailable: {exc}") from exc
        engine = model_path if model_path.suffix == ".engine" else model_path.with_suffix(
            ".engine")
        if not engine.is_file():
            raise BackendUnavailable(f"no TensorRT engine at {engine}")
        return TensorRTBackend(engine)
    onnx_path = model_path.with_suffix(".onnx") if model_path.suffix == ".engine" else model_path
    if kind == "onnxruntime-gpu":
        return OnnxRuntimeBackend(onnx_path, ["TensorrtExecutionProvider",
                                              "CUDAExecutionProvider", "CPUExecutionProvider"])
    if kind == "onnxruntime-cpu":
        return OnnxRuntimeBackend(onnx_path, ["CPUExecutionProvider"])
    raise ValueError(f"unknown backend {kind!r}; choose one of {('auto',) + BACKENDS}")


def load_backend(model_path: str | Path, backend: str = "auto",
                 logger: logging.Logger | None = None) -> InferenceBackend:
    """Load ``model_path`` with ``backend`` (or the best available for ``auto``).

    A named backend that cannot run falls back along BACKENDS; the log says which one runs
    and why the others did not. Contract errors (missing/bad metadata) are never swallowed.
    """
    log = logger or logging.getLogger("athena_policy_node.inference")
    model_path = Path(model_path)
    if backend != "auto" and backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {('auto',) + BACKENDS}")
    order = list(BACKENDS) if backend == "auto" else list(BACKENDS[BACKENDS.index(backend):])
    reasons = []
    for kind in order:
        try:
            loaded = _load(kind, model_path)
        except BackendUnavailable as exc:
            reasons.append(f"{kind}: {exc}")
            continue
        why = f" (requested {backend}; skipped: {'; '.join(reasons)})" if reasons else ""
        log.info(f"inference backend: {loaded.name} for {model_path.name}{why}")
        return loaded
    raise BackendUnavailable(f"no inference backend could load {model_path}: "
                             + "; ".join(reasons))
