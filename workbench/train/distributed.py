"""Training across processes, nanoGPT-style: `torchrun --nproc-per-node N -m workbench train ...`.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK; without them everything here is a no-op for one process.
Gloo on CPU, NCCL on CUDA. Rank 0 alone writes files; every rank trains on its own shard of each epoch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler


@dataclass(frozen=True)
class Dist:
    """This process's place in the group (rank 0 of 1 when not launched by torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def master(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("RANK", -1)) != -1


def master_process() -> bool:
    """False in the torchrun workers other than rank 0: they print and write nothing."""
    return int(os.environ.get("RANK", 0)) == 0


def setup(device_name: str = "auto") -> Dist:
    """Join the process group torchrun set up (once per process); one process: Dist()."""
    if not launched_by_torchrun():
        return Dist()
    d = Dist(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    if not dist.is_initialized():
        cuda = torch.cuda.is_available() and device_name != "cpu"
        if cuda:
            torch.cuda.set_device(d.local_rank)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return d


def teardown() -> None:
    """Leave the process group at the end of the command (nanoGPT's destroy_process_group)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def device_for(d: Dist, device) -> torch.device:
    """Each rank on its own GPU (LOCAL_RANK); CPU ranks share the CPU."""
    device = torch.device(device)
    return torch.device("cuda", d.local_rank) if d.enabled and device.type == "cuda" else device


def sampler(n: int, d: Dist, seed: int) -> DistributedSampler:
    """The shuffled order of n training items, split into one disjoint shard per rank.

    drop_last keeps shards disjoint and equal (DDP steps in lock-step): up to world-1 items sit out an epoch,
    a different few each epoch. With one process it is a plain seeded shuffle.
    """
    return DistributedSampler(range(n), num_replicas=d.world, rank=d.rank, shuffle=True, seed=seed, drop_last=True)


def broadcast(obj, d: Dist):
    """Rank 0's value of a picklable object, on every rank (the run name, say)."""
    if not d.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj, d: Dist) -> list:
    """Every rank's value of a picklable object, in rank order, on every rank."""
    if not d.enabled:
        return [obj]
    parts = [None] * d.world
    dist.all_gather_object(parts, obj)
    return parts


def gather_arrays(a: np.ndarray, d: Dist) -> np.ndarray:
    """Concatenate every rank's array (rank order) on every rank: epoch metrics over the whole train split."""
    return a if not d.enabled else np.concatenate(gather(a, d))


def sync_buffers(model: torch.nn.Module, d: Dist) -> None:
    """Give every rank rank 0's BatchNorm statistics, so validation (and what rank 0 saves) agree everywhere."""
    if d.enabled:
        for b in model.buffers():
            dist.broadcast(b, src=0)


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()
