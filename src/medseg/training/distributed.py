"""Distributed training on the standard engine: torchrun + ``torch.distributed`` + DistributedDataParallel.

``torchrun --nproc-per-node N -m medseg train ...`` (and multi-node with torchrun's rendezvous) starts N
processes with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``MASTER_ADDR``/``MASTER_PORT`` set;
:func:`init_from_env` joins them into one process group (NCCL on CUDA, gloo on the CPU). Each rank then
trains on its own patches (the sampler is seeded by rank), DDP averages the gradients, and rank 0
alone validates, writes checkpoints, logs and tracks; the run's control state (its length, the
validation period, a stop) is decided on rank 0 and broadcast after every epoch, so every rank runs
the same number of steps. Checkpoints hold the unwrapped network, so a run resumes with any number of
ranks (or none).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


def is_distributed() -> bool:
    """Whether this process is one rank of an initialised process group of more than one."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    """Number of ranks (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Whether this process writes files, logs and validates (rank 0, or the only process)."""
    return rank() == 0


def local_rank() -> int:
    """The rank within this node (torchrun's ``LOCAL_RANK``)."""
    return int(os.environ.get("LOCAL_RANK", "0"))


def init_from_env() -> bool:
    """Join the process group torchrun describes in the environment; False when not under torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local_rank())
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


SHUTDOWN_WAIT_S = 120.0


def shutdown(wait_s: float = SHUTDOWN_WAIT_S) -> None:
    """Leave the process group (at the end of the command), once every rank has got there.

    Without the final barrier a rank that finishes first (rank 1, while rank 0 still writes its
    checkpoint) tears down its gloo pairs under the other's feet, and gloo can abort that process
    ("terminate called without an active exception", seen once in CI). On gloo the barrier is
    ``monitored_barrier`` with a timeout, so a rank that died cannot hang the others here: after
    ``wait_s`` they leave anyway and torchrun reports the failed rank. Drop DDP-wrapped networks
    first: a wrapper destroyed after its group (a local that outlives this call) made gloo abort the
    process in 2 of 10 runs on a loaded 2-core CPU, 0 of 12 once it was deleted first.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if dist.get_world_size() > 1:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=timedelta(seconds=wait_s), wait_all_ranks=True)
            else:
                dist.barrier()
    except RuntimeError:  # a rank is gone (DistBackendError is a RuntimeError): leave all the same
        pass
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    if is_distributed():
        dist.barrier()


def broadcast(obj: Any, source: int = 0) -> Any:
    """Rank ``source``'s ``obj`` on every rank (any picklable value from our own process; no-op alone)."""
    if not is_distributed():
        return obj
    box = [obj if rank() == source else None]
    dist.broadcast_object_list(box, src=source)
    return box[0]


SYNC_BATCH_NORM_DEVICES = ("cuda", "xpu", "hpu")  # where torch's SyncBatchNorm runs


def sync_batch_norms(network: nn.Module, device: torch.device) -> nn.Module:
    """``network`` with its batch norms made SyncBatchNorm on a GPU; unchanged on the CPU.

    torch's SyncBatchNorm has no CPU implementation: DDP refuses to wrap it there ("SyncBatchNorm
    layers only work with GPU modules") and its forward raises in training mode. So on the CPU
    (gloo) the batch norms stay per rank: each normalises with its own batch's statistics, DDP
    broadcasts rank 0's buffers (the running statistics) at each forward, and rank 0's are saved.
    """
    has_batch_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in network.modules())
    if has_batch_norm and device.type in SYNC_BATCH_NORM_DEVICES:
        return nn.SyncBatchNorm.convert_sync_batchnorm(network)
    return network


def wrap(network: nn.Module, device: torch.device) -> nn.Module:
    """DistributedDataParallel around ``network`` (batch norms made SyncBatchNorm on a GPU: see
    :func:`sync_batch_norms`); unchanged alone."""
    if not is_distributed():
        return network
    network = sync_batch_norms(network, device)
    ids = [device.index if device.index is not None else local_rank()] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(network, device_ids=ids)


def unwrap(network: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (itself otherwise)."""
    inner = getattr(network, "module", None)
    return (
        inner if isinstance(network, nn.parallel.DistributedDataParallel) and inner is not None else network
    )
