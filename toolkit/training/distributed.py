"""Training on several processes with the standard engine: torch.distributed under torchrun.

torchrun (or `gantk run --nproc N`, which launches it) starts one process per GPU or CPU
slot and describes the job in environment variables (RANK, WORLD_SIZE, LOCAL_RANK, …).
Each process joins one process group (gloo for CPU tensors, NCCL for CUDA tensors) and
trains a DistributedDataParallel replica on its own slice of every global batch; only
rank 0 writes files. Nothing here is home-made cluster code: rendezvous, restarts and
multi-node placement are torchrun's.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from gantk.errors import ConfigError
from gantk.training.device import resolve_device


@dataclass(frozen=True)
class World:
    """Where this process sits in the job; `World()` is a plain single process."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_from_env() -> World:
    """The job torchrun describes in this process's environment (one process if none)."""
    env = os.environ
    size = int(env.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    return World(rank=int(env["RANK"]), size=size, local_rank=int(env.get("LOCAL_RANK", "0")),
                 local_size=int(env.get("LOCAL_WORLD_SIZE", "1")))


def join() -> World:
    """Join the process group torchrun describes (idempotent; a no-op for one process).
    CPU tensors go through gloo, CUDA tensors through NCCL."""
    world = world_from_env()
    if world.distributed and not dist.is_initialized():
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        if torch.cuda.is_available():
            torch.cuda.set_device(world.local_rank % torch.cuda.device_count())
        dist.init_process_group(backend=backend)
    return world


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank_device(requested: str, world: World) -> torch.device:
    """This rank's device: with several processes on CUDA, GPU `LOCAL_RANK`."""
    device = resolve_device(requested)
    if world.distributed and device.type == "cuda":
        device = torch.device("cuda", world.local_rank % torch.cuda.device_count())
    return device


@contextmanager
def main_first(world: World) -> Iterator[None]:
    """Rank 0 runs the block first (e.g. converting the demo data once); the others wait,
    then run it too (finding the work done)."""
    if world.distributed and not world.is_main:
        dist.barrier()
    try:
        yield
    finally:
        if world.distributed and world.is_main:
            dist.barrier()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def from_main(value: Any, world: World) -> Any:
    """Rank 0's `value` on every rank (e.g. a run directory named after the clock)."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any, world: World) -> list[Any]:
    """Every rank's `value`, in rank order, on every rank."""
    if not world.distributed:
        return [value]
    out: list[Any] = [None] * world.size
    dist.all_gather_object(out, value)
    return out


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank when it is true on any (a stop request, say)."""
    if not world.distributed:
        return flag
    t = torch.tensor(int(flag), device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t)


def mean_over_ranks(values: dict[str, torch.Tensor], world: World) -> dict[str, torch.Tensor]:
    """Average scalar tensors across ranks in one collective."""
    if not world.distributed or not values:
        return values
    stacked = torch.stack([v.float() for v in values.values()])
    dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
    stacked /= world.size
    return dict(zip(values, stacked))


def min_over_ranks(value: torch.Tensor, world: World) -> torch.Tensor:
    if world.distributed:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
    return value


def replicate(module: nn.Module, device: torch.device, world: World,
              sync_batchnorm: bool) -> nn.Module:
    """The module to train through: `module` itself for one process, else a DDP replica
    sharing `module`'s parameters and buffers (so checkpoints and samples keep using
    `module`). BatchNorm statistics are per rank unless `sync_batchnorm` (CUDA only)."""
    if not world.distributed:
        return module
    if sync_batchnorm:
        if device.type != "cuda":
            raise ConfigError("sync_batchnorm needs CUDA (torch's SyncBatchNorm); on CPU "
                              "leave it off for per-rank BatchNorm statistics")
        # shares module's parameters and buffers; only the BatchNorm wrappers are new
        module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
    # Buffers are not broadcast each forward: per-rank BN statistics stay per rank (rank 0's
    # are checkpointed); parameters stay identical through the gradient all-reduce.
    return nn.parallel.DistributedDataParallel(
        module, device_ids=[device.index] if device.type == "cuda" else None,
        broadcast_buffers=False)


def no_sync(model: nn.Module) -> Any:
    """Skip DDP's gradient all-reduce for a backward whose gradients are thrown away."""
    inner = getattr(model, "_orig_mod", model)  # through torch.compile's wrapper
    if isinstance(inner, nn.parallel.DistributedDataParallel):
        return inner.no_sync()
    from contextlib import nullcontext

    return nullcontext()


def param_digest(*modules: nn.Module) -> str:
    """A hash of the parameters' bytes: equal on every rank when the replicas agree."""
    h = hashlib.sha256()
    for module in modules:
        for name, p in module.named_parameters():
            h.update(name.encode())
            h.update(p.detach().float().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()
