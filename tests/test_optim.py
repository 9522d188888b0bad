"""The steppers' optimisers (suite/training/optim.py) against torch's per-tensor loops, which the official
codes run on the CPU: on a ResNet-18, foreach Adam and fused SGD give the same parameters bit for bit."""

from __future__ import annotations

import pytest
import torch

from suite.models.backbone import ResNetTrunk
from suite.training.optim import Stepper
from suite.training.schedules import OptimizerSpec, OptimSpec

SPECS = {
    "sgd": OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    "adam": OptimizerSpec(kind="adam", lr=1e-3),
    "sgd-task": OptimizerSpec(kind="sgd", lr=7e-3, momentum=0.9, weight_decay=5e-4),  # lip-parsing
}


def reference(parameters, spec):
    if isinstance(spec, OptimizerSpec) and spec.kind == "adam":
        return torch.optim.Adam(parameters, lr=spec.lr, weight_decay=spec.weight_decay, foreach=False)
    return torch.optim.SGD(
        parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay, foreach=False
    )


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_the_stepper_updates_a_resnet_bit_identically_to_the_per_tensor_loop(kind):
    torch.manual_seed(0)
    ours = ResNetTrunk("resnet18")
    theirs = ResNetTrunk("resnet18")
    theirs.load_state_dict(ours.state_dict())
    start = [parameter.detach().clone() for parameter in ours.parameters()]
    stepper = Stepper(list(ours.parameters()), SPECS[kind])
    optimizer = reference(list(theirs.parameters()), SPECS[kind])
    images = torch.Generator().manual_seed(1)
    for step in range(4):
        x = torch.randn(4, 3, 64, 64, generator=images)
        lr = SPECS[kind].lr * (1 - step / 8)  # a rate that changes every step, as the schedules set it
        for group in [*stepper.optimizer.param_groups, *optimizer.param_groups]:
            group["lr"] = lr
        stepper.step(ours(x).square().mean())
        optimizer.zero_grad()
        theirs(x).square().mean().backward()
        optimizer.step()
    moved = [not torch.equal(a, b) for a, b in zip(ours.parameters(), start, strict=True)]
    assert all(moved), "a parameter did not move"
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        assert torch.equal(a, b), name
