"""The one training loop of the suite: pre-training and fine-tuning both run `fit`.

    fit(adapter, data, budget, out, identity=..., format=..., version=..., seed=...)  # -> out/checkpoint.pt

A stage hands `fit` an Adapter (pretrain/trainer.py wraps a Method, finetune/trainer.py a Task's
model): its model, its steppers (built once the model is on its device), and its step. Each step:

    lrs = {name: stepper.set_lr(step, ...)}        # every stepper's schedule (schedules.py)
    loss, logs = adapter.forward(batch, progress)  # progress = step / total, in [0, 1)
    stop_if_not_finite(loss)                       # on every rank, before any weight changes
    logs |= adapter.update(loss)                   # the steppers: backward, average, clip, step

One process per device (process.init_process); the global batch is split evenly over them;
parameters and buffers are broadcast from rank 0 once and each stepper averages its gradients.
Each epoch's order comes from the sampler (EpochSampler: a permutation drawn from (seed, epoch)),
which can start part-way into an epoch; the data loader draws its worker seeds from its own
generator, so the global RNGs move only with the training itself. A checkpoint (checkpoint.py)
holds the run's identity, the model's and every stepper's state, the position in the data and
every rank's RNG states: on the CPU, N steps straight and K steps + resume + N - K steps give
bit-identical weights and optimiser states. The schedule always spans the budget's epochs:
`max_steps` only stops early, so a run cut by it is a prefix of the full run.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, default_collate

from suite.errors import SuiteError
from suite.io import remove_stale_temporaries
from suite.training import checkpoint, state
from suite.training.log import RunLog
from suite.training.optim import Stepper
from suite.training.process import Process, init_process
from suite.training.sampler import EpochSampler


@dataclass(frozen=True)
class Budget:
    """How much and how a run trains: the global batch, the epochs, loader and checkpoint cadence."""

    batch_size: int  # global, split over the processes
    epochs: int
    workers: int  # data-loading processes per training process (a SLURM job's CPUs decide there)
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)


# A SLURM job's CPUs per training process; each sample's augmentation is keyed by (seed, epoch, index),
# so the worker count changes the speed only, never what is computed.
CPUS_ENV = "SLURM_CPUS_PER_TASK"


def loader_workers(configured: int) -> int:
    """Data-loading processes per training process: in a SLURM job, its CPUs but the one the training
    process itself runs on; elsewhere the profile's number."""
    cpus = os.environ.get(CPUS_ENV)
    if cpus is None:
        return configured
    if not cpus.isdigit() or int(cpus) < 1:
        raise SuiteError(
            f"{CPUS_ENV}={cpus!r} is not a positive CPU count", fix=f"unset {CPUS_ENV} or fix it"
        )
    return int(cpus) - 1


class Adapter(Protocol):
    """What a stage gives the loop."""

    name: str  # shown on the progress bar
    model: nn.Module  # checkpointed as "model"; place() may replace it (SyncBatchNorm)

    def place(self, process: Process) -> dict[str, Stepper]:
        """Put the model on the process's device; its steppers by name (checkpointed as "optimizers")."""
        ...

    def forward(self, batch: Any, progress: float) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss of one batch (moved to the device here) and detached scalars to log."""
        ...

    def update(self, loss: Tensor) -> dict[str, Tensor]:
        """The optimiser steps of this loss; returns more scalars to log."""
        ...


def fit(
    adapter: Adapter,
    data: Dataset,
    budget: Budget,
    out: Path,
    *,
    identity: dict[str, Any],
    format: str,
    version: int,
    seed: int,
    max_steps: int | None = None,
    resume: bool = False,
    device: str | None = None,
    collate: Callable = default_collate,
    sampler: Callable[..., Any] = EpochSampler,
    exports: Callable[[], dict[str, Any]] = dict,
) -> Path:
    """Train in the folder `out`; returns its checkpoint.

    identity: what a checkpoint must share with the run that resumes it (the stage's name, settings
    and scale; the seed, the number of processes and the steps per epoch are added here).
    resume: continue from out/checkpoint.pt, which must be of this very run.
    exports: more content for each checkpoint (pre-training: the backbone under torchvision names).
    """
    out = Path(out)
    process = init_process(device)
    per_process = per_process_batch(budget.batch_size, process.world_size)
    spe = steps_per_epoch(len(data), budget.batch_size)
    total = spe * budget.epochs
    stop = total if max_steps is None else min(max_steps, total)
    identity = {**identity, "seed": seed, "world_size": process.world_size, "steps_per_epoch": spe}

    state.seed_everything(seed, process.rank)
    saved = checkpoint.resume_from(out, format, version, identity) if resume else None
    if saved is None and checkpoint.latest(out) is not None:
        raise SuiteError(
            "the run folder already holds a checkpoint",
            out,
            fix="resume it, or delete the folder to start over",
        )
    steppers = adapter.place(process)
    stateful = {"model": adapter.model, "optimizers": steppers}
    step = 0
    if saved is not None:
        checkpoint.restore(stateful, saved)
        state.set_rng_state(saved["rng"][process.rank], process.device)
        step = saved["step"]
    state.broadcast(adapter.model)
    if process.is_main:
        out.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(out, checkpoint.LATEST)  # a save killed half-way

    order = sampler(len(data), process.world_size, process.rank, seed, drop_last=True)
    loader = data_loader(data, order, per_process, process, seed, loader_workers(budget.workers), collate)
    path = out / checkpoint.LATEST

    def save(done: int) -> None:
        rng = state.all_rng_states(process)  # a collective: every rank takes part
        if process.is_main:
            epoch, position = divmod(done, spe)
            content = {"format": format, "version": version, **identity}
            content |= {"step": done, "epoch": epoch, "position": position, "total_steps": total}
            checkpoint.save({**content, **checkpoint.state_of(stateful), "rng": rng, **exports()}, path)

    last_saved = step if saved is not None else None
    log = RunLog(out, enabled=process.is_main, total=stop, start=step, description=adapter.name)
    adapter.model.train()
    done = step
    try:
        for step, epoch, batch in batches(
            loader, order, data, start=done, stop=stop, steps_per_epoch=spe, per_process=per_process
        ):
            lrs = {f"lr/{name}": s.set_lr(step, spe, budget.epochs) for name, s in steppers.items()}
            loss, logs = adapter.forward(batch, step / total)
            stop_if_not_finite(loss, logs, step + 1, epoch, path, last_saved)
            logs = {**logs, **adapter.update(loss)}
            done = step + 1
            log.step(done, epoch, {**floats(logs), **lrs})
            if done % budget.checkpoint_every == 0 or done == stop:
                save(done)
                last_saved = done
                log.flush()
        if last_saved != done:  # a run of no steps (max_steps=0): its initial state
            save(done)
    finally:
        log.close()
    if process.world_size > 1:
        dist.barrier()  # rank 0 has written the final checkpoint
    return path


def native_bf16(device: torch.device) -> bool:
    """Whether the device computes in bfloat16 natively: a GPU, or a CPU with AVX512-BF16 or AMX. Other
    CPUs emulate it, more slowly than float32."""
    if device.type == "cuda":
        return True
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return device.type == "cpu" and any(getattr(torch.cpu, check, lambda: False)() for check in checks)


def autocast(enabled: bool, device: torch.device) -> contextlib.AbstractContextManager:
    """bfloat16 autocast when asked for and the device computes in it natively; nothing otherwise."""
    if enabled and native_bf16(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
