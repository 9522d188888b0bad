"""Steppers: one optimiser over one parameter group, with its learning-rate schedule.

    stepper = Stepper(parameters, spec)            # spec: OptimSpec (SGD group) or OptimizerSpec
    stepper.set_lr(step, steps_per_epoch, epochs)  # the schedule's rate for this step
    stepper.step(loss)                             # zero_grad, backward, average, clip, step

There is no DDP wrapper: each stepper averages its own gradients across processes
(process.average_gradients), so a method with a second optimiser (LiftedCL's discriminator) trains
across processes the same way as one without, with the arithmetic of the official codes' DDP.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from suite.training.process import average_gradients
from suite.training.schedules import OptimizerSpec, OptimSpec


class Stepper:
    def __init__(self, parameters: list[nn.Parameter], spec: OptimSpec | OptimizerSpec) -> None:
        self.parameters = list(parameters)
        self.spec = spec
        self.optimizer = _optimizer(self.parameters, spec)
        self.clip = getattr(spec, "clip_grad_norm", None)

    def set_lr(self, step: int, steps_per_epoch: int, epochs: int) -> float:
        lr = self.spec.lr_at(step, steps_per_epoch, epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        return lr

    def step(self, loss: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        average_gradients(self.parameters)
        if self.clip is not None:
            clip_each(self.parameters, self.clip)
        self.optimizer.step()

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)


def clip_each(parameters: list[nn.Parameter], max_norm: float) -> None:
    """RLE's clip_gradient, clip_grad_norm_(parameter, max_norm) on each parameter tensor on its own, as
    one multi-tensor pass: each gradient scaled by min(max_norm / (‖g‖ + 1e-6), 1), bit for bit as the
    loop (tests/test_optim.py): a tensor's "total" norm there, the norm of its one norm, is that norm."""
    grads = [parameter.grad for parameter in parameters if parameter.grad is not None]
    if not grads:
        return
    norms = torch.stack(torch._foreach_norm(grads))
    coefficients = torch.clamp(max_norm / (norms + 1e-6), max=1.0)
    torch._foreach_mul_(grads, list(coefficients.unbind()))


def _optimizer(parameters: list[nn.Parameter], spec: OptimSpec | OptimizerSpec) -> torch.optim.Optimizer:
    """Adam and SGD as fused (one kernel per tensor for the whole update), faster on the CPU than the
    per-tensor loop the official codes run there, or the multi-tensor (foreach) one they run on GPUs.
    A ResNet-18 trunk's update (2026-12-08): Adam 49 ms as the loop, 26 as foreach, 7.8 fused on one
    thread (38, 24 and 7.5 on two; the demo's fine-tunings run on one, where the foreach Adam took ~15%
    of a step); SGD 11-22 ms as the loop or foreach, 3-4 fused on two. The fused kernels compute the
    same update in another order: the fused SGD gives the loop's parameters bit for bit on tensors whose
    size is a multiple of the CPU's vector width (16 floats here: every tensor of a ResNet trunk) and
    rounds by an ulp now and then on others (20 steps with weight decay and momentum: sizes 1-79 off by
    up to 1.2e-7 in about half the cases, 2026-12-07), such as a 51-wide head; the fused Adam rounds
    unlike the loop on most tensors, within float32's precision (tests/test_optim.py). Runs move by
    that within the spread between seeds, as they do between CPUs' kernels (README, "Resuming")."""
    if isinstance(spec, OptimizerSpec) and spec.kind == "adam":
        return torch.optim.Adam(parameters, lr=spec.lr, weight_decay=spec.weight_decay, fused=True)
    return torch.optim.SGD(
        parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay, fused=True
    )
