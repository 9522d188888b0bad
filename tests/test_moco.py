"""MoCo v2: eq. 2 by hand, chance loss at initialisation, the queue, the momentum update."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch

from suite.baselines.moco import MoCo, MoCoConfig
from suite.data.views import ViewBatch
from suite.models.backbone import ResNetTrunk
from suite.pretrain.catalog import METHODS
from suite.training.schedules import OptimSpec

TINY = MoCoConfig(queue_size=16)


def make(config: MoCoConfig = TINY, seed: int = 0) -> MoCo:
    torch.manual_seed(seed)
    return MoCo(partial(ResNetTrunk, "resnet18", config.init), config)


def batch(n: int = 4, size: int = 32, seed: int = 1) -> ViewBatch:
    generator = torch.Generator().manual_seed(seed)
    views = tuple(torch.randn(n, 3, size, size, generator=generator) for _ in range(2))
    geometry = torch.tensor([[0.0, 0.0, 64.0, 64.0, 0.0, 64.0, 64.0]] * n)
    return ViewBatch(views, (geometry, geometry), torch.arange(n))  # type: ignore[arg-type]


def nce_by_hand(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    """Mean over rows of −log exp(q·k/τ) / (exp(q·k/τ) + Σ_j exp(q·queue_j/τ)), in float64."""
    losses = []
    for qi, ki in zip(q.astype(np.float64), k.astype(np.float64), strict=True):
        logits = np.concatenate([[qi @ ki], qi @ queue.astype(np.float64)]) / tau
        losses.append(np.log(np.exp(logits).sum()) - logits[0])
    return float(np.mean(losses))


def test_registered_with_official_defaults():
    assert METHODS.load("moco-v2") is MoCo and not MoCo.sync_bn
    config = MoCoConfig()
    assert (config.queue_size, config.momentum, config.temperature, config.dim) == (65536, 0.999, 0.2, 128)
    assert config.init == "torchvision"
    model = make()
    assert model.backbone() is model.encoder_q.trunk
    # v2 head: Linear(C, C) → ReLU → Linear(C, 128) with C the trunk's channels, no BN
    shapes = [tuple(p.shape) for p in model.encoder_q.head.parameters()]
    assert shapes == [(512, 512), (512,), (128, 512), (128,)]
    with pytest.raises(ValueError, match="init"):
        make(MoCoConfig(init="nope"))


def test_loss_is_eq_2_by_hand_and_keys_are_enqueued_after():
    model = make()
    data = batch()
    queue = model.queue.keys.clone().numpy()  # the negatives of this step
    output = model(data, 0.0)
    with torch.no_grad():  # the same encoders (f_k already momentum-updated), train mode
        q = model.encoder_q(data.views[0]).numpy()
        k = model.encoder_k(data.views[1]).numpy()
    expected = nce_by_hand(q, k, queue, TINY.temperature)
    assert output.loss.item() == pytest.approx(expected, rel=1e-5)
    assert output.logs["loss_nce"].item() == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(model.queue.keys[:, :4].T.numpy(), k, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.queue.keys[:, 4:].numpy(), queue[:, 4:])


def test_loss_at_initialisation_is_chance():
    """Positive exchangeable with the negatives (unrelated noise; queue of keys of other noise): ≈ log(K + 1).

    (A queue of random unit vectors would not do: the untrained q of any two images are highly aligned.)
    """
    k = 512
    model = make(replace(TINY, queue_size=k), seed=2)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(k // 64):
            model.queue.push(model.encoder_k(torch.randn(64, 3, 32, 32, generator=generator)))
    output = model(batch(n=32, seed=4), 0.0)
    assert output.loss.item() == pytest.approx(math.log(k + 1), abs=0.35)


def test_queue_pointer_wraps():
    model = make(replace(TINY, queue_size=6))
    first, second = batch(seed=1), batch(seed=2)
    model(first, 0.0)
    k_first = model.queue.keys[:, :4].clone()
    assert model.queue.pointer.item() == 4
    model(second, 0.0)
    with torch.no_grad():
        k_second = model.encoder_k(second.views[1]).T
    assert model.queue.pointer.item() == 2  # (4 + 4) mod 6
    torch.testing.assert_close(model.queue.keys[:, [4, 5, 0, 1]], k_second)  # wrapped to the start
    torch.testing.assert_close(model.queue.keys[:, [2, 3]], k_first[:, [2, 3]])  # the oldest left


def test_momentum_update_is_exact_and_before_the_optimizer_step():
    m = 0.9
    model = make(replace(TINY, momentum=m))
    with torch.no_grad():  # θ_k0 ≠ θ_q0, else the update would be invisible
        for p in model.encoder_k.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    theta_q0 = [p.detach().clone() for p in model.encoder_q.parameters()]
    theta_k0 = [p.detach().clone() for p in model.encoder_k.parameters()]
    spec = OptimSpec(lr=0.5, weight_decay=0.0, momentum=0.0)
    (params, _) = model.optimizer_groups(spec)["encoder"]
    assert {id(p) for p in params} == {id(p) for p in model.encoder_q.parameters()}
    optimizer = torch.optim.SGD(params, lr=spec.lr)

    output = model(batch(), 0.0)
    optimizer.zero_grad()
    output.loss.backward()
    optimizer.step()

    # the key encoder is not trained: no gradient reaches it
    assert all(not p.requires_grad and p.grad is None for p in model.encoder_k.parameters())
    # θ_q moved, and θ_k = m·θ_k0 + (1 − m)·θ_q0 with the query weights from before the step
    assert any(not torch.equal(p, p0) for p, p0 in zip(model.encoder_q.parameters(), theta_q0, strict=True))
    for p_k, p_k0, p_q0 in zip(model.encoder_k.parameters(), theta_k0, theta_q0, strict=True):
        torch.testing.assert_close(p_k, m * p_k0 + (1 - m) * p_q0, rtol=0, atol=1e-6)
