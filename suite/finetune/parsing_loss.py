"""SCHP's training loss (utils/criterion.py CriterionAll and its parts), downstream-protocols.md §6.3.

Every prediction is first upsampled (bilinear, align_corners) to the label's size. With λ_s = λ_e = 1,
λ_c = 0.1 the loss of [[parsing, fusion], [edge]] against the label and its edge map is

    Σ over parsing and fusion:  0.5·λ_s·Lovász-softmax + 0.5·λ_s·(CE, or KL to the soft label)
  + λ_e·(class-weighted edge CE, or KL to the soft edge)
  + Σ over parsing and fusion:  λ_c·consistency(its edges, the edge branch's)

- `generate_edges`: SCHP's generate_edge_tensor: a pixel is an edge where its label differs from the
  pixel above it, to its right, or on either diagonal (the official four shifted comparisons), neither
  being the ignore value; then dilated by a 3x3 box (edge width 3).
- `lovasz_softmax`: Berman et al.'s Lovász extension of the Jaccard loss on the softmax, over all
  counted pixels of the batch, for the classes present in the label, averaged.
- Edge CE weights: [pos / (pos + neg), neg / (pos + neg)] for [non-edge, edge], counted over the batch.
- Self-correction (cycle_n ≥ 1): the soft label = (1 − α)·(the SCHP model's fusion logits) + α·one-hot
  (label), α = 1 / (cycle_n + 1), mixed before the softmax (T = 1); the term is F.kl_div(log_softmax
  (pred), softmax(soft)) averaged over every counted pixel and class (kl_div's 'mean'). The soft edge
  likewise with the SCHP model's edge logits, counted where the parsing label is not ignored.
- `consistency`: smooth-L1 between the edges generated from argmax(parsing) and argmax(edge) on the
  pixels where both are edges. As in the official code both sides are then 1 and neither carries a
  gradient, so the term is 0 (the official code gives NaN when no pixel qualifies; here 0).

Deviation: the official to_one_hot overwrites ignored label pixels with 0 in place, so once
self-correction starts the terms after the first soft-label KL count ignored pixels as background;
here the label is left as it is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from suite.data.layouts import LIP_IGNORE

EDGE_WIDTH = 3


def generate_edges(label: Tensor, ignore: int = LIP_IGNORE, width: int = EDGE_WIDTH) -> Tensor:
    """(N, H, W) float 0 / 1 edge map of (N, H, W) labels (generate_edge_tensor)."""
    label = label.float()
    edge = torch.zeros_like(label)
    valid = label != ignore

    def mark(target: Tensor, a: Tensor, b: Tensor, va: Tensor, vb: Tensor) -> None:
        target[(a != b) & va & vb] = 1

    mark(edge[:, 1:, :], label[:, 1:, :], label[:, :-1, :], valid[:, 1:, :], valid[:, :-1, :])
    mark(edge[:, :, :-1], label[:, :, :-1], label[:, :, 1:], valid[:, :, :-1], valid[:, :, 1:])
    mark(edge[:, :-1, :-1], label[:, :-1, :-1], label[:, 1:, 1:], valid[:, :-1, :-1], valid[:, 1:, 1:])
    mark(edge[:, :-1, 1:], label[:, :-1, 1:], label[:, 1:, :-1], valid[:, :-1, 1:], valid[:, 1:, :-1])
    kernel = torch.ones(1, 1, width, width, dtype=edge.dtype, device=edge.device)
    dilated = F.conv2d(edge.unsqueeze(1), kernel, padding=width // 2).squeeze(1)
    return (dilated != 0).float()


def lovasz_grad(gt_sorted: Tensor) -> Tensor:
    """The gradient of the Lovász extension of the Jaccard loss with respect to the sorted errors."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_softmax(logits: Tensor, label: Tensor, ignore: int = LIP_IGNORE) -> Tensor:
    """Lovász-softmax over the batch's counted pixels, classes 'present' (SCHP's LovaszSoftmax)."""
    probas = F.softmax(logits, dim=1)
    classes = probas.shape[1]
    probas = probas.permute(0, 2, 3, 1).reshape(-1, classes)
    label = label.reshape(-1)
    counted = label != ignore
    probas, label = probas[counted], label[counted]
    losses = []
    for c in range(classes):
        fg = (label == c).to(probas.dtype)
        if fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, 0, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
    if not losses:
        return logits.sum() * 0.0
    return torch.stack(losses).mean()


def kl_to_soft(logits: Tensor, soft: Tensor, label: Tensor, ignore: int = LIP_IGNORE) -> Tensor:
    """KLDivergenceLoss (T = 1): kl_div(log_softmax(logits), softmax(soft)), mean over the counted
    pixels' entries."""
    classes = logits.shape[1]
    log_p = F.log_softmax(logits, dim=1).permute(0, 2, 3, 1).reshape(-1, classes)
    q = F.softmax(soft, dim=1).permute(0, 2, 3, 1).reshape(-1, classes)
    counted = label.reshape(-1) != ignore
    return F.kl_div(log_p[counted], q[counted], reduction="none").mean()  # kl_div's "mean"


def soft_target(schp_logits: Tensor, label: Tensor, cycle_n: int, ignore: int = LIP_IGNORE) -> Tensor:
    """(1 − α)·the SCHP model's logits + α·one-hot(label), α = 1 / (cycle_n + 1); ignored pixels one-hot 0."""
    alpha = 1.0 / (cycle_n + 1.0)
    one_hot = F.one_hot(torch.where(label == ignore, 0, label).long(), schp_logits.shape[1])
    return (1.0 - alpha) * schp_logits + alpha * one_hot.permute(0, 3, 1, 2).to(schp_logits.dtype)


def consistency(parsing: Tensor, edge: Tensor, label: Tensor, ignore: int = LIP_IGNORE) -> Tensor:
    """ConsistencyLoss: smooth-L1 between generated and predicted edges where both are edges (0 if none)."""
    parsing_pre = torch.argmax(parsing, dim=1)
    parsing_pre[label == ignore] = ignore
    generated = generate_edges(parsing_pre, ignore)
    edge_pre = torch.argmax(edge, dim=1).float()
    counted = label != ignore
    generated, edge_pre = generated[counted], edge_pre[counted]
    both = (generated == 1) & (edge_pre == 1)
    if not both.any():
        return parsing.sum() * 0.0
    return F.smooth_l1_loss(generated[both], edge_pre[both])


def criterion(
    preds: list[list[Tensor]],
    label: Tensor,
    edges: Tensor,
    soft: tuple[Tensor, Tensor] | None = None,
    cycle_n: int = 0,
    lambdas: tuple[float, float, float] = (1.0, 1.0, 0.1),
    ignore: int = LIP_IGNORE,
) -> tuple[Tensor, dict[str, Tensor]]:
    """CriterionAll of [[parsing, fusion], [edge]] (logits at any size) against (N, H, W) labels and their
    edges; soft: the SCHP model's (fusion, edge) logits once self-correction is on. The loss and its terms."""
    lambda_s, lambda_e, lambda_c = lambdas
    size = label.shape[-2:]
    parsings = [F.interpolate(p, size=size, mode="bilinear", align_corners=True) for p in preds[0]]
    edge_logits = [F.interpolate(e, size=size, mode="bilinear", align_corners=True) for e in preds[1]]
    if soft is not None:
        soft = tuple(F.interpolate(s, size=size, mode="bilinear", align_corners=True) for s in soft)
    label = label.long()
    terms: dict[str, Tensor] = {}
    lovasz, pixel = [], []
    for parsing in parsings:
        lovasz.append(lovasz_softmax(parsing, label, ignore))
        if soft is None:
            pixel.append(F.cross_entropy(parsing, label, ignore_index=ignore))
        else:
            pixel.append(kl_to_soft(parsing, soft_target(soft[0], label, cycle_n, ignore), label, ignore))
    terms["lovasz"] = 0.5 * lambda_s * sum(lovasz)
    terms["ce" if soft is None else "kl"] = 0.5 * lambda_s * sum(pixel)
    pos, neg = (edges == 1).sum().float(), (edges == 0).sum().float()
    weights = torch.stack([pos, neg]) / (pos + neg)
    edge_terms = []
    for edge in edge_logits:
        if soft is None:
            edge_terms.append(
                F.cross_entropy(edge, edges.long(), weights.to(edge.dtype), ignore_index=ignore)
            )
        else:
            edge_terms.append(kl_to_soft(edge, soft_target(soft[1], edges, cycle_n, ignore), label, ignore))
    terms["edge"] = lambda_e * sum(edge_terms)
    terms["consistency"] = lambda_c * sum(consistency(p, edge_logits[0], label, ignore) for p in parsings)
    return sum(terms.values()), {name: value.detach() for name, value in terms.items()}
