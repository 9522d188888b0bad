"""info_nce and momentum_update against the straightforward formulas they replace."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from suite.pretrain.contrastive import info_nce, momentum_copy, momentum_update


def reference_info_nce(query, positive, negatives, temperature):
    """MoCo's formula: cat([l+, l-]) / τ, then cross-entropy with the positive as class 0."""
    logits = torch.cat([(query * positive).sum(dim=1, keepdim=True), query @ negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long))


def inputs(dtype, rows=37, dim=16, size=300):
    """Unit vectors behind a linear layer, so that gradients also flow to something upstream."""
    generator = torch.manual_seed(0)
    layer = nn.Linear(dim, dim).to(dtype)
    x = torch.randn(rows, dim, generator=generator, dtype=dtype)
    positive = F.normalize(torch.randn(rows, dim, generator=generator, dtype=dtype), dim=1)
    negatives = F.normalize(torch.randn(dim, size, generator=generator, dtype=dtype), dim=0)
    return layer, x, positive.requires_grad_(), negatives.requires_grad_()


def loss_and_grads(loss_fn, dtype, **kwargs):
    layer, x, positive, negatives = inputs(dtype)
    query = F.normalize(layer(x), dim=1)
    loss = loss_fn(query, positive, negatives, 0.2, **kwargs)
    grads = torch.autograd.grad(loss, [layer.weight, layer.bias, positive, negatives])
    return loss, grads


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("max_logits", [None, 300, 7 * 300 + 5, 1])  # one chunk, a row, 7 rows, a row
def test_info_nce_equals_cross_entropy_of_the_concatenated_logits(dtype, max_logits):
    kwargs = {} if max_logits is None else {"max_logits": max_logits}
    loss, grads = loss_and_grads(info_nce, dtype, **kwargs)
    expected_loss, expected_grads = loss_and_grads(reference_info_nce, dtype)
    assert loss.dtype == dtype
    torch.testing.assert_close(loss, expected_loss, rtol=1e-6, atol=0)
    for grad, expected in zip(grads, expected_grads, strict=True):  # upstream weights, k+, k-
        torch.testing.assert_close(grad, expected, rtol=1e-6, atol=1e-6 * expected.abs().max().item())


def test_info_nce_computes_in_float32_from_bfloat16():
    _, x, positive, negatives = inputs(torch.float32)
    query = F.normalize(x, dim=1)
    loss = info_nce(query.bfloat16(), positive.bfloat16(), negatives.bfloat16(), 0.2)
    expected = reference_info_nce(
        query.bfloat16().float(), positive.bfloat16().float(), negatives.bfloat16().float(), 0.2
    )
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=0)


def test_momentum_update_equals_the_per_tensor_loop():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.Linear(7, 3))
    target = momentum_copy(online)
    with torch.no_grad():
        for p in target.parameters():
            p.add_(torch.randn_like(p))
    expected = [p.clone() for p in target.parameters()]
    for q, k in zip(online.parameters(), expected, strict=True):
        k.mul_(0.99).add_(q.detach(), alpha=1.0 - 0.99)
    buffers = [b.clone() for b in target.buffers()]

    momentum_update(online, target, 0.99)

    for k, k_expected in zip(target.parameters(), expected, strict=True):
        torch.testing.assert_close(k, k_expected, rtol=1e-6, atol=1e-7)
    assert all(torch.equal(b, b0) for b, b0 in zip(target.buffers(), buffers, strict=True))


def test_momentum_update_skips_what_the_target_lacks():
    torch.manual_seed(0)
    online = nn.ModuleDict({"kept": nn.Linear(4, 4), "dropped": nn.Linear(4, 2)})
    target = momentum_copy(online)
    del target["dropped"]
    with torch.no_grad():
        target["kept"].weight.zero_()

    momentum_update(online, target, 0.75)

    torch.testing.assert_close(target["kept"].weight, 0.25 * online["kept"].weight.detach())
    torch.testing.assert_close(target["kept"].bias, online["kept"].bias.detach())
