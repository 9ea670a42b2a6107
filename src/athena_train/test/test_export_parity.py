"""The export's parity check: relative to the size of the actions, NaN fails.

Real torch and real ONNX Runtime on a small linear graph; the "actor" side is the same
module with a known error added, so the tolerance itself is what is tested.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the training stack (requirements/train.txt)")
pytest.importorskip("onnxruntime")

from athena_train import export as exporter  # noqa: E402

OBS, ACT = 8, 3


class _Linear(torch.nn.Module):
    """actions = gain × (obs @ W), plus ``error`` (the disagreement under test)."""

    def __init__(self, gain: float, error: float = 0.0) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.linspace(-1, 1, OBS * ACT).reshape(OBS, ACT))
        self.gain, self.error = gain, error

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.gain * obs @ self.w + self.error


def _onnx(tmp_path, gain: float) -> str:
    path = tmp_path / "m.onnx"
    torch.onnx.export(_Linear(gain), (torch.zeros(1, OBS),), str(path), input_names=["obs"],
                      output_names=["actions"], dynamic_axes={"obs": {0: "n"}}, opset_version=17,
                      dynamo=False)
    return str(path)


def test_error_small_against_large_actions_passes(tmp_path) -> None:
    """5e-5 off on actions of ~100: 5e-7 relative, inside the 1e-5 tolerance."""
    rel = exporter.parity_check(_onnx(tmp_path, 100.0), _Linear(100.0, 5e-5), None,
                                obs_dim=OBS)
    assert 0 < rel < exporter.PARITY_ATOL


def test_same_error_on_small_actions_fails(tmp_path) -> None:
    """5e-5 off on actions within ±1 is 5e-5 absolute: refused."""
    with pytest.raises(exporter.ParityError, match="relative"):
        exporter.parity_check(_onnx(tmp_path, 0.01), _Linear(0.01, 5e-5), None, obs_dim=OBS)


def test_nan_fails(tmp_path) -> None:
    """A NaN output is never within tolerance, whatever the other batches gave."""
    recorded = np.zeros((4, OBS), dtype=np.float32)
    with pytest.raises(exporter.ParityError):
        exporter.parity_check(_onnx(tmp_path, 1.0), _Linear(1.0, float("nan")), recorded,
                              obs_dim=OBS)
