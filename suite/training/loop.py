"""The loop over training steps that every trainer shares: batches in a resumable order, NaN stops.

    for step, epoch, batch in batches(loader, sampler, data, start=..., stop=..., ...):
        ...                               # step is 0-based; a checkpoint after it records step + 1

The global batch is split evenly over the processes; each epoch's order comes from the sampler
(EpochSampler: a permutation drawn from (seed, epoch)), which can start part-way into an epoch, so a
resumed run sees exactly the batches the uninterrupted run would have seen. The data loader draws
its worker seeds from its own generator, so the global RNGs move only with the training itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from suite.errors import SuiteError
from suite.pretrain.distributed import Process


def per_process_batch(batch_size: int, world_size: int) -> int:
    if batch_size % world_size:
        raise SuiteError(
            f"the global batch of {batch_size} does not split evenly over {world_size} processes",
            fix="use a number of processes (GPUs) that divides the batch size",
        )
    return batch_size // world_size


def steps_per_epoch(length: int, batch_size: int) -> int:
    """Full global batches in an epoch (the sampler and the loader drop the rest); at least one."""
    steps = length // batch_size
    if steps == 0:
        raise SuiteError(
            f"the data set has {length} samples, fewer than one global batch of {batch_size}",
            fix="use a larger data set or a profile with a smaller batch",
        )
    return steps


def data_loader(
    data: Dataset,
    sampler: Any,
    per_process: int,
    process: Process,
    seed: int,
    workers: int,
    collate: Callable,
) -> DataLoader:
    return DataLoader(
        data,
        batch_size=per_process,
        sampler=sampler,
        collate_fn=collate,
        num_workers=workers,
        drop_last=True,
        pin_memory=process.device.type == "cuda",
        generator=torch.Generator().manual_seed(seed),  # worker seeds, not from the global RNG
    )


def batches(
    loader: DataLoader,
    sampler: Any,
    data: Dataset,
    *,
    start: int,
    stop: int,
    steps_per_epoch: int,
    per_process: int,
) -> Iterator[tuple[int, int, Any]]:
    """(step, epoch, batch) for steps start .. stop - 1, each epoch's sampler started where `step` is."""
    step = start
    while step < stop:
        epoch, position = divmod(step, steps_per_epoch)
        sampler.set_epoch(epoch, start=position * per_process)
        if hasattr(data, "set_epoch"):
            data.set_epoch(epoch)
        started = step
        for batch in loader:
            yield step, epoch, batch
            step += 1
            if step == stop or step % steps_per_epoch == 0:
                break
        if step == started:
            raise SuiteError(
                f"the data loader gave no batch in epoch {epoch} (from position {position})",
                fix="check the data set's length and the sampler",
            )


def floats(scalars: dict[str, Tensor]) -> dict[str, float]:
    return {name: float(value) for name, value in scalars.items()}


def stop_if_not_finite(
    loss: Tensor, logs: dict[str, Tensor], step: int, epoch: int, path: Path, last_saved: int | None
) -> None:
    """SuiteError on every rank if any rank's loss is NaN or infinite (before any weight changes)."""
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    if not bool(bad.item()):
        return
    terms = ", ".join(f"{name}={float(value):.6g}" for name, value in logs.items()) or f"loss={float(loss)}"
    where = "no checkpoint was written yet" if last_saved is None else f"{path} holds step {last_saved}"
    raise SuiteError(
        f"the loss is not finite at step {step} (epoch {epoch}): {terms}",
        fix=f"training stopped before the weights changed; {where}. Lower the learning rate or check "
        "the data, then resume or start over",
    )
