"""Distributed training on the CPU: 2 processes, gloo, the real env and rsl-rl's data-parallel PPO.

``python -m athena_train.train --distributed --device cpu`` launches itself under torchrun.
Checked: both ranks train with their own seed, only rank 0 writes checkpoints and logs, the
ranks' actor parameters are identical afterwards (gradients all-reduced), the multicast
switches are set in every process, and ``--resume`` continues the distributed run.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("isaaclab", reason="needs the training stack (requirements/train.txt)")


def _run(log_root: Path, iters: int, resume: bool) -> str:
    cmd = [sys.executable, "-m", "athena_train.train", "--distributed", "--nproc_per_node", "2",
           "--device", "cpu", "--num_envs", "2", "--max_iterations", str(iters),
           "--save_interval", "1", "--run_name", "ddp", "--log_root", str(log_root),
           "--seed", "5"]
    out = subprocess.run(cmd + (["--resume"] if resume else []), capture_output=True, text=True,
                         timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    return text


def _checksums(text: str) -> dict[int, str]:
    return {int(r): c for r, c in
            re.findall(r"rank (\d) actor parameter checksum (\S+)", text)}


def test_two_process_gloo_training_and_resume(tmp_path: Path) -> None:
    from athena_train.distributed import MULTICAST_OFF

    text = _run(tmp_path, 2, resume=False)
    run_dir = tmp_path / "athena_flat" / "ddp"
    # one process per rank, each with its own seed
    assert "rank 0/2" in text and "rank 1/2" in text, text[-3000:]
    assert "seed=5" in text and "seed=6" in text
    # gradients all-reduced: identical actors on both ranks
    sums = _checksums(text)
    assert set(sums) == {0, 1} and sums[0] == sums[1], sums
    # rank 0 alone writes: one set of checkpoints, one TensorBoard event file, one progress line
    assert sorted(p.name for p in run_dir.glob("model_*.pt")) == ["model_0.pt", "model_1.pt"]
    assert len(list(run_dir.glob("events.out.tfevents.*"))) == 1
    assert text.count("[train] it 1 ") == 1
    assert (run_dir / "params" / "agent.yaml").exists() and (run_dir / "git.txt").exists()

    text = _run(tmp_path, 3, resume=True)
    assert f"resumed from {run_dir / 'model_1.pt'}" in text
    assert (run_dir / "model_2.pt").exists()
    sums = _checksums(text)
    assert sums[0] == sums[1], sums
    # every worker process runs with NVLink multicast off
    switches = " ".join(f"{k}={v}" for k, v in MULTICAST_OFF.items())
    assert text.count(f"multicast off: {switches}") == 2, text[-3000:]


def test_multicast_switches_reach_the_workers(monkeypatch) -> None:
    from athena_train import distributed

    for key in distributed.MULTICAST_OFF:
        monkeypatch.delenv(key, raising=False)
    distributed.set_multicast_off()
    import os

    assert {k: os.environ[k] for k in distributed.MULTICAST_OFF} == distributed.MULTICAST_OFF


def test_rank_device_and_seed() -> None:
    from athena_train.distributed import Rank, rank_device, rank_seed

    r1 = Rank(rank=1, local_rank=1, world_size=2)
    assert rank_device("cuda:0", r1) == "cuda:1" and rank_device("cuda", r1) == "cuda:1"
    assert rank_device("cpu", r1) == "cpu"
    assert rank_device("cuda:0", Rank()) == "cuda:0"
    assert rank_seed(42, r1) == 43 and rank_seed(42, Rank()) == 42
