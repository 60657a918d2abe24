"""Distributed data parallel set-up: ``torchrun --nproc_per_node=N -m seqlab train ...``.

torchrun starts N copies of the program with ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` set. ``init_from_env`` joins the process group (gloo on CPU, nccl on CUDA); each
rank then reads its own shard of every epoch through a ``DistributedSampler``, ``fit`` wraps the
model in ``DistributedDataParallel`` (which averages gradients across ranks after ``backward``),
and only rank 0 logs, writes checkpoints and plots.

With equal local batches of size b on N ranks, the averaged gradient is the gradient of the mean
loss over the N * b examples: one DDP step equals one single-process step on the global batch.
"""

from __future__ import annotations

import logging
import os

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler

log = logging.getLogger(__name__)


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    """True on rank 0 (and in a single-process run): the process that logs and writes files."""
    return rank() == 0


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group described by torchrun's environment variables; False when not launched so.

    The backend is gloo for CPU training and nccl for CUDA.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        dist.init_process_group(backend=backend)
        log.info("rank %d of %d joined the %s process group", dist.get_rank(), dist.get_world_size(), backend)
    if device.startswith("cuda"):
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return True


def local_device(device: str) -> str:
    """Each rank's device: ``cuda`` becomes ``cuda:<LOCAL_RANK>``; ``cpu`` stays."""
    if device == "cuda" and is_distributed():
        return f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    return device


def shard_loader(dataset: Dataset, batch_size: int, *, shuffle: bool, seed: int, collate_fn=None,
                 drop_last: bool = False) -> DataLoader:
    """A DataLoader over this rank's shard of ``dataset`` (the whole of it in a single process).

    ``batch_size`` is per rank: the global batch is ``batch_size * world_size()``. ``fit`` calls
    ``set_epoch`` on the sampler so that every epoch has its own (seeded) order.
    """
    # a single process uses the same sampler with one replica: the order of epoch e is a function
    # of (seed, e) alone, so a resumed run can replay it
    sampler = DistributedSampler(dataset, num_replicas=world_size(), rank=rank(), shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, collate_fn=collate_fn, drop_last=drop_last)


def barrier() -> None:
    if is_distributed():
        dist.barrier()


__all__ = ["barrier", "init_from_env", "is_distributed", "is_main_process", "local_device", "rank", "shard_loader",
           "world_size"]
