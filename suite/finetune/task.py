"""The contract between the fine-tuning trainer and a downstream task, and the registry of tasks.

A task is one file: a Task subclass registered by name, with a frozen Config dataclass whose defaults
are the official protocol's values (a profile only changes sizes and budgets). Its Config has at
least `batch_size` (global, split over processes), `epochs` and `init` (how a trunk without initial
weights is initialised, suite/models/backbone.py INITS). The trainer (trainer.py) calls

    model = task.build_model(trunk)                    # the task's head on a ResNetTrunk, as model.trunk
    data = task.train_set(seed)                        # items: dicts of tensors, augmentation drawn
                                                       # from (seed, epoch, index); set_epoch(epoch)
    loss, logs = task.loss(model, batch)               # every step, batch on the device
    spec = task.optimizer()                            # Adam or SGD, MultiStepLR per epoch, grad clip

and after training task.evaluate(model, ...) runs the official test protocol, returning the metrics
(`metrics`, in order, each better lower or higher as `lower_is_better` says) and the predictions.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from suite.models.backbone import ResNetTrunk

OPTIMIZERS = ("adam", "sgd")
REQUIRED_CONFIG = ("batch_size", "epochs", "init")


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimiser of a task: torch.optim.Adam or SGD over every parameter, a MultiStepLR stepped
    after each epoch (lr · gamma^(milestones passed)), and clip_grad_norm_ applied to each parameter
    tensor on its own (as RLE does) when clip_grad_norm is set."""

    kind: str  # "adam" or "sgd"
    lr: float
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0
    milestones: tuple[int, ...] = ()  # epochs (0-based) from which the lr is multiplied by gamma once more
    gamma: float = 0.1
    clip_grad_norm: float | None = None

    def lr_at(self, epoch: int) -> float:
        return self.lr * self.gamma ** bisect.bisect_right(sorted(self.milestones), epoch)


@dataclass
class Evaluation:
    """What a task's test protocol gives: metric name -> value, and arrays saved as predictions.npz."""

    metrics: dict[str, float]
    predictions: dict[str, np.ndarray] = field(default_factory=dict)


class Task:
    """Base of every downstream task (see the module docstring for the calling order)."""

    name: ClassVar[str]
    Config: ClassVar[type]
    datasets: ClassVar[tuple[str, ...]]  # suite.data.layouts.DATASETS keys it reads, primary first
    metrics: ClassVar[tuple[str, ...]]  # the metrics evaluate() returns first, in table order
    lower_is_better: ClassVar[dict[str, bool]]  # for each of `metrics`
    # Config fields an evaluation may set differently from the training run (e.g. the flip test).
    evaluation_settings: ClassVar[tuple[str, ...]] = ()
    # A reference a model must beat to have learned anything, if the task has one; evaluate() then also
    # returns it as `baseline/<metric>` (the tables show it in a footnote).
    baseline: ClassVar[str | None] = None

    def __init__(self, config, roots: Mapping[str, Path]) -> None:
        self.config = config
        self.roots = {name: Path(roots[name]) for name in self.datasets}

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


TASKS: dict[str, type[Task]] = {}


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: make a task available by its name (table specs, `finetune --task NAME`)."""
    if cls.name in TASKS:
        other = TASKS[cls.name].__module__
        raise ValueError(f"a task named {cls.name!r} is already registered by {other}")
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    missing = [name for name in REQUIRED_CONFIG if name not in fields]
    if missing or set(cls.lower_is_better) != set(cls.metrics):
        raise ValueError(
            f"task {cls.name!r}: its Config lacks {missing} or lower_is_better does not name each metric"
        )
    TASKS[cls.name] = cls
    return cls
