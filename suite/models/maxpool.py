"""The ResNet stem's 3×3 max pooling (stride 2, padding 1), faster on the CPU, with the same numbers.

On the CPU, ATen's max_pool2d over a contiguous (NCHW) map scans each window element by element: a
32 × 64 × 32 × 32 map (ResNet-18's stem at 64 px, batch 32) takes ~8 ms on 2 threads, ~6% of a
MoCo-v2 step, which pools twice (queries and keys). Here, without gradients (the keys, the
evaluations), the maxima are 9 elementwise `maximum`s of strided views of the padded map (~2.5 ms);
with gradients, the channels-last kernel, which vectorises over channels, finds maxima and argmax
indices (~5 ms with both layout changes), and ATen's NCHW max_pool2d_with_indices_backward routes
the gradient. Both kernels keep a window's first maximum in row-major order, so values, indices and
gradients are bit-identical to nn.MaxPool2d(3, 2, 1) (tests/test_maxpool.py). Other devices and
memory formats (a channels-last GPU run) use max_pool2d as is.
"""

from __future__ import annotations

from functools import reduce
from itertools import product

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd import Function
from torch.autograd.function import once_differentiable

KERNEL, STRIDE, PADDING = 3, 2, 1


def pooled_values(x: Tensor) -> Tensor:
    """The window maxima as the largest of the KERNEL² strided views of the -inf-padded map."""
    padded = F.pad(x, (PADDING,) * 4, value=float("-inf"))
    rows, cols = ((size + 2 * PADDING - KERNEL) // STRIDE + 1 for size in x.shape[-2:])
    height, width = STRIDE * (rows - 1) + 1, STRIDE * (cols - 1) + 1  # the span of a view's rows, columns
    windows = (
        padded[..., i : i + height : STRIDE, j : j + width : STRIDE]
        for i, j in product(range(KERNEL), repeat=2)
    )
    return reduce(torch.maximum, windows)


class _PoolWithIndices(Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        channels_last = x.contiguous(memory_format=torch.channels_last)
        values, indices = F.max_pool2d(channels_last, KERNEL, STRIDE, PADDING, return_indices=True)
        ctx.save_for_backward(x, indices.contiguous())
        return values.contiguous()

    @staticmethod
    @once_differentiable  # a second derivative through it raises instead of coming out wrong
    def backward(ctx, grad: Tensor) -> Tensor:
        x, indices = ctx.saved_tensors
        return torch.ops.aten.max_pool2d_with_indices_backward(
            grad.contiguous(), x, [KERNEL] * 2, [STRIDE] * 2, [PADDING] * 2, [1, 1], False, indices
        )


class StemMaxPool(nn.MaxPool2d):
    """nn.MaxPool2d(3, 2, 1) (its repr and state), computed as above on contiguous CPU maps."""

    def __init__(self) -> None:
        super().__init__(kernel_size=KERNEL, stride=STRIDE, padding=PADDING)

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or x.dim() != 4 or not x.is_contiguous():
            return super().forward(x)
        if torch.is_grad_enabled() and x.requires_grad:
            return _PoolWithIndices.apply(x)
        return pooled_values(x)
