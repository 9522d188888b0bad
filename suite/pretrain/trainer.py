"""Pre-training on the suite's one loop (suite.training.loop.fit): a Method as the loop's adapter.

    train(method, data, profile, out, seed=0)            # -> out/checkpoint.pt

Each step (method.py):

    output = method(batch, progress)               # under bf16 autocast on GPUs if the profile says so
    steppers["encoder"].step(output.loss)          # zero_grad, backward, average, SGD step
    method.extra_steps(output, steppers)           # e.g. LiftedCL's discriminator update

Every parameter group is an SGD stepper with its OptimSpec's schedule: "cosine" decays per epoch,
lr·½(1 + cos(π·epoch/epochs)), as the official LiftedCL and MoCo codes do (pretraining-methods.md
§1.9, §2.3); "cosine_per_step" decays per step; "constant". A method that asks for SyncBatchNorm
gets it on GPUs when there are several processes; one with shuffle BN gets the profile's BatchNorm
groups (bn_groups) by splitting each process's batch when there are fewer processes than groups.
The checkpoint (checkpoint.py) also holds the learned backbone under torchvision names, for export
and for the next stage.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from suite.checkpoints.formats import PRETRAIN_FORMAT, PRETRAIN_VERSION
from suite.data.views import ViewBatch
from suite.errors import SuiteError
from suite.pretrain.method import Method, StepOutput
from suite.profiles import PretrainProfile
from suite.training.loop import Budget, autocast, fit
from suite.training.optim import Stepper
from suite.training.process import Process
from suite.training.split_bn import split_batch_norm

# Profile fields a resumed run may change: they do not change what is computed.
RESUMABLE_CHANGES = ("workers", "checkpoint_every")


def train(method: Method, data: Dataset, profile: PretrainProfile, out: Path, **run: Any) -> Path:
    """Pre-train `method` on `data` in the folder `out`; returns the final checkpoint.

    run: the loop's seed (required), max_steps, resume and device (suite.training.loop.fit). A
    resumed run's checkpoint must come from the same method, config, profile, seed and number of
    processes.
    """
    adapter = MethodAdapter(method, profile)
    budget = Budget(profile.batch_size, profile.epochs, profile.workers, profile.checkpoint_every)
    return fit(
        adapter,
        data,
        budget,
        out,
        identity=run_identity(method, profile),
        format=PRETRAIN_FORMAT,
        version=PRETRAIN_VERSION,
        collate=_collate(data),
        sampler=_epoch_sampler,
        exports=adapter.exports,
        **run,
    )


class MethodAdapter:
    """A pre-training method as the loop sees it."""

    def __init__(self, method: Method, profile: PretrainProfile) -> None:
        self.name, self.model, self.profile = method.name, method, profile
        self.steppers: dict[str, Stepper] = {}
        self.output: StepOutput | None = None

    def place(self, process: Process) -> dict[str, Stepper]:
        """SyncBatchNorm or shuffle BN's groups as the method wants, the device, the memory format; a
        stepper per group."""
        splits = self.profile.bn_groups // process.world_size
        if self.model.shuffle_bn and splits > 1:
            local = self.profile.batch_size // process.world_size
            if local % splits:
                raise SuiteError(
                    f"the batch of {local} per process cannot be split into {splits} BatchNorm groups",
                    fix=f"use a batch size that is a multiple of {splits * process.world_size}",
                )
            split_batch_norm(self.model, splits)
        if self.model.sync_bn and process.world_size > 1:
            if process.device.type == "cuda":
                self.model = nn.SyncBatchNorm.convert_sync_batchnorm(self.model)
            elif process.is_main:
                warnings.warn(
                    "SyncBatchNorm needs GPUs: BatchNorm stays per process on the CPU", stacklevel=2
                )
        self.model.to(process.device)
        channels_last = self.profile.channels_last and process.device.type == "cuda"
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.device = process.device
        self.autocast = autocast(self.profile.bf16, process.device)
        groups = self.model.optimizer_groups(self.profile.optim)
        self.steppers = {name: Stepper(parameters, spec) for name, (parameters, spec) in groups.items()}
        return self.steppers

    def forward(self, batch: ViewBatch, progress: float) -> tuple[Tensor, dict[str, Tensor]]:
        batch = batch.to(self.device, memory_format=self.memory_format)
        with self.autocast:
            self.output = self.model(batch, progress)
        return self.output.loss, self.output.logs

    def update(self, loss: Tensor) -> dict[str, Tensor]:
        self.steppers["encoder"].step(loss)
        return self.model.extra_steps(self.output, self.steppers)

    def exports(self) -> dict[str, Any]:
        return {"backbone": {k: v.detach().cpu() for k, v in self.model.backbone().state_dict().items()}}


def run_identity(method: Method, profile: PretrainProfile) -> dict[str, Any]:
    """What a checkpoint must share with the run that resumes it (with the seed, the number of
    processes and the steps per epoch, which the loop adds)."""
    scale = {k: v for k, v in dataclasses.asdict(profile).items() if k not in RESUMABLE_CHANGES}
    return {"method": method.name, "config": dataclasses.asdict(method.config), "profile": scale}


def _epoch_sampler(length: int, world_size: int, rank: int, seed: int, drop_last: bool = True):
    """Each process's share of each epoch's order (a module attribute, so tests can replace it)."""
    from suite.training.sampler import EpochSampler

    return EpochSampler(length, world_size, rank, seed, drop_last=drop_last)


def _collate(data: Dataset):
    collate = getattr(data, "collate", None)
    if collate is None:
        from suite.data.pretrain_data import collate
    return collate
