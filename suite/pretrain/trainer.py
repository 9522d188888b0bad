"""One trainer for every pre-training method, which resumes exactly where a run stopped.

    train(method, data, profile, out, seed=0)            # -> out/checkpoint.pt

One process per device (distributed.init_process); the global batch of the profile is split
evenly over them. There is no DDP wrapper: parameters and buffers are broadcast from rank 0 once,
and each optimiser's Stepper averages its gradients (distributed.average_gradients), so a method
with a second optimiser (LiftedCL's discriminator) trains the same way as one without. Each step
(method.py):

    output = method(batch, progress)               # under bf16 autocast on GPUs if the profile says so
    steppers["encoder"].step(output.loss)          # zero_grad, backward, average, SGD step
    method.extra_steps(output, steppers)

Learning rates (SCHEDULES, chosen by each group's OptimSpec.schedule): "cosine" decays per epoch,
lr·½(1 + cos(π·epoch/epochs)), as the official LiftedCL and MoCo codes do (pretraining-methods.md
§1.9, §2.3); "cosine_per_step" decays per step, lr·½(1 + cos(π·step/total_steps)); "constant".
The schedule always spans the profile's epochs: `max_steps` only stops early, so a run cut by it
is a prefix of the full run.

Exact resumption: a checkpoint (checkpoint.py) holds everything a step depends on: the method's
state (encoders, queues and pointers, discriminator, its step counters), every optimiser, the
position in the data (epoch and batches done; the sampler continues mid-epoch), and every rank's
RNG states (torch, CUDA, numpy, python), gathered to rank 0 and saved in the one file. The data
loader draws its worker seeds from its own generator, so the global RNG moves only with the
training itself. On the CPU, N steps straight and K steps + resume + N − K steps give bit-identical
weights, queues and optimiser states. The machinery shared with the fine-tuning trainer (the step
loop, RNG states, the run's identity) is in suite.training.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.utils.data import Dataset

from suite.errors import SuiteError
from suite.pretrain import checkpoint
from suite.pretrain.distributed import Process, average_gradients, init_process
from suite.pretrain.logging import RunLog
from suite.pretrain.method import Method, OptimSpec
from suite.profiles import PretrainProfile
from suite.training import checkpoint as checkpoint_file
from suite.training import loop, state

SCHEDULES = ("cosine", "cosine_per_step", "constant")
# Profile fields a resumed run may change: they do not change what is computed.
RESUMABLE_CHANGES = ("workers", "checkpoint_every")


def learning_rate(spec: OptimSpec, step: int, steps_per_epoch: int, epochs: int) -> float:
    """The learning rate of step `step` (0-based) of a run of `epochs` epochs."""
    if spec.schedule == "constant":
        return spec.lr
    if spec.schedule == "cosine":
        progress = (step // steps_per_epoch) / epochs
    elif spec.schedule == "cosine_per_step":
        progress = step / (steps_per_epoch * epochs)
    else:
        raise SuiteError(f"unknown learning-rate schedule {spec.schedule!r}", fix=f"use one of {SCHEDULES}")
    return spec.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


class SGDStepper:
    """The Stepper of one parameter group: SGD(lr, momentum, weight decay) of its OptimSpec."""

    def __init__(self, parameters: list[nn.Parameter], spec: OptimSpec) -> None:
        self.parameters = list(parameters)
        self.spec = spec
        self.optimizer = torch.optim.SGD(
            self.parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )

    def set_lr(self, lr: float) -> float:
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def step(self, loss: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.parameters)
        self.optimizer.step()


def train(
    method: Method,
    data: Dataset,
    profile: PretrainProfile,
    out: Path,
    *,
    seed: int,
    max_steps: int | None = None,
    resume: bool = False,
    device: str | None = None,
) -> Path:
    """Pre-train `method` on `data` in the folder `out`; returns the final checkpoint.

    resume: continue from out/checkpoint.pt, which must come from the same method, config,
    profile, seed and number of processes.
    """
    out = Path(out)
    process = init_process(device)
    per_process = loop.per_process_batch(profile.batch_size, process.world_size)
    steps_per_epoch = loop.steps_per_epoch(len(data), profile.batch_size)
    total = steps_per_epoch * profile.epochs
    stop = total if max_steps is None else min(max_steps, total)

    state.seed_everything(seed, process.rank)
    saved = _resume_state(out, method, profile, seed, process.world_size, steps_per_epoch) if resume else None
    if saved is None and checkpoint.latest(out) is not None:
        raise SuiteError(
            "the run folder already holds a checkpoint",
            out,
            fix="resume it, or delete the folder to start over",
        )
    method = _place(method, profile, process)
    steppers = _steppers(method, profile.optim)
    step = 0
    if saved is not None:
        method.load_state_dict(saved["model"])
        for name, stepper in steppers.items():
            stepper.optimizer.load_state_dict(saved["optimizers"][name])
        state.set_rng_state(saved["rng"][process.rank], process.device)
        step = saved["step"]
    state.broadcast(method)
    if process.is_main:
        out.mkdir(parents=True, exist_ok=True)
        checkpoint_file.remove_stale(out)

    sampler = _epoch_sampler(len(data), process.world_size, process.rank, seed)
    loader = loop.data_loader(data, sampler, per_process, process, seed, profile.workers, _collate(data))
    memory_format = (
        torch.channels_last if _on_cuda(profile.channels_last, process) else torch.contiguous_format
    )
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if _on_cuda(profile.bf16, process)
        else contextlib.nullcontext()
    )
    path = out / checkpoint.LATEST
    last_saved = step if saved is not None else None
    log = RunLog(out, enabled=process.is_main, total=stop, start=step, description=method.name)
    method.train()
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
            lrs = {
                f"lr/{name}": s.set_lr(learning_rate(s.spec, step, steps_per_epoch, profile.epochs))
                for name, s in steppers.items()
            }
            batch = batch.to(process.device, memory_format=memory_format)
            with autocast:
                output = method(batch, step / total)
            loop.stop_if_not_finite(output.loss, output.logs, step + 1, epoch, path, last_saved)
            steppers["encoder"].step(output.loss)
            extra = method.extra_steps(output, steppers)
            done = step + 1
            log.step(done, epoch, {**loop.floats(output.logs), **loop.floats(extra), **lrs})
            if done % profile.checkpoint_every == 0 or done == stop:
                _save(path, method, steppers, done, steps_per_epoch, total, seed, profile, process)
                last_saved = done
                log.flush()
        if last_saved != done:  # a run of no steps (max_steps=0): its initial state
            _save(path, method, steppers, done, steps_per_epoch, total, seed, profile, process)
    finally:
        log.close()
    if process.world_size > 1:
        dist.barrier()  # rank 0 has written the final checkpoint
    return path


# -- setup ---------------------------------------------------------------------------------------


def _on_cuda(wanted: bool, process: Process) -> bool:
    return wanted and process.device.type == "cuda"


def _place(method: Method, profile: PretrainProfile, process: Process) -> Method:
    """SyncBatchNorm if the method wants it, the device, the memory format."""
    if method.sync_bn and process.world_size > 1:
        if process.device.type == "cuda":
            method = nn.SyncBatchNorm.convert_sync_batchnorm(method)
        elif process.is_main:
            warnings.warn("SyncBatchNorm needs GPUs: BatchNorm stays per process on the CPU", stacklevel=3)
    method.to(process.device)
    if _on_cuda(profile.channels_last, process):
        method.to(memory_format=torch.channels_last)
    return method


def _steppers(method: Method, encoder: OptimSpec) -> dict[str, SGDStepper]:
    groups = method.optimizer_groups(encoder)
    for name, (_, spec) in groups.items():
        if spec.schedule not in SCHEDULES:
            raise SuiteError(
                f"group {name!r}: unknown schedule {spec.schedule!r}", fix=f"use one of {SCHEDULES}"
            )
    return {name: SGDStepper(parameters, spec) for name, (parameters, spec) in groups.items()}


def _epoch_sampler(length: int, world_size: int, rank: int, seed: int):
    """Each process's share of each epoch's order (a module attribute, so tests can replace it)."""
    from suite.data.pretrain_data import EpochSampler

    return EpochSampler(length, world_size, rank, seed, drop_last=True)


def _collate(data: Dataset):
    collate = getattr(data, "collate", None)
    if collate is None:
        from suite.data.pretrain_data import collate
    return collate


# -- resumption ----------------------------------------------------------------------------------


def _run_identity(method: Method, profile: PretrainProfile, seed: int, world_size: int, spe: int) -> dict:
    """What a checkpoint must share with the run that resumes it."""
    profile_fields = {k: v for k, v in dataclasses.asdict(profile).items() if k not in RESUMABLE_CHANGES}
    return {
        "method": method.name,
        "config": dataclasses.asdict(method.config),
        "profile": profile_fields,
        "seed": seed,
        "world_size": world_size,
        "steps_per_epoch": spe,
    }


def _resume_state(
    out: Path, method: Method, profile: PretrainProfile, seed: int, world_size: int, spe: int
) -> dict[str, Any]:
    path = checkpoint.latest(out)
    if path is None:
        raise SuiteError("no checkpoint to resume from", out / checkpoint.LATEST, fix="train without resume")
    saved = checkpoint.load(path)
    then = {**saved, "profile": {k: v for k, v in saved["profile"].items() if k not in RESUMABLE_CHANGES}}
    state.refuse_another_run(then, _run_identity(method, profile, seed, world_size, spe), path)
    return saved


def _save(
    path: Path,
    method: Method,
    steppers: dict[str, SGDStepper],
    step: int,
    steps_per_epoch: int,
    total: int,
    seed: int,
    profile: PretrainProfile,
    process: Process,
) -> None:
    rng = state.all_rng_states(process)
    if not process.is_main:
        return
    epoch, position = divmod(step, steps_per_epoch)
    checkpoint.save(
        {
            "format": checkpoint.FORMAT,
            "version": checkpoint.VERSION,
            **_run_identity(method, profile, seed, process.world_size, steps_per_epoch),
            "profile": dataclasses.asdict(profile),
            "step": step,
            "epoch": epoch,
            "position": position,
            "total_steps": total,
            "model": method.state_dict(),
            "optimizers": {name: s.optimizer.state_dict() for name, s in steppers.items()},
            "rng": rng,
            "backbone": {k: v.detach().cpu() for k, v in method.backbone().state_dict().items()},
        },
        path,
    )
