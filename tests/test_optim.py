"""The steppers' optimisers (suite/training/optim.py) against torch's per-tensor loops, which the official
codes run on the CPU. The model is a ResNet-18 trunk with a 51-wide head (LiftedCL's lifting output), a
size at which the fused SGD kernel can round unlike the loop (by an ulp of the bias after a few steps at
a constant rate): foreach Adam must match the loop bit for bit everywhere, the fused SGD bit for bit on
the trunk and to within float32 rounding on the head."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from suite.models.backbone import ResNetTrunk
from suite.training.optim import Stepper
from suite.training.schedules import OptimizerSpec, OptimSpec

SPECS = {
    "sgd": OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    "adam": OptimizerSpec(kind="adam", lr=1e-3),
    "sgd-task": OptimizerSpec(kind="sgd", lr=7e-3, momentum=0.9, weight_decay=5e-4),  # lip-parsing
}
STEPS = 8


def model() -> nn.Module:
    layers = {"trunk": ResNetTrunk("resnet18"), "pool": nn.AdaptiveAvgPool2d(1), "flat": nn.Flatten()}
    return nn.Sequential(OrderedDict(layers, head=nn.Linear(512, 51)))


def reference(parameters, spec):
    if isinstance(spec, OptimizerSpec) and spec.kind == "adam":
        return torch.optim.Adam(parameters, lr=spec.lr, weight_decay=spec.weight_decay, foreach=False)
    return torch.optim.SGD(
        parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay, foreach=False
    )


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_stepper_updates_as_the_per_tensor_loop(kind):
    torch.manual_seed(0)
    ours, theirs = model(), model()
    theirs.load_state_dict(ours.state_dict())
    start = [parameter.detach().clone() for parameter in ours.parameters()]
    stepper = Stepper(list(ours.parameters()), SPECS[kind])
    optimizer = reference(list(theirs.parameters()), SPECS[kind])
    images = torch.Generator().manual_seed(1)
    for step in range(STEPS):
        x = torch.randn(4, 3, 64, 64, generator=images)
        lr = SPECS[kind].lr * (1 - step / (2 * STEPS))  # a rate that changes every step, as schedules set it
        for group in [*stepper.optimizer.param_groups, *optimizer.param_groups]:
            group["lr"] = lr
        stepper.step(ours(x).square().mean())
        optimizer.zero_grad()
        theirs(x).square().mean().backward()
        optimizer.step()
    moved = [not torch.equal(a, b) for a, b in zip(ours.parameters(), start, strict=True)]
    assert all(moved), "a parameter did not move"
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        if kind == "adam" or not name.startswith("head."):
            assert torch.equal(a, b), name
        else:  # the fused SGD on the 51-wide head: the same update, rounded differently
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)
