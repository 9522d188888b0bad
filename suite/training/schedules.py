"""Optimiser settings and their learning-rate schedules: plain data and arithmetic, no torch.

OptimSpec is one SGD parameter group of a pre-training method, its learning rate annealed by a cosine
(per epoch, as the official codes do; or per step; or constant). OptimizerSpec is a downstream task's
optimiser: Adam or SGD with a MultiStepLR stepped after each epoch (or SCHP's SGDR, `Sgdr`) and an
optional per-tensor gradient clip (as RLE does). All give the learning rate of any step from the step
alone, so a run cut short is a prefix of the full run and a resumed run continues the same curve.
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
class Sgdr:
    """SCHP's SGDRScheduler (utils/warmup_scheduler.py), set at the start of each epoch e (0-based) from
    the base rate lr: a linear warm-up from eta_min over `warmup` epochs, a cosine from lr down to
    eta_min until `start_cyclical`, then cosine restarts every `cycle` epochs from `cyclical_lr` down to
    eta_min. SCHP's train.py: eta_min = lr / 100, warmup 10, start_cyclical = schp_start (100),
    cyclical_lr = lr / 2, cycle = cycle_epochs (10)."""

    eta_min: float
    warmup: int
    start_cyclical: int
    cyclical_lr: float
    cycle: int

    def lr_at_epoch(self, epoch: int, lr: float) -> float:
        if epoch < self.warmup:
            return self.eta_min + epoch * (lr - self.eta_min) / self.warmup
        if epoch < self.start_cyclical:
            progress = (epoch - self.warmup) / (self.start_cyclical - self.warmup)
            return self.eta_min + (lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
        progress = ((epoch - self.start_cyclical) % self.cycle) / self.cycle
        return self.eta_min + (self.cyclical_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2


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
    sgdr: Sgdr | None = None  # SCHP's schedule instead of the MultiStepLR

    def __post_init__(self) -> None:
        if self.kind not in OPTIMIZERS:
            raise SuiteError(f"unknown optimiser {self.kind!r}", fix=f"use one of {OPTIMIZERS}")

    def lr_at(self, step: int, steps_per_epoch: int, epochs: int) -> float:
        """The learning rate of step `step` (0-based): MultiStepLR (or SGDR) at the step's epoch."""
        epoch = step // steps_per_epoch
        if self.sgdr is not None:
            return self.sgdr.lr_at_epoch(epoch, self.lr)
        return self.lr * self.gamma ** bisect.bisect_right(sorted(self.milestones), epoch)
