"""Shuffle BN's statistics in one process: BatchNorm over equal groups of the batch, as that many GPUs.

MoCo's shuffle BN (appendix C: "Shuffling BN is used") needs per-device BatchNorm: each GPU normalises
its own slice, and the keys' batch is shuffled across GPUs so that a query and its key never share
statistics. One process has one batch, so BN would see every query with its own key. As MoCo's authors'
one-GPU notebook does (SplitBatchNorm), a SplitBatchNorm2d normalises `splits` groups of the batch apart
in training (samples i, i + splits, i + 2·splits, ...: the view (N / splits, C · splits, H, W)), and
`process.shuffled_forward` shuffles the keys before their encoder, so one process computes what
`splits` GPUs would. Its running statistics are the groups' mean, its parameters and buffers those of a
BatchNorm2d (checkpoints and exported backbones are unchanged); in evaluation it is a BatchNorm2d.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional


class SplitBatchNorm2d(nn.BatchNorm2d):
    splits: int = 1

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.splits == 1:
            return super().forward(x)
        n, c, h, w = x.shape
        if n % self.splits:
            raise ValueError(f"a batch of {n} cannot be split into {self.splits} BatchNorm groups")
        self.num_batches_tracked.add_(1)
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        mean, var = self.running_mean.repeat(self.splits), self.running_var.repeat(self.splits)
        out = functional.batch_norm(
            x.reshape(n // self.splits, c * self.splits, h, w),
            mean,
            var,
            self.weight.repeat(self.splits),
            self.bias.repeat(self.splits),
            True,
            momentum,
            self.eps,
        )
        with torch.no_grad():
            self.running_mean.copy_(mean.view(self.splits, c).mean(dim=0))
            self.running_var.copy_(var.view(self.splits, c).mean(dim=0))
        return out.view(n, c, h, w)


def split_batch_norm(module: nn.Module, splits: int) -> nn.Module:
    """Every BatchNorm2d of `module` made a SplitBatchNorm2d of `splits` groups, in place (the same
    parameters and buffers)."""
    for child in module.modules():
        if type(child) is nn.BatchNorm2d or isinstance(child, SplitBatchNorm2d):
            child.__class__ = SplitBatchNorm2d
            child.splits = splits
    return module


def bn_splits(module: object) -> int:
    """The groups the SplitBatchNorm2d layers of `module` (or of a bound method's owner) use, 1 if none:
    the first one's, as split_batch_norm gives every layer of a model the same. Called on every key
    forward: a split model's first BN is a few modules in; an unsplit one is walked whole, 0.04-0.11 ms
    for MoCo-v2 to LiftedCL (144-189 modules), against steps of ~200 ms."""
    owner = module if isinstance(module, nn.Module) else getattr(module, "__self__", None)
    if not isinstance(owner, nn.Module):
        return 1
    return next((child.splits for child in owner.modules() if isinstance(child, SplitBatchNorm2d)), 1)
