"""The contract between the trainer and a pre-training method, and `register`, the plugins' way in.

A method is one file: an nn.Module subclass with a Config dataclass whose defaults are the paper's
values, listed by name in the catalogue (suite/pretrain/catalog.py: the suite's own by a torch-free
settings module, a plugin's by `@register`). The trainer calls, every step,

    output = method(batch, progress)             # forward: momentum update, keys, losses
    steppers["encoder"].step(output.loss)        # backward, gradient averaging, SGD step
    method.extra_steps(output, steppers)         # e.g. LiftedCL's discriminator update

and checkpoints method.state_dict() (both encoders, queues and their pointers, discriminator)
together with every stepper's optimiser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol

from torch import Tensor, nn

from suite.data.views import ViewBatch
from suite.pretrain.catalog import METHODS, MethodEntry
from suite.registry import from_class
from suite.training.schedules import OptimSpec

if TYPE_CHECKING:
    from suite.models.backbone import ResNetTrunk


@dataclass
class StepOutput:
    """What one forward gives the trainer: the loss to minimise and scalars to log."""

    loss: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)  # each loss term, detached scalars
    extras: dict[str, Tensor] = field(default_factory=dict)  # tensors a method's extra_steps needs


class Stepper(Protocol):
    """Backward, gradient averaging across processes, and one optimiser step for one group."""

    def step(self, loss: Tensor) -> None: ...


BackboneFactory = Callable[[], "ResNetTrunk"]  # a fresh trunk with its num_channels


class Method(nn.Module):
    """Base of every pre-training method (see the module docstring for the calling order)."""

    name: ClassVar[str]  # its catalogue name
    Config: ClassVar[type]  # its settings dataclass (the catalogue entry's `settings`)
    sync_bn: ClassVar[bool] = False  # BatchNorm converted to SyncBatchNorm when world size > 1
    # the keys' encoder runs through process.shuffled_forward: per-device BatchNorm, which the profile's
    # bn_groups split further when there are fewer processes than groups (suite/training/split_bn.py)
    shuffle_bn: ClassVar[bool] = False
    augmentation: ClassVar[str] = "mocov2"  # the two-view pipeline (suite.data.views.PIPELINES)

    def __init__(self, backbone: BackboneFactory, config) -> None:
        super().__init__()
        self.config = config

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        """One training step's losses; progress = step / total steps, in [0, 1)."""
        raise NotImplementedError

    def optimizer_groups(self, encoder: OptimSpec) -> dict[str, tuple[list[nn.Parameter], OptimSpec]]:
        """Parameter groups, each with its own optimiser; "encoder" is stepped by the trainer.

        By default every trainable parameter: momentum copies are frozen (contrastive.momentum_copy)."""
        return {"encoder": ([p for p in self.parameters() if p.requires_grad], encoder)}

    def extra_steps(self, output: StepOutput, steppers: dict[str, Stepper]) -> dict[str, Tensor]:
        """Updates after the encoder step (LiftedCL's discriminator); returns scalars to log."""
        return {}

    def backbone(self) -> nn.Module:
        """The backbone being learned (the query / online encoder), exported as a torchvision ResNet."""
        raise NotImplementedError


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its name (`--method NAME`, table specs).

    Its catalogue entry comes from the class: `name`, `Config`, the first line of its docstring and,
    if the class has them, `cost` (step time relative to MoCo-v2's, for `plan`) and `profiles`
    (profile name -> changes to its settings). The suite's own methods are listed by torch-free
    settings modules instead (suite/pretrain/catalog.py), so that reading the catalogue needs no torch.
    """
    entry = from_class(MethodEntry, cls, cost=getattr(cls, "cost", 1.0))
    METHODS.add(entry, implementation=cls)
    return cls
