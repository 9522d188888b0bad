"""The pieces every MoCo-style method shares: the key queue, InfoNCE, the momentum update."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.training.process import concat_all_gather


class Queue(nn.Module):
    """A dictionary of `size` L2-normalised keys (MoCo's queue), filled first in, first out.

    Stored as (dim, size) like MoCo's buffer, started from random unit vectors. Keys are gathered
    from every process before they go in, so every process holds the same queue. A batch that
    runs past the end wraps to the start, so any batch size works.
    """

    def __init__(self, dim: int, size: int) -> None:
        super().__init__()
        self.register_buffer("keys", F.normalize(torch.randn(dim, size), dim=0))
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))

    @property
    def size(self) -> int:
        return self.keys.shape[1]

    @torch.no_grad()
    def push(self, keys: Tensor) -> None:
        """Enqueue (N, dim) keys of this process (all processes' keys go in, in rank order)."""
        keys = concat_all_gather(keys)
        if keys.shape[0] > self.size:
            raise ValueError(f"a batch of {keys.shape[0]} keys does not fit a queue of {self.size}")
        slots = (self.pointer + torch.arange(keys.shape[0], device=keys.device)) % self.size
        self.keys[:, slots] = keys.T.to(self.keys.dtype)
        self.pointer.copy_((self.pointer + keys.shape[0]) % self.size)


def info_nce(query: Tensor, positive: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """-log exp(q·k+/τ) / (exp(q·k+/τ) + Σ exp(q·k-/τ)), averaged over rows (paper eq. 2).

    query, positive: (M, D) unit vectors; negatives: (D, K) unit vectors shared by every row.
    The logits are computed in float32 even under bfloat16 autocast: with τ = 0.2 and tens of
    thousands of negatives, bfloat16's 8-bit mantissa would blur them.
    """
    query, positive, negatives = query.float(), positive.float(), negatives.float()
    positive_logit = (query * positive).sum(dim=1, keepdim=True)
    with torch.autocast(query.device.type, enabled=False):
        negative_logits = query @ negatives
    logits = torch.cat([positive_logit, negative_logits], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """θ_k ← m·θ_k + (1 − m)·θ_q for every parameter (buffers are the target's own, as in MoCo)."""
    for q, k in zip(online.parameters(), target.parameters(), strict=True):
        k.mul_(momentum).add_(q.detach(), alpha=1.0 - momentum)


def momentum_copy(online: nn.Module) -> nn.Module:
    """The key / target encoder: a frozen copy of the online one (parameters and buffers)."""
    import copy

    target = copy.deepcopy(online)
    for parameter in target.parameters():
        parameter.requires_grad_(False)
    return target
