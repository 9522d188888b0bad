"""The contract between the trainer and a pre-training method, and the registry of methods.

A method is one file: an nn.Module subclass registered by name, with a Config dataclass whose
defaults are the paper's values. The trainer calls, every step,

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

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from suite.models.backbone import ResNetTrunk


@dataclass
class ViewBatch:
    """Two augmented views of N images and where each came from.

    geometry rows are [top, left, height, width, flipped, image_height, image_width]: the crop box
    in original-image pixels (as RandomResizedCrop.get_params returns it), 1.0 if the view was
    flipped horizontally after cropping, and the size of the original image.
    """

    views: tuple[Tensor, Tensor]  # (N, 3, S, S) each, normalised
    geometry: tuple[Tensor, Tensor]  # (N, 7) each, float
    index: Tensor  # (N,) dataset index of each image

    def to(self, device: torch.device, memory_format=torch.contiguous_format) -> ViewBatch:
        views = tuple(v.to(device, non_blocking=True, memory_format=memory_format) for v in self.views)
        geometry = tuple(g.to(device, non_blocking=True) for g in self.geometry)
        return ViewBatch(views, geometry, self.index.to(device))  # type: ignore[arg-type]


GEOMETRY_FIELDS = ("top", "left", "height", "width", "flipped", "image_height", "image_width")


@dataclass
class StepOutput:
    """What one forward gives the trainer: the loss to minimise and scalars to log."""

    loss: Tensor
    logs: dict[str, Tensor] = field(default_factory=dict)  # each loss term, detached scalars
    extras: dict[str, Tensor] = field(default_factory=dict)  # tensors a method's extra_steps needs


@dataclass(frozen=True)
class OptimSpec:
    """SGD settings of one parameter group. schedule: 'cosine' decays to 0 over the run once per epoch,
    as the official codes do; 'cosine_per_step' every step; 'constant' never."""

    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 1e-4
    schedule: str = "cosine"


class Stepper(Protocol):
    """Backward, gradient averaging across processes, and one optimiser step for one group."""

    def step(self, loss: Tensor) -> None: ...


BackboneFactory = Callable[[], "ResNetTrunk"]  # a fresh trunk with its num_channels


class Method(nn.Module):
    """Base of every pre-training method (see the module docstring for the calling order)."""

    name: ClassVar[str]
    Config: ClassVar[type]
    shuffle_bn: ClassVar[bool] = False  # keys encoded with MoCo's shuffle BN when world size > 1
    sync_bn: ClassVar[bool] = False  # BatchNorm converted to SyncBatchNorm when world size > 1
    augmentation: ClassVar[str] = "mocov2"  # the two-view pipeline (suite.data.views.PIPELINES)

    def __init__(self, backbone: BackboneFactory, config) -> None:
        super().__init__()
        self.config = config

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        """One training step's losses; progress = step / total steps, in [0, 1)."""
        raise NotImplementedError

    def optimizer_groups(self, encoder: OptimSpec) -> dict[str, tuple[list[nn.Parameter], OptimSpec]]:
        """Parameter groups, each with its own optimiser; "encoder" is stepped by the trainer."""
        return {"encoder": ([p for p in self.parameters() if p.requires_grad], encoder)}

    def extra_steps(self, output: StepOutput, steppers: dict[str, Stepper]) -> dict[str, Tensor]:
        """Updates after the encoder step (LiftedCL's discriminator); returns scalars to log."""
        return {}

    def backbone(self) -> nn.Module:
        """The backbone being learned (the query / online encoder), exported as a torchvision ResNet."""
        raise NotImplementedError


METHODS: dict[str, type[Method]] = {}


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: make a method available by its name (`--method NAME`, table specs)."""
    if cls.name in METHODS:
        other = METHODS[cls.name].__module__
        raise ValueError(f"a method named {cls.name!r} is already registered by {other}")
    METHODS[cls.name] = cls
    return cls
