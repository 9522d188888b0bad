"""One trainer for every downstream task, which resumes exactly where a run stopped.

    train(task, model, data, profile, out, seed=0)        # -> out/checkpoint.pt

As the pre-training trainer (and with its machinery, suite.training): one process per device from
the job's environment (suite.pretrain.distributed.init_process), the task's global batch split evenly
over them, parameters and buffers broadcast from rank 0 once and gradients averaged across processes
(no DDP wrapper, the same arithmetic as the official codes' DDP). Each step:

    loss, logs = task.loss(model, batch)
    zero_grad; loss.backward(); average_gradients
    clip_grad_norm_(p, max_norm) for each parameter tensor p       # if the task's OptimizerSpec says so
    optimizer.step()                                                # Adam or SGD

The learning rate is the task's MultiStepLR stepped after each epoch (lr · gamma^(milestones passed)),
set at every step from the epoch, so a run cut by `max_steps` is a prefix of the full run.

Exact resumption: checkpoint.pt holds the model's state, the optimiser's, the position in the data
(epoch and batches done; the sampler continues mid-epoch) and every rank's RNG states; augmentation
is drawn from (seed, epoch, index). On the CPU, N steps straight and K steps + resume + N − K steps
give bit-identical weights and optimiser states.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, default_collate

from suite.data.pretrain_data import EpochSampler
from suite.errors import SuiteError
from suite.finetune.task import OPTIMIZERS, OptimizerSpec, Task
from suite.pretrain.distributed import Process, average_gradients, init_process
from suite.pretrain.logging import RunLog
from suite.profiles import FinetuneProfile
from suite.training import checkpoint, loop, state

FORMAT = "suite-finetune"
VERSION = 1


def train(
    task: Task,
    model: nn.Module,
    data: Dataset,
    profile: FinetuneProfile,
    out: Path,
    *,
    seed: int,
    max_steps: int | None = None,
    resume: bool = False,
    device: str | None = None,
) -> Path:
    """Fine-tune `model` (task.build_model's) on `data` in the folder `out`; returns the last checkpoint.

    resume: continue from out/checkpoint.pt, which must come from the same task, config, profile,
    seed and number of processes.
    """
    out = Path(out)
    process = init_process(device)
    batch_size, epochs = task.config.batch_size, task.config.epochs
    per_process = loop.per_process_batch(batch_size, process.world_size)
    steps_per_epoch = loop.steps_per_epoch(len(data), batch_size)
    total = steps_per_epoch * epochs
    stop = total if max_steps is None else min(max_steps, total)

    state.seed_everything(seed, process.rank)
    identity = _run_identity(task, profile, seed, process.world_size, steps_per_epoch)
    saved = _resume_state(out, identity) if resume else None
    if saved is None and checkpoint.latest(out) is not None:
        raise SuiteError(
            "the run folder already holds a checkpoint",
            out,
            fix="resume it, or delete the folder to start over",
        )
    model.to(process.device)
    spec = task.optimizer()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = _optimizer(parameters, spec)
    step = 0
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state.set_rng_state(saved["rng"][process.rank], process.device)
        step = saved["step"]
    state.broadcast(model)
    if process.is_main:
        out.mkdir(parents=True, exist_ok=True)
        checkpoint.remove_stale(out)

    sampler = EpochSampler(len(data), process.world_size, process.rank, seed, drop_last=True)
    loader = loop.data_loader(data, sampler, per_process, process, seed, profile.workers, default_collate)
    path = out / checkpoint.LATEST

    def save(done: int) -> None:
        rng = state.all_rng_states(process)
        if process.is_main:
            epoch, position = divmod(done, steps_per_epoch)
            content = {
                "format": FORMAT,
                "version": VERSION,
                **identity,
                "profile": dataclasses.asdict(profile),
                "step": done,
                "epoch": epoch,
                "position": position,
                "total_steps": total,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "rng": rng,
            }
            checkpoint.save(content, path)

    last_saved = step if saved is not None else None
    log = RunLog(out, enabled=process.is_main, total=stop, start=step, description=task.name)
    model.train()
    done = step
    try:
        batches = loop.batches(
            loader,
            sampler,
            data,
            start=done,
            stop=stop,
            steps_per_epoch=steps_per_epoch,
            per_process=per_process,
        )
        for step, epoch, batch in batches:
            lr = _set_lr(optimizer, spec.lr_at(epoch))
            loss, logs = task.loss(model, _to(batch, process))
            loop.stop_if_not_finite(loss, logs, step + 1, epoch, path, last_saved)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            average_gradients(parameters)
            if spec.clip_grad_norm is not None:
                for parameter in parameters:  # RLE's clip_gradient: each tensor on its own
                    nn.utils.clip_grad_norm_(parameter, spec.clip_grad_norm)
            optimizer.step()
            done = step + 1
            log.step(done, epoch, {**loop.floats(logs), "lr": lr})
            if done % profile.checkpoint_every == 0 or done == stop:
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


def load(path: Path) -> dict[str, Any]:
    """A fine-tuning checkpoint, on the CPU."""
    return checkpoint.load(path, FORMAT, VERSION)


def _optimizer(parameters: list[nn.Parameter], spec: OptimizerSpec) -> torch.optim.Optimizer:
    if spec.kind == "adam":
        return torch.optim.Adam(parameters, lr=spec.lr, weight_decay=spec.weight_decay)
    if spec.kind == "sgd":
        return torch.optim.SGD(parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay)
    raise SuiteError(f"unknown optimiser {spec.kind!r}", fix=f"use one of {OPTIMIZERS}")


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> float:
    for group in optimizer.param_groups:
        group["lr"] = lr
    return lr


def _to(batch: dict[str, torch.Tensor], process: Process) -> dict[str, torch.Tensor]:
    return {key: value.to(process.device, non_blocking=True) for key, value in batch.items()}


def _run_identity(task: Task, profile: FinetuneProfile, seed: int, world_size: int, spe: int) -> dict:
    """What a checkpoint must share with the run that resumes it (the profile's other fields, workers
    and checkpoint intervals, do not change what is computed; its task overrides are in the config)."""
    return {
        "task": task.name,
        "config": dataclasses.asdict(task.config),
        "arch": profile.arch,
        "seed": seed,
        "world_size": world_size,
        "steps_per_epoch": spe,
    }


def _resume_state(out: Path, identity: dict) -> dict[str, Any]:
    path = checkpoint.latest(out)
    if path is None:
        raise SuiteError("no checkpoint to resume from", out / checkpoint.LATEST, fix="train without resume")
    saved = load(path)
    state.refuse_another_run(saved, identity, path)
    return saved
