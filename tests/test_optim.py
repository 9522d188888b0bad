"""The steppers' optimisers and gradient clipping (suite/training/optim.py) against torch's per-tensor
loops, which the official codes run on the CPU. The model is a ResNet-18 trunk with a 51-wide head
(LiftedCL's lifting output), a size at which the fused SGD kernel can round unlike the loop (by an ulp of
the bias after a few steps at a constant rate): the fused SGD must match the loop bit for bit on the
trunk and to within float32 rounding on the head, the fused Adam to within float32 rounding everywhere,
and the per-tensor clipping bit for bit."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn

from suite.models.backbone import ResNetTrunk
from suite.training.optim import Stepper, clip_each
from suite.training.schedules import OptimizerSpec, OptimSpec

SPECS = {
    "sgd": OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="cosine"),
    "adam": OptimizerSpec(kind="adam", lr=1e-3),
    "sgd-task": OptimizerSpec(kind="sgd", lr=7e-3, momentum=0.9, weight_decay=5e-4),  # lip-parsing
    # RLE's per-tensor clip, at a norm this model's gradients fall on both sides of (0.01-3)
    "sgd-clip": OptimizerSpec(kind="sgd", lr=7e-3, momentum=0.9, clip_grad_norm=0.05),
}
STEPS = 8
MAX_NORM = 35.0  # RLE's


def gradient_holder(gradient: torch.Tensor) -> nn.Parameter:
    """A parameter whose .grad is `gradient` itself, for clip_grad_norm_ to scale in place."""
    holder = nn.Parameter(torch.empty_like(gradient))
    holder.grad = gradient
    return holder


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
    clipped = []  # per tensor and step, whether the reference clipped it
    for step in range(STEPS):
        x = torch.randn(4, 3, 64, 64, generator=images)
        lr = SPECS[kind].lr * (1 - step / (2 * STEPS))  # a rate that changes every step, as schedules set it
        for group in [*stepper.optimizer.param_groups, *optimizer.param_groups]:
            group["lr"] = lr
        optimizer.zero_grad()
        theirs(x).square().mean().backward()
        gradients = [parameter.grad.clone() for parameter in theirs.parameters()]
        clip = getattr(SPECS[kind], "clip_grad_norm", None)  # OptimSpec (pre-training) has none
        if clip is not None:  # RLE's clip_gradient: clip_grad_norm_ on each tensor on its own
            for parameter in theirs.parameters():
                clipped.append(bool(nn.utils.clip_grad_norm_(parameter, clip) > clip))
        optimizer.step()
        # the same gradients for ours (that of Σ p·g is g exactly), so that only the updates can differ:
        # Adam's rounding near ε would otherwise grow through the forward passes that follow
        stepper.step(sum((p * g).sum() for p, g in zip(ours.parameters(), gradients, strict=True)))
    moved = [not torch.equal(a, b) for a, b in zip(ours.parameters(), start, strict=True)]
    assert all(moved), "a parameter did not move"
    if clipped:
        assert any(clipped) and not all(clipped)  # both sides of the clip were taken
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        if kind != "adam" and not name.startswith("head."):
            assert torch.equal(a, b), name
        else:  # the fused Adam, and the fused SGD on the 51-wide head: the same update, rounded differently
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7, msg=name)


def test_clip_each_clips_every_tensor_as_clip_grad_norm_does_on_it_alone():
    torch.manual_seed(0)
    parameters = list(model().parameters())
    scales = 10 ** torch.empty(len(parameters)).uniform_(-3, 2)  # norms from ~0.001 to ~100 x max_norm
    for parameter, scale in zip(parameters, scales, strict=True):
        parameter.grad = torch.randn_like(parameter) * scale / parameter.numel() ** 0.5 * MAX_NORM
    parameters[0].grad = None  # a parameter without a gradient is left alone, as the loop leaves it
    expected = [None if p.grad is None else p.grad.clone() for p in parameters]
    for gradient in expected:
        if gradient is not None:
            nn.utils.clip_grad_norm_(gradient_holder(gradient), MAX_NORM)
    clip_each(parameters, MAX_NORM)
    for parameter, gradient in zip(parameters, expected, strict=True):
        if gradient is None:
            assert parameter.grad is None
        else:
            assert torch.equal(parameter.grad, gradient)
    clipped = sum(bool(scale > 1) for scale in scales[1:])  # norms above max_norm before clipping
    assert 10 < clipped < len(parameters) - 10  # both sides of max_norm were tried
