"""Self-check: load a model, check its contract against the robot, time the inference.

``ros2 run athena_policy_node self_check [MODEL] [--backend auto]`` — no ROS graph needed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from athena_description import ContractError, default_policy_contract, load_robot_contract
from athena_policy_node.inference import load_backend
from athena_policy_node.observation import ObservationBuilder
from athena_policy_node.test_policy import make_test_policy


def self_check(model: Path, backend: str = "auto", n: int = 2000) -> dict:
    """Return a summary dict; raises ContractError if the model does not fit the robot."""
    robot = load_robot_contract()
    be = load_backend(model, backend)
    be.contract.check_against_robot(robot, expected=default_policy_contract())
    builder = ObservationBuilder(be.contract)
    rng = np.random.default_rng(0)
    times = []
    for _ in range(n):
        obs = builder.build(rng.normal(size=3), np.array([0, 0, 0, 1.0]), rng.normal(size=3),
                            rng.uniform(0, 10), robot.default_positions + rng.normal(0, 0.1, 23),
                            rng.normal(size=23), rng.normal(size=23))
        t0 = time.perf_counter()
        act = be.infer(obs[None, :])
        times.append(time.perf_counter() - t0)
        if act.shape != (1, robot.num_joints) or not np.isfinite(act).all():
            raise RuntimeError(f"bad policy output {act.shape}")
    t = np.array(times[100:]) * 1e6
    return {"model": str(model), "backend": be.name, "run_id": be.contract.run_id,
            "obs_dim": builder.dim, "inference_p50_us": float(np.percentile(t, 50)),
            "inference_p99_us": float(np.percentile(t, 99))}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path,
                        help="ONNX/engine file (default: a freshly generated test policy)")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args(argv)
    model = args.model or make_test_policy(Path(tempfile.mkdtemp()) / "test_policy.onnx")
    try:
        summary = self_check(model, args.backend)
    except ContractError as exc:
        print(f"self-check FAILED: {exc}", file=sys.stderr)
        return 2
    for k, v in summary.items():
        print(f"{k:>18}: {v:.1f}" if isinstance(v, float) else f"{k:>18}: {v}")
    print("self-check OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
