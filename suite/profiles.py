"""Profiles: the scale at which everything runs. `paper` is the paper's setting; `demo` runs on CPU.

A profile changes sizes and budgets, never the code path: the same trainer, methods and
protocols run at 256 px on ResNet-50 across GPUs and at 64 px on ResNet-18 on two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from suite.errors import SuiteError
from suite.pretrain.method import OptimSpec


@dataclass(frozen=True)
class PretrainProfile:
    arch: str  # torchvision ResNet: resnet50 (paper) or resnet18 (demo)
    image_size: int  # side of each square view (appendix C: 256)
    batch_size: int  # global batch, split over processes (paper: 128 on 4 GPUs)
    epochs: int  # paper: 200
    optim: OptimSpec  # SGD lr 0.03, momentum 0.9, weight decay 1e-4, cosine decay
    workers: int  # data-loading processes per training process
    checkpoint_every: int  # steps between checkpoints (one is always written at the end)
    bf16: bool = False  # bfloat16 autocast on GPUs
    channels_last: bool = False
    # Method hyper-parameters that the profile scales, e.g. queue sizes; "*" applies to every method.
    method_overrides: dict[str, dict] = field(default_factory=dict)

    def overrides_for(self, method: str) -> dict:
        return {**self.method_overrides.get("*", {}), **self.method_overrides.get(method, {})}


PAPER = PretrainProfile(
    arch="resnet50",
    image_size=256,
    batch_size=128,
    epochs=200,
    optim=OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    workers=8,
    checkpoint_every=1000,
    bf16=True,
    channels_last=True,
)
# The same recipe at CPU scale: only sizes and budgets change.
DEMO = replace(
    PAPER,
    arch="resnet18",
    image_size=64,
    batch_size=16,
    epochs=2,
    workers=0,
    checkpoint_every=20,
    bf16=False,
    channels_last=False,
    # queues must hold at least one global batch; the demo's data has a few hundred images
    method_overrides={"*": {"queue_size": 256}},
)
PRETRAIN_PROFILES = {"paper": PAPER, "demo": DEMO}


def pretrain_profile(name: str) -> PretrainProfile:
    if name not in PRETRAIN_PROFILES:
        raise SuiteError(f"unknown profile {name!r}", fix=f"use one of {', '.join(PRETRAIN_PROFILES)}")
    return PRETRAIN_PROFILES[name]
