"""torch.distributed from the job's environment, and the collectives the methods need.

One process per device. Rank and world size come from torchrun's variables (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or, inside a submitit job, from submitit's job environment;
with neither, training runs as a single process without a process group. NCCL on GPUs, gloo on CPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

from suite.training.split_bn import bn_splits

T = TypeVar("T", Tensor, tuple[Tensor, ...])


@dataclass(frozen=True)
class Process:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _in_submitit_job() -> bool:
    return "SUBMITIT_EXECUTOR" in os.environ and "SLURM_JOB_ID" in os.environ


def init_process(device: str | None = None) -> Process:
    """Join the job's process group (if it has more than one process) and pick this process's device."""
    if "RANK" not in os.environ and _in_submitit_job():
        from submitit.helpers import TorchDistributedEnvironment

        TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    rank = int(os.environ.get("RANK", 0))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    chosen = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(chosen)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo", init_method="env://")
    return Process(rank, world_size, local_rank, chosen)


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


@torch.no_grad()
def concat_all_gather(tensor: Tensor) -> Tensor:
    """Every process's tensor concatenated along dim 0, in rank order (no gradient, as MoCo's)."""
    if world_size() == 1:
        return tensor
    gathered = [torch.empty_like(tensor) for _ in range(world_size())]
    dist.all_gather(gathered, tensor.contiguous())
    return torch.cat(gathered)


@torch.no_grad()
def shuffled_forward(forward: Callable[[Tensor], T], x: Tensor) -> T:
    """MoCo's shuffle BN: encode a random permutation of the global batch, then undo it.

    Each process encodes a slice of the shuffled global batch, so BatchNorm statistics are never
    computed over a query and its own key; the outputs come back in the original order. With one
    process, its SplitBatchNorm2d groups (split_bn.py) stand for the GPUs: the batch is shuffled
    before them; without such groups this is forward(x).
    """
    if world_size() == 1 and bn_splits(forward) == 1:
        return forward(x)
    local = x.shape[0]
    gathered = concat_all_gather(x)
    permutation = torch.randperm(gathered.shape[0], device=x.device)
    if world_size() > 1:
        dist.broadcast(permutation, src=0)
    mine = permutation.view(world_size(), local)[rank()]
    outputs = forward(gathered[mine])
    restore = torch.argsort(permutation).view(world_size(), local)[rank()]
    if isinstance(outputs, Tensor):
        return concat_all_gather(outputs)[restore]
    return tuple(concat_all_gather(output)[restore] for output in outputs)  # type: ignore[return-value]


def average_gradients(parameters: list[torch.nn.Parameter]) -> None:
    """All-reduce the gradients of these parameters to their mean over processes (flattened buckets)."""
    if world_size() == 1:
        return
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()
