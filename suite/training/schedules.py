"""Optimiser settings and their learning-rate schedules: plain data and arithmetic, no torch.

OptimSpec is one SGD parameter group of a pre-training method, its learning rate annealed by a cosine
(per epoch, as the official codes do; or per step; or constant). OptimizerSpec is a downstream task's
optimiser: Adam or SGD with a MultiStepLR stepped after each epoch and an optional per-tensor gradient
clip (as RLE does). Both give the learning rate of any step from the step alone, so a run cut short
is a prefix of the full run and a resumed run continues the same curve.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from suite.errors import SuiteError

SCHEDULES = ("cosine", "cosine_per_step", "constant")
OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class OptimSpec:
    """SGD settings of one parameter group. schedule: 'cosine' decays to 0 over the run once per epoch,
    as the official codes do; 'cosine_per_step' every step; 'constant' never."""

    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise SuiteError(
                f"unknown learning-rate schedule {self.schedule!r}", fix=f"use one of {SCHEDULES}"
            )

    def lr_at(self, step: int, steps_per_epoch: int, epochs: int) -> float:
        """The learning rate of step `step` (0-based) of a run of `epochs` epochs."""
        if self.schedule == "constant":
            return self.lr
        if self.schedule == "cosine":
            progress = (step // steps_per_epoch) / epochs
        else:  # cosine_per_step
            progress = step / (steps_per_epoch * epochs)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


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

    def __post_init__(self) -> None:
        if self.kind not in OPTIMIZERS:
            raise SuiteError(f"unknown optimiser {self.kind!r}", fix=f"use one of {OPTIMIZERS}")

    def lr_at(self, step: int, steps_per_epoch: int, epochs: int) -> float:
        """The learning rate of step `step` (0-based): MultiStepLR at the step's epoch."""
        epoch = step // steps_per_epoch
        return self.lr * self.gamma ** bisect.bisect_right(sorted(self.milestones), epoch)
