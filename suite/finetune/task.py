"""The contract between the fine-tuning trainer and a downstream task, and `register_task`, the plugins'
way in.

A task is one file: a Task subclass with a frozen Config dataclass whose defaults are the official
protocol's values, listed by name in the catalogue (suite/finetune/catalog.py: the suite's own by a
torch-free settings module, a plugin's by `@register_task`). The catalogue entry also holds the
datasets it reads, the metrics it writes and its settings per profile (sizes and budgets only). Its
Config has at least `batch_size` (global, split over processes), `epochs` and `init` (how a trunk
without initial weights is initialised, suite/models/backbone.py INITS). The trainer (trainer.py) calls

    model = task.build_model(trunk)                    # the task's head on a ResNetTrunk, as model.trunk
    data = task.train_set(seed)                        # items: dicts of tensors, augmentation drawn
                                                       # from (seed, epoch, index); set_epoch(epoch)
    loss, logs = task.loss(model, batch)               # every step, batch on the device
    spec = task.optimizer()                            # Adam or SGD, MultiStepLR per epoch, grad clip

and after training task.evaluate(model, ...) runs the official test protocol, returning the metrics
(the entry's `metrics`, in order, each better lower or higher as `lower_is_better` says) and the
predictions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from suite.finetune.catalog import TASKS, TaskEntry
from suite.registry import from_class
from suite.training.schedules import OptimizerSpec

if TYPE_CHECKING:
    from suite.models.backbone import ResNetTrunk


@dataclass
class Evaluation:
    """What a task's test protocol gives: metric name -> value, arrays saved as predictions.npz,
    files in the formats the official code writes (e.g. COCO's results json), which `python -m suite
    eval` reads back, and the per-sample values of the metrics (samples.npz)."""

    metrics: dict[str, float]
    predictions: dict[str, np.ndarray] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # file name in the run's folder -> content
    # per-sample values the metrics are functions of (suite.evaluate.samples), saved as samples.npz for
    # the report's paired bootstrap; empty for a task that keeps none
    samples: dict[str, np.ndarray] = field(default_factory=dict)


class Task:
    """Base of every downstream task (see the module docstring for the calling order)."""

    name: ClassVar[str]  # its catalogue name
    Config: ClassVar[type]  # its settings dataclass (the catalogue entry's `settings`)

    def __init__(self, config, roots: Mapping[str, Path]) -> None:
        self.config = config
        self.entry: TaskEntry = TASKS.get(self.name)  # datasets, metrics, evaluation settings, ...
        self.roots = {name: Path(roots[name]) for name in self.entry.datasets}

    def build_model(self, trunk: ResNetTrunk) -> nn.Module:
        """The task's model on this trunk, which it keeps as `.trunk`."""
        raise NotImplementedError

    def train_set(self, seed: int) -> Dataset:
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """The loss to minimise and detached scalars to log."""
        raise NotImplementedError

    def optimizer(self) -> OptimizerSpec:
        raise NotImplementedError

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        """The official test protocol on the model (in eval mode, without gradients)."""
        raise NotImplementedError


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available by its name (table specs, `finetune --task NAME`).

    Its catalogue entry (suite/finetune/catalog.py TaskEntry) comes from the class: `name`, `Config`,
    the first line of its docstring, `datasets`, `metrics` and `lower_is_better`, and if it has them
    `evaluation_settings`, `baseline`, `profiles` (profile name -> changes to its Config) and `hours`
    (profile name -> device-hours of a fine-tuning and of an evaluation). The suite's own tasks are
    listed by torch-free settings modules instead, so that reading the catalogue needs no torch.
    """
    missing = [name for name in ("datasets", "metrics", "lower_is_better") if not hasattr(cls, name)]
    if missing:
        raise ValueError(f"task {cls.name!r}: the class lacks {', '.join(missing)}")
    entry = from_class(
        TaskEntry,
        cls,
        datasets=tuple(cls.datasets),
        metrics=tuple(cls.metrics),
        lower_is_better=dict(cls.lower_is_better),
        evaluation_settings=tuple(getattr(cls, "evaluation_settings", ())),
        baseline=getattr(cls, "baseline", None),
        hours=dict(getattr(cls, "hours", {})),
    )
    TASKS.add(entry, implementation=cls)
    return cls
