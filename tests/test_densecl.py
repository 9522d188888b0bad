"""DenseCL: the correspondence against a brute-force loop, both losses and their sum by hand, the queues."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch

from suite.baselines.densecl import DenseCL, DenseCLConfig, correspondence
from suite.data.views import ViewBatch
from suite.models.backbone import ResNetTrunk
from suite.pretrain.catalog import METHODS

TINY = DenseCLConfig(queue_size=16, hidden_dim=32)


def make(config: DenseCLConfig = TINY, seed: int = 0) -> DenseCL:
    torch.manual_seed(seed)
    return DenseCL(partial(ResNetTrunk, "resnet18", config.init), config)


def batch(n: int = 3, size: int = 96, seed: int = 1) -> ViewBatch:
    """96-px views: a 3×3 C5 map, S² = 9 locations."""
    generator = torch.Generator().manual_seed(seed)
    views = tuple(torch.randn(n, 3, size, size, generator=generator) for _ in range(2))
    geometry = torch.tensor([[0.0, 0.0, 96.0, 96.0, 0.0, 96.0, 96.0]] * n)
    return ViewBatch(views, (geometry, geometry), torch.arange(n))  # type: ignore[arg-type]


def unit(x: np.ndarray, axis: int) -> np.ndarray:
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


def nce_by_hand(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    """Mean over rows of −log exp(q·k/τ) / (exp(q·k/τ) + Σ_j exp(q·queue_j/τ)), in float64."""
    losses = []
    for qi, ki in zip(q.astype(np.float64), k.astype(np.float64), strict=True):
        logits = np.concatenate([[qi @ ki], qi @ queue.astype(np.float64)]) / tau
        losses.append(np.log(np.exp(logits).sum()) - logits[0])
    return float(np.mean(losses))


def argmax_by_loop(q_b: np.ndarray, k_b: np.ndarray) -> np.ndarray:
    """j*(i) = argmax_j cos(q_b[:, i], k_b[:, j]) for every image and query location, by loops."""
    n, _, s = q_b.shape
    match = np.zeros((n, s), dtype=np.int64)
    for image in range(n):
        for i in range(s):
            cosines = [
                q_b[image, :, i]
                @ k_b[image, :, j]
                / (np.linalg.norm(q_b[image, :, i]) * np.linalg.norm(k_b[image, :, j]))
                for j in range(s)
            ]
            match[image, i] = int(np.argmax(cosines))
    return match


def test_registered_with_official_defaults():
    assert METHODS.load("densecl") is DenseCL and not DenseCL.sync_bn
    config = DenseCLConfig()
    assert (config.queue_size, config.momentum, config.temperature, config.loss_lambda) == (
        65536,
        0.999,
        0.2,
        0.5,
    )
    assert (config.dim, config.hidden_dim, config.init) == (128, 2048, "densecl")


def test_correspondence_is_the_argmax_over_key_locations():
    generator = torch.Generator().manual_seed(0)
    q_b = torch.randn(2, 5, 7, generator=generator)
    k_b = torch.randn(2, 5, 7, generator=generator)
    q_unit, k_unit = torch.nn.functional.normalize(q_b, dim=1), torch.nn.functional.normalize(k_b, dim=1)
    expected = argmax_by_loop(q_b.numpy().astype(np.float64), k_b.numpy().astype(np.float64))
    np.testing.assert_array_equal(correspondence(q_unit, k_unit).numpy(), expected)
    assert len(set(expected.ravel())) > 1  # not a constant answer


def test_losses_by_hand_and_both_queues_advance():
    model = make()
    data = batch()
    queue, queue2 = model.queue.keys.clone().numpy(), model.queue2.keys.clone().numpy()
    output = model(data, 0.0)
    tau = TINY.temperature
    with torch.no_grad():  # the same encoders (f_k already momentum-updated), train mode, by parts
        c5_q, c5_k = model.encoder_q.trunk(data.views[0]), model.encoder_k.trunk(data.views[1])
        q = model.encoder_q.neck.mlp(c5_q.mean(dim=(2, 3))).numpy()
        k = model.encoder_k.neck.mlp(c5_k.mean(dim=(2, 3))).numpy()
        r = model.encoder_q.neck.mlp2(c5_q).flatten(2).numpy()  # (N, d, S²)
        t = model.encoder_k.neck.mlp2(c5_k).flatten(2).numpy()
    q, k, r, t = unit(q, 1), unit(k, 1), unit(r, 1), unit(t, 1)
    match = argmax_by_loop(c5_q.flatten(2).numpy(), c5_k.flatten(2).numpy())

    loss_global = nce_by_hand(q, k, queue, tau)
    rows = [(r[n, :, i], t[n, :, match[n, i]]) for n in range(len(r)) for i in range(r.shape[2])]
    loss_dense = nce_by_hand(np.stack([a for a, _ in rows]), np.stack([b for _, b in rows]), queue2, tau)
    assert output.logs["loss_global"].item() == pytest.approx(loss_global, rel=1e-5)
    assert output.logs["loss_dense"].item() == pytest.approx(loss_dense, rel=1e-5)
    assert output.loss.item() == pytest.approx(0.5 * loss_global + 0.5 * loss_dense, rel=1e-5)

    # both queues advanced by the batch: k into queue 1, the pooled dense keys into queue 2
    pooled = unit(model.encoder_k.neck.mlp2(c5_k).mean(dim=(2, 3)).detach().numpy(), 1)
    assert model.queue.pointer.item() == model.queue2.pointer.item() == 3
    np.testing.assert_allclose(model.queue.keys[:, :3].T.numpy(), k, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.queue2.keys[:, :3].T.numpy(), pooled, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.queue2.keys[:, 3:].numpy(), queue2[:, 3:])


def test_lambda_weighs_the_terms_and_only_the_query_encoder_learns():
    model = make(replace(TINY, loss_lambda=0.25))
    output = model(batch(), 0.0)
    expected = 0.75 * output.logs["loss_global"] + 0.25 * output.logs["loss_dense"]
    torch.testing.assert_close(output.loss.detach(), expected)
    output.loss.backward()
    assert all(p.grad is None for p in model.encoder_k.parameters())
    assert all(p.grad is not None for p in model.encoder_q.parameters())
    (params, _) = model.optimizer_groups(None)["encoder"]  # type: ignore[arg-type]
    assert {id(p) for p in params} == {id(p) for p in model.encoder_q.parameters()}
    assert model.backbone() is model.encoder_q.trunk
