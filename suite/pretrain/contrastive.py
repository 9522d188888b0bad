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


MAX_LOGITS = 2**24  # negative logits held at once (64 MiB of float32): rows × K above it go in chunks


def info_nce(
    query: Tensor, positive: Tensor, negatives: Tensor, temperature: float, max_logits: int = MAX_LOGITS
) -> Tensor:
    """-log exp(q·k+/τ) / (exp(q·k+/τ) + Σ exp(q·k-/τ)), averaged over rows (paper eq. 2).

    query, positive: (M, D) unit vectors; negatives: (D, K) unit vectors shared by every row. With
    q' = q/τ, l+ = q'·k+ and l- = q'·k-, each row's loss is logsumexp([l+, l-]) − l+; the (M, K)
    negative logits are made max_logits at a time (whole rows) in the forward pass, and kept for the
    backward pass if they fit in one chunk, else made again there chunk by chunk: no (M, 1 + K)
    logits are ever concatenated, and no more than max_logits are kept (InfoNCE below).
    The logits are computed in float32 (or float64) even under bfloat16 autocast: with τ = 0.2 and
    tens of thousands of negatives, bfloat16's 8-bit mantissa would blur them.
    """
    dtype = torch.promote_types(query.dtype, torch.float32)
    rows = max(1, max_logits // max(1, negatives.shape[1]))
    with torch.autocast(query.device.type, enabled=False):
        return InfoNCE.apply(query.to(dtype), positive.to(dtype), negatives.to(dtype), temperature, rows)


class InfoNCE(torch.autograd.Function):
    """info_nce's mean over rows of lse − l+, and its gradient, `rows` rows of l- at a time.

    With s = lse, P+ = exp(l+ − s) and P- = exp(l- − s) (the softmax over [l+, l-]), for a mean of M
    rows:  ∂L/∂q = ((P+ − 1) k+ + P- k-ᵀ) / (M τ),  ∂L/∂k+ = (P+ − 1) q' / M,  ∂L/∂k- = q'ᵀ P- / M.
    """

    @staticmethod
    def forward(
        ctx, query: Tensor, positive: Tensor, negatives: Tensor, temperature: float, rows: int
    ) -> Tensor:
        scaled = query / temperature  # q'
        positive_logit = (scaled * positive).sum(dim=1)  # l+
        lse = []
        for q, l_pos in zip(scaled.split(rows), positive_logit.split(rows), strict=True):
            negative_logits = q @ negatives  # l-
            lse.append(torch.logaddexp(l_pos, torch.logsumexp(negative_logits, dim=1)))
        kept = negative_logits if len(scaled) <= rows else None  # one chunk: kept, not made again
        lse = torch.cat(lse)
        ctx.save_for_backward(scaled, positive, negatives, positive_logit, lse, kept)
        ctx.temperature, ctx.rows = temperature, rows
        return (lse - positive_logit).mean()

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, ...]:
        scaled, positive, negatives, positive_logit, lse, kept = ctx.saved_tensors
        need_q, need_pos, need_neg = ctx.needs_input_grad[:3]
        weight = grad / len(scaled)
        pos_weight = (torch.exp(positive_logit - lse) - 1.0) * weight  # (P+ − 1) / M
        grad_q = pos_weight[:, None] * positive if need_q else None
        grad_neg = torch.zeros_like(negatives) if need_neg else None
        if need_q or need_neg:
            with torch.autocast(scaled.device.type, enabled=False):
                for start in range(0, len(scaled), ctx.rows):
                    q, s = scaled[start : start + ctx.rows], lse[start : start + ctx.rows]
                    negative_logits = q @ negatives if kept is None else kept
                    p_neg = (negative_logits - s[:, None]).exp_().mul_(weight)  # P- / M
                    if need_q:
                        grad_q[start : start + ctx.rows].addmm_(p_neg, negatives.T)
                    if need_neg:
                        grad_neg.addmm_(q.T, p_neg)
        if need_q:
            grad_q /= ctx.temperature
        grad_pos = pos_weight[:, None] * scaled if need_pos else None
        return grad_q, grad_pos, grad_neg, None, None


@torch.no_grad()
def momentum_update(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """θ_k ← m·θ_k + (1 − m)·θ_q for every parameter the target has (buffers are the target's own, as
    in MoCo), as one multi-tensor update. The target may lack parts of the online module (LiftedCL's
    key encoder has no lifting network); parameters pair up by name."""
    online_parameters = dict(online.named_parameters())
    targets, sources = [], []
    for name, parameter in target.named_parameters():
        targets.append(parameter)
        sources.append(online_parameters[name].detach())
    torch._foreach_mul_(targets, momentum)
    torch._foreach_add_(targets, sources, alpha=1.0 - momentum)


def momentum_copy(online: nn.Module) -> nn.Module:
    """The key / target encoder: a frozen copy of the online one (parameters and buffers)."""
    import copy

    target = copy.deepcopy(online)
    for parameter in target.parameters():
        parameter.requires_grad_(False)
    return target
