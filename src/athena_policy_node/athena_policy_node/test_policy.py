"""A test policy the repo makes itself: a freshly initialised MLP exported as ONNX.

It carries the real policy contract (athena_description.default_policy_contract), so the node,
its tests and the sim demo run without any trained model present. Its output is small: the
robot roughly holds the default pose. Built with onnx.helper + numpy (torch is not part of the
base install); training's exporter produces the same I/O layout from rsl-rl checkpoints.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from athena_description.model_metadata import embed_onnx_metadata
from athena_description.policy_contract import (
    ACTION_DIM,
    ACTION_OUTPUT_NAME,
    OBS_INPUT_NAME,
    PolicyContract,
    default_policy_contract,
    with_provenance,
)

HIDDEN = (512, 256, 128)


def make_test_policy(path: str | Path, seed: int = 0, hidden: tuple[int, ...] = HIDDEN,
                     output_gain: float = 0.01, contract: PolicyContract | None = None) -> Path:
    """Write a random obs_dim→512→256→128→23 ELU MLP with ``contract`` to ``path``.

    ``contract``: the one embedded (default: this workspace's policy contract).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    contract = contract or default_policy_contract()
    obs_dim = contract.obs_dim
    rng = np.random.default_rng(seed)
    dims = (obs_dim, *hidden, ACTION_DIM)
    nodes, inits = [], []
    x = OBS_INPUT_NAME
    for i, (n_in, n_out) in enumerate(zip(dims[:-1], dims[1:])):
        last = i == len(dims) - 2
        scale = output_gain if last else np.sqrt(2.0 / n_in)
        w = (rng.standard_normal((n_in, n_out)) * scale).astype(np.float32)
        b = np.zeros(n_out, dtype=np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(b, f"b{i}")]
        y = ACTION_OUTPUT_NAME if last else f"h{i}"
        nodes.append(helper.make_node("Gemm", [x, f"w{i}", f"b{i}"], [y if last else f"z{i}"]))
        if not last:
            nodes.append(helper.make_node("Elu", [f"z{i}"], [y], alpha=1.0))
        x = y
    graph = helper.make_graph(
        nodes, "athena_test_policy",
        [helper.make_tensor_value_info(OBS_INPUT_NAME, TensorProto.FLOAT, ["N", obs_dim])],
        [helper.make_tensor_value_info(ACTION_OUTPUT_NAME, TensorProto.FLOAT, ["N", ACTION_DIM])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="athena_policy_node.test_policy")
    model.ir_version = 9
    contract = with_provenance(contract, run_id=f"test-policy-seed{seed}", git_commit="none")
    embed_onnx_metadata(model, contract)
    onnx.checker.check_model(model)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(path)
    return path


def main(argv: list[str] | None = None) -> None:
    """``ros2 run athena_policy_node make_test_policy OUT.onnx``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(make_test_policy(args.out, args.seed))


if __name__ == "__main__":
    main()
