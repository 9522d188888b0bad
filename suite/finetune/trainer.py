"""Fine-tuning on the suite's one loop (suite.training.loop.fit): a task's model as the loop's adapter.

    train(task, model, data, profile, out, seed=0)        # -> out/checkpoint.pt

Each step:

    loss, logs = task.loss(model, batch)
    steppers["model"].step(loss)       # zero_grad, backward, average, per-tensor clip, Adam or SGD

The learning rate is the task's MultiStepLR stepped after each epoch (lr · gamma^(milestones passed)),
set at every step from the step's epoch (suite.training.schedules.OptimizerSpec). Augmentation is
drawn from (seed, epoch, index), so a resumed run is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from torch import Tensor, nn
from torch.utils.data import Dataset

from suite.finetune.task import Task
from suite.profiles import FinetuneProfile
from suite.training import checkpoint
from suite.training.loop import Budget, fit
from suite.training.optim import Stepper
from suite.training.process import Process

FORMAT = "suite-finetune"
VERSION = 2  # 2: the optimiser's state under "optimizers" {"model": ...}, as every checkpoint of the loop


def train(
    task: Task, model: nn.Module, data: Dataset, profile: FinetuneProfile, out: Path, **run: Any
) -> Path:
    """Fine-tune `model` (task.build_model's) on `data` in the folder `out`; returns the last checkpoint.

    run: the loop's seed (required), max_steps, resume and device (suite.training.loop.fit). A
    resumed run's checkpoint must come from the same task, config, profile, seed and number of
    processes.
    """
    config = task.config
    budget = Budget(config.batch_size, config.epochs, profile.workers, profile.checkpoint_every)
    # the profile's other fields (workers, checkpoint intervals) do not change what is computed
    identity = {"task": task.name, "config": dataclasses.asdict(config), "arch": profile.arch}
    return fit(
        TaskAdapter(task, model), data, budget, out, identity=identity, format=FORMAT, version=VERSION, **run
    )


class TaskAdapter:
    """A downstream task's model as the loop sees it."""

    def __init__(self, task: Task, model: nn.Module) -> None:
        self.task, self.name, self.model = task, task.name, model

    def place(self, process: Process) -> dict[str, Stepper]:
        self.model.to(process.device)
        self.device = process.device
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        self.stepper = Stepper(parameters, self.task.optimizer())
        return {"model": self.stepper}

    def forward(self, batch: dict[str, Tensor], progress: float) -> tuple[Tensor, dict[str, Tensor]]:
        batch = {key: value.to(self.device, non_blocking=True) for key, value in batch.items()}
        return self.task.loss(self.model, batch)

    def update(self, loss: Tensor) -> dict[str, Tensor]:
        self.stepper.step(loss)
        return {}


def load(path: Path) -> dict[str, Any]:
    """A fine-tuning checkpoint, on the CPU."""
    return checkpoint.load(path, FORMAT, VERSION)
