"""Multi-process training with torch.distributed: one process per GPU, rsl-rl's own engine.

rsl-rl's ``OnPolicyRunner`` already does data-parallel PPO when ``WORLD_SIZE`` > 1 (torchrun):
each rank collects its own ``num_envs`` environments, gradients and the observation normalizer
are all-reduced (averaged), the adaptive learning rate is computed on rank 0 and broadcast, and
only rank 0 writes TensorBoard logs and checkpoints. So the effective batch is
``world_size × num_envs × num_steps_per_env`` and the learning rate stays as configured, as
rsl-rl expects (no linear scaling).

This module adds what rsl-rl leaves to the launcher: the rank of this process, a device and a
seed per rank, the NVLink-multicast switches every process must carry, a CPU/gloo path (rsl-rl
hard-codes NCCL and CUDA; CI has neither), and a self-launch through torchrun so that
``ros2 run athena_train train --distributed`` works without typing torchrun.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# NVLink SHARP / multicast off in every process (this workplace's multi-GPU hosts need it; it
# costs nothing elsewhere). Set before torch.distributed or NCCL initialise.
MULTICAST_OFF = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1",
                 "NVSHMEM_DISABLE_NVLS": "1"}


@dataclass(frozen=True)
class Rank:
    """Where this process stands in the job (from torchrun's environment variables)."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, prints progress and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1


SINGLE = Rank()  # a plain, single-process run


def current_rank() -> Rank:
    """The rank of this process (a single process when torchrun did not start it)."""
    env = os.environ
    return Rank(int(env.get("RANK", 0)), int(env.get("LOCAL_RANK", 0)),
                int(env.get("WORLD_SIZE", 1)))


def rank_device(device: str, rank: Rank) -> str:
    """``cuda``/``cuda:N`` → this rank's GPU ``cuda:<local_rank>``; ``cpu`` stays ``cpu``."""
    if device.startswith("cuda") and rank.distributed:
        return f"cuda:{rank.local_rank}"
    return device


def rank_seed(seed: int, rank: Rank) -> int:
    """A different seed per rank, so that ranks do not collect identical experience."""
    return seed + rank.rank


def set_multicast_off() -> None:
    """Export :data:`MULTICAST_OFF` (an explicit value set by the user wins)."""
    for key, value in MULTICAST_OFF.items():
        os.environ.setdefault(key, value)


def launch(argv: list[str], nproc: int) -> int:
    """Re-run ``python -m athena_train.train argv`` as ``nproc`` processes under torchrun."""
    from torch.distributed.run import main as torchrun

    set_multicast_off()  # inherited by every worker
    torchrun(["--standalone", f"--nproc_per_node={nproc}", "-m", "athena_train.train", *argv])
    return 0


def default_nproc(device: str) -> int:
    """One process per visible GPU for CUDA; two processes on the CPU."""
    if device.startswith("cuda"):
        import torch

        return max(1, torch.cuda.device_count())
    return 2


def runner_class() -> type:
    """rsl-rl's OnPolicyRunner, able to run its distributed mode on CPUs (gloo) as well."""
    import torch
    from rsl_rl.runners import OnPolicyRunner

    class AthenaOnPolicyRunner(OnPolicyRunner):
        """``OnPolicyRunner`` whose multi-process set-up also accepts the CPU (gloo backend)."""

        def _configure_multi_gpu(self) -> None:
            rank = current_rank()
            if not (rank.distributed and str(self.device) == "cpu"):
                super()._configure_multi_gpu()  # one process, or rsl-rl's NCCL/CUDA path
                return
            # The same bookkeeping as rsl-rl's CUDA path, with gloo instead of NCCL.
            self.gpu_world_size, self.is_distributed = rank.world_size, True
            self.gpu_local_rank, self.gpu_global_rank = rank.local_rank, rank.rank
            self.cfg["multi_gpu"] = {"global_rank": rank.rank, "local_rank": rank.local_rank,
                                     "world_size": rank.world_size}
            torch.distributed.init_process_group(backend="gloo", rank=rank.rank,
                                                 world_size=rank.world_size)

    return AthenaOnPolicyRunner


def parameter_checksum(runner: object) -> float:
    """Sum of |θ| over the actor's parameters: equal on every rank when they are in sync."""
    policy = runner.alg.get_policy()
    return float(sum(p.detach().abs().sum().item() for p in policy.parameters()))
