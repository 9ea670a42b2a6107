"""The training-side history (warp-managers path) lays frames out as the deployed node does.

``athena_train.obs_history.ContractHistory`` stacks the contract's frames outside the env;
``athena_policy_node.observation.ObservationBuilder`` builds the same observation on the
robot. Fed the same frames, with a reset in the middle, they must give the same vectors.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="needs the training stack (requirements/train.txt)")
pytest.importorskip("rsl_rl", reason="needs the training stack (requirements/train.txt)")

from athena_description.policy_contract import default_policy_contract  # noqa: E402
from athena_policy_node.observation import ObservationBuilder  # noqa: E402
from athena_train.obs_history import ContractHistory  # noqa: E402


def test_same_vector_as_the_nodes_builder() -> None:
    contract = default_policy_contract()
    assert max(t.history for t in contract.observation) > 1  # the layout is exercised
    builder, history = ObservationBuilder(contract), ContractHistory(contract, 1, "cpu")
    rng = np.random.default_rng(0)
    n = len(contract.default_positions)
    for step in range(9):
        if step == 5:  # an episode ends: both start again from the next frame
            builder.reset()
        args = dict(ang_vel=rng.normal(size=3), quat_xyzw=np.array([0.1, -0.2, 0.05, 0.97]),
                    cmd=rng.uniform(-0.5, 0.5, 3), phase_time=0.02 * step,
                    q=rng.normal(0, 0.3, n), qd=rng.normal(0, 2.0, n),
                    last_action=rng.normal(size=n))
        args["quat_xyzw"] /= np.linalg.norm(args["quat_xyzw"])
        want = builder.build(**args).copy()
        raw = builder.raw_terms(**args)
        frame = np.concatenate([np.clip(raw[t.name] * t.scale, -t.clip, t.clip)
                                for t in contract.observation])
        frame_t = torch.as_tensor(frame, dtype=torch.float32).unsqueeze(0)
        if step == 0:
            history.start(frame_t)
        else:
            history.push(frame_t, torch.tensor([step == 5]))
        np.testing.assert_allclose(history.value()[0].numpy(), want, atol=1e-6,
                                   err_msg=f"step {step}")


def test_refuses_a_frame_of_the_wrong_size() -> None:
    history = ContractHistory(default_policy_contract(), 2, "cpu")
    with pytest.raises(ValueError, match="a frame has"):
        history.start(torch.zeros(2, history.frame_size + 1))
