"""TensorRT 10 inference backend (Jetson Orin, JetPack 6).

Loads a serialized engine built by engine_cache.py, checks its sidecar ``<engine>.json``
(policy contract + the TensorRT version/GPU it was built for), binds the tensors by NAME
(``obs`` → ``actions``, never by index) and runs ``execute_async_v3`` on its own CUDA
stream.

Device memory: cuda-python's runtime bindings (``cuda.bindings.runtime``, or the older
``cuda.cudart``), not PyTorch. cuda-python is a small wheel that exists for aarch64 and
JetPack's CUDA 12, whereas torch on the robot would add gigabytes for two 200-byte
buffers. Host buffers are preallocated numpy arrays, so a call allocates nothing: two
``cudaMemcpyAsync`` + one enqueue + one stream sync.

Never run here: this machine has no TensorRT and no GPU (see docker/README.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from athena_description.model_metadata import read_sidecar
from athena_description.policy_contract import ACTION_OUTPUT_NAME, OBS_INPUT_NAME

from athena_policy_node.engine_cache import _cudart, cuda_check
from athena_policy_node.inference import BackendUnavailable, InferenceBackend


class TensorRTBackend(InferenceBackend):
    """A deserialized TensorRT engine with preallocated batch-1 buffers."""

    name = "tensorrt"

    def __init__(self, engine_path: str | Path, device: int = 0) -> None:
        try:
            import tensorrt as trt
        except ImportError as exc:
            raise BackendUnavailable(f"tensorrt is not installed ({exc})") from exc
        try:
            self._cudart = _cudart()
        except ImportError as exc:
            raise BackendUnavailable(f"cuda-python is not installed ({exc})") from exc
        engine_path = Path(engine_path)
        self.contract, self.sidecar = read_sidecar(engine_path)  # ContractError if missing
        built_with = self.sidecar.get("tensorrt_version")
        if built_with and built_with != trt.__version__:
            raise BackendUnavailable(f"{engine_path.name} was built by TensorRT {built_with}, "
                                     f"this is {trt.__version__}: rebuild it (engine_cache)")

        cudart = self._cudart
        cuda_check(cudart.cudaSetDevice(device))
        self._trt_logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        self._engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self._engine is None:
            raise BackendUnavailable(f"TensorRT could not deserialize {engine_path} "
                                     "(other TensorRT version or GPU?)")
        names = {self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)}
        if names != {OBS_INPUT_NAME, ACTION_OUTPUT_NAME}:
            raise BackendUnavailable(f"engine tensors {sorted(names)}, contract needs "
                                     f"{OBS_INPUT_NAME!r} → {ACTION_OUTPUT_NAME!r}")
        if self._engine.get_tensor_mode(OBS_INPUT_NAME) != trt.TensorIOMode.INPUT:
            raise BackendUnavailable(f"engine tensor {OBS_INPUT_NAME!r} is not an input")
        self._context = self._engine.create_execution_context()
        obs_dim, act_dim = self.contract.obs_dim, len(self.contract.joint_names)
        self._context.set_input_shape(OBS_INPUT_NAME, (1, obs_dim))
        out_shape = tuple(self._context.get_tensor_shape(ACTION_OUTPUT_NAME))
        if out_shape != (1, act_dim):
            raise BackendUnavailable(f"engine output shape {out_shape}, contract needs "
                                     f"(1, {act_dim})")
        for tensor in (OBS_INPUT_NAME, ACTION_OUTPUT_NAME):
            if self._engine.get_tensor_dtype(tensor) != trt.DataType.FLOAT:
                raise BackendUnavailable(f"engine tensor {tensor!r} is not float32 "
                                         "(FP16 applies inside the network, I/O stays FP32)")

        self._host_obs = np.zeros((1, obs_dim), np.float32)
        self._host_act = np.zeros((1, act_dim), np.float32)
        self._d_obs = cuda_check(cudart.cudaMalloc(self._host_obs.nbytes))
        self._d_act = cuda_check(cudart.cudaMalloc(self._host_act.nbytes))
        self._stream = cuda_check(cudart.cudaStreamCreate())
        self._context.set_tensor_address(OBS_INPUT_NAME, int(self._d_obs))
        self._context.set_tensor_address(ACTION_OUTPUT_NAME, int(self._d_act))
        self._h2d = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._d2h = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost

    def infer(self, obs: np.ndarray) -> np.ndarray:
        """Run one observation (float32 [1, obs_dim]) and return actions [1, action_dim]."""
        if obs.shape != self._host_obs.shape:
            raise ValueError(f"TensorRT engine is built for batch 1: obs {obs.shape}, "
                             f"expected {self._host_obs.shape}")
        cudart = self._cudart
        np.copyto(self._host_obs, obs, casting="same_kind")
        cuda_check(cudart.cudaMemcpyAsync(self._d_obs, self._host_obs.ctypes.data,
                                          self._host_obs.nbytes, self._h2d, self._stream))
        if not self._context.execute_async_v3(int(self._stream)):
            raise RuntimeError("TensorRT execute_async_v3 failed")
        cuda_check(cudart.cudaMemcpyAsync(self._host_act.ctypes.data, self._d_act,
                                          self._host_act.nbytes, self._d2h, self._stream))
        cuda_check(cudart.cudaStreamSynchronize(self._stream))
        return self._host_act.copy()

    def close(self) -> None:
        """Free the device buffers and stream (idempotent)."""
        cudart = getattr(self, "_cudart", None)
        if cudart is None or getattr(self, "_stream", None) is None:
            return
        cudart.cudaStreamDestroy(self._stream)
        cudart.cudaFree(self._d_obs)
        cudart.cudaFree(self._d_act)
        self._stream = None
        self._context = self._engine = None
