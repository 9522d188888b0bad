"""PixPro: positives from geometry by hand and by brute force, the momentum schedule, propagation, loss."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch

from suite.baselines.pixpro import (
    PixPro,
    PixProConfig,
    momentum_at,
    normalised_box,
    pixel_loss,
    positive_mask,
    propagate,
)
from suite.data.views import ViewBatch
from suite.models.backbone import ResNetTrunk
from suite.pretrain.catalog import METHODS

TINY = PixProConfig(hidden_dim=32, dim=16)


def make(config: PixProConfig = TINY, seed: int = 0) -> PixPro:
    torch.manual_seed(seed)
    return PixPro(partial(ResNetTrunk, "resnet18", config.init), config)


def geometry(rows, image=(200.0, 300.0)) -> torch.Tensor:
    """[top, left, height, width, flipped] rows of crops of an image_height × image_width image."""
    return torch.tensor([[*row, *image] for row in rows], dtype=torch.float32)


def mask_by_loop(g1: list[float], g2: list[float], h: int, w: int, threshold: float) -> np.ndarray:
    """A for one image pair, from the §3.3 formulas one pixel pair at a time."""

    def bins(g):
        top, left, height, width, flipped, image_h, image_w = g
        x_ul, x_lr = left / (image_w - 1), (left + width - 1) / (image_w - 1)
        y_ul, y_lr = top / (image_h - 1), (top + height - 1) / (image_h - 1)
        if flipped:
            x_ul, x_lr = x_lr, x_ul
        bin_w, bin_h = (x_lr - x_ul) / w, (y_lr - y_ul) / h
        centres = [((u + 0.5) * bin_w + x_ul, (v + 0.5) * bin_h + y_ul) for v in range(h) for u in range(w)]
        return centres, math.hypot(bin_w, bin_h)

    c1, d1 = bins(g1)
    c2, d2 = bins(g2)
    mask = np.zeros((h * w, h * w), dtype=bool)
    for i, (x1, y1) in enumerate(c1):
        for j, (x2, y2) in enumerate(c2):
            mask[i, j] = math.hypot(x1 - x2, y1 - y2) / max(d1, d2) < threshold
    return mask


def propagate_by_loop(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, gamma: float) -> np.ndarray:
    """y_i = Σ_j max(cos(x_i, x_j), 0)^γ · g(x_j)/‖g(x_j)‖, then y_i/‖y_i‖; one image (C, H, W), float64."""
    c, h, w = x.shape
    pixels = x.reshape(c, -1).T  # (HW, C)
    values = pixels @ weight.T + bias  # the 1×1 conv g
    values = values / np.linalg.norm(values, axis=1, keepdims=True)
    y = np.zeros_like(values)
    for i in range(h * w):
        for j in range(h * w):
            cos = pixels[i] @ pixels[j] / (np.linalg.norm(pixels[i]) * np.linalg.norm(pixels[j]))
            y[i] += max(cos, 0.0) ** gamma * values[j]
        y[i] /= np.linalg.norm(y[i])
    return y.T.reshape(c, h, w)


def loss_by_loop(y: np.ndarray, target: np.ndarray, masks: list[np.ndarray]) -> float:
    """Mean over images of −2 Σ_{A(i,j)} cos(y_i, x'_j) / (|A| + 1e-6); y, target (N, C, HW) unit pixels."""
    per_image = []
    for n, mask in enumerate(masks):
        total = sum(y[n, :, i] @ target[n, :, j] for i, j in zip(*np.nonzero(mask), strict=True))
        per_image.append(-2 * total / (mask.sum() + 1e-6))
    return float(np.mean(per_image))


def test_registered_with_script_defaults():
    assert METHODS.load("pixpro") is PixPro and PixPro.sync_bn
    assert PixPro.augmentation == "byol"
    config = PixProConfig()
    assert (config.momentum, config.gamma, config.pos_ratio) == (0.99, 2.0, 0.7)
    assert (config.dim, config.hidden_dim, config.init) == (256, 4096, "pixpro")
    assert not hasattr(config, "queue_size")  # no negatives
    model = make()
    assert model.backbone() is model.encoder
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.value_transform.modules())


def test_normalised_box_by_hand():
    boxes = normalised_box(geometry([(10, 20, 50, 100, 0), (10, 20, 50, 100, 1)], image=(101.0, 201.0)))
    # x by (W − 1) = 200, y by (H − 1) = 100; the flipped view swaps x_ul and x_lr
    expected = [[0.1, 0.1, 119 / 200, 0.59], [119 / 200, 0.1, 0.1, 0.59]]
    np.testing.assert_allclose(boxes.numpy(), expected, rtol=1e-12)


def test_positive_mask_hand_made_cases():
    h = w = 3
    square = (121.0, 121.0)  # a square box in a square image: square bins in normalised coordinates
    box = (20, 30, 90, 90)
    same = positive_mask(geometry([(*box, 0)], square), geometry([(*box, 0)], square), h, w, 0.7)[0]
    # identical views: each bin matches itself only (neighbours are a bin apart, 1/√2 diagonal > 0.7)
    np.testing.assert_array_equal(same.numpy(), np.eye(9, dtype=bool))

    disjoint = positive_mask(
        geometry([(0, 0, 50, 50, 0)], square), geometry([(60, 60, 50, 50, 0)], square), h, w, 0.7
    )
    assert not disjoint.any()

    flipped = positive_mask(geometry([(*box, 0)], square), geometry([(*box, 1)], square), h, w, 0.7)[0]
    # a mirrored view: pixel (row, u) of view 1 is pixel (row, w − 1 − u) of view 2
    mirrored = np.zeros((9, 9), dtype=bool)
    for row in range(h):
        for u in range(w):
            mirrored[row * w + u, row * w + (w - 1 - u)] = True
    np.testing.assert_array_equal(flipped.numpy(), mirrored)

    # x and y are normalised separately (by W − 1 and H − 1): in a 3:1 image the same 90-px box has
    # bins three times taller than wide in normalised units, so a bin's horizontal neighbours (1/√10
    # diagonal away) and next-but-one (2/√10) are positive too: whole rows match
    wide = (91.0, 271.0)
    rows = positive_mask(geometry([(0, 0, 90, 90, 0)], wide), geometry([(0, 0, 90, 90, 0)], wide), h, w, 0.7)
    np.testing.assert_array_equal(
        rows[0].numpy(), np.kron(np.eye(3, dtype=bool), np.ones((3, 3), dtype=bool))
    )


def test_positive_mask_equals_brute_force_on_random_crops():
    rng = np.random.default_rng(0)
    rows1, rows2 = [], []
    for _ in range(12):
        for rows in (rows1, rows2):
            height, width = rng.integers(40, 200), rng.integers(40, 300)
            rows.append((rng.integers(0, 200 - height + 1), rng.integers(0, 300 - width + 1), height, width,
                         rng.integers(0, 2)))  # fmt: skip
    g1, g2 = geometry(rows1), geometry(rows2)
    h, w = 4, 5
    mask = positive_mask(g1, g2, h, w, 0.7).numpy()
    expected = np.stack(
        [mask_by_loop(a, b, h, w, 0.7) for a, b in zip(g1.tolist(), g2.tolist(), strict=True)]
    )
    np.testing.assert_array_equal(mask, expected)
    assert 0 < expected.sum() < expected.size  # some positives, not all


def test_momentum_schedule():
    m0 = 0.99
    assert momentum_at(0.0, m0) == pytest.approx(0.99, abs=1e-15)
    assert momentum_at(0.5, m0) == pytest.approx(0.995, abs=1e-15)  # cos(π/2) = 0: halfway to 1
    assert momentum_at(1 - 1e-6, m0) == pytest.approx(1.0, abs=1e-12)
    assert momentum_at(0.25, m0) == pytest.approx(1 - 0.01 * (math.sqrt(0.5) + 1) / 2, abs=1e-15)


def test_forward_uses_the_scheduled_momentum_before_the_targets():
    model = make()
    with torch.no_grad():  # θ'_0 ≠ θ_0, else the update would be invisible
        for p in [*model.encoder_k.parameters(), *model.projector_k.parameters()]:
            p.add_(torch.randn_like(p) * 0.1)
    online = [p.detach().clone() for p in [*model.encoder.parameters(), *model.projector.parameters()]]
    target = [p.detach().clone() for p in [*model.encoder_k.parameters(), *model.projector_k.parameters()]]
    views = tuple(torch.randn(2, 3, 64, 64) for _ in range(2))
    g = geometry([(0, 0, 100, 100, 0)] * 2)
    output = model(ViewBatch(views, (g, g), torch.arange(2)), 0.5)  # type: ignore[arg-type]
    assert output.logs["momentum"].item() == pytest.approx(0.995)
    after = [*model.encoder_k.parameters(), *model.projector_k.parameters()]
    for p_k, p_k0, p_q0 in zip(after, target, online, strict=True):
        torch.testing.assert_close(p_k, 0.995 * p_k0 + 0.005 * p_q0, rtol=0, atol=1e-6)
    output.loss.backward()
    assert all(p.grad is None for p in after)
    assert model.value_transform.weight.grad is not None


@pytest.mark.parametrize("gamma", [2.0, 1.0, 0.5])
def test_propagation_equals_a_naive_loop(gamma):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 4, 3, 2, generator=generator, dtype=torch.float64)
    transform = torch.nn.Conv2d(4, 4, 1).double()
    y = propagate(x, transform, gamma).detach().numpy()
    weight, bias = transform.weight[:, :, 0, 0].detach().numpy(), transform.bias.detach().numpy()
    for n in range(2):
        expected = propagate_by_loop(x[n].numpy(), weight, bias, gamma)
        if gamma < 1:  # the code's +1e-6 before the power changes terms of zero cosine by 1e-6^γ
            np.testing.assert_allclose(y[n], expected, atol=1e-2)
        else:
            np.testing.assert_allclose(y[n], expected, rtol=1e-10, atol=1e-12)


def test_pixel_loss_by_hand():
    rng = np.random.default_rng(1)
    y = rng.standard_normal((2, 3, 2, 2))
    t = rng.standard_normal((2, 3, 2, 2))
    y, t = y / np.linalg.norm(y, axis=1, keepdims=True), t / np.linalg.norm(t, axis=1, keepdims=True)
    masks = [np.eye(4, dtype=bool), np.zeros((4, 4), dtype=bool)]  # image 2 has no positives: it adds 0
    masks[0][0, 3] = True
    loss = pixel_loss(torch.from_numpy(y), torch.from_numpy(t), torch.from_numpy(np.stack(masks)))
    assert loss.item() == pytest.approx(loss_by_loop(y.reshape(2, 3, 4), t.reshape(2, 3, 4), masks), rel=1e-6)


def test_loss_of_a_step_by_hand():
    """The whole forward against loops: propagation, positives from geometry, both directions."""
    model = make(replace(TINY, gamma=2.0))
    generator = torch.Generator().manual_seed(2)
    views = tuple(torch.randn(4, 3, 96, 96, generator=generator) for _ in range(2))  # 3×3 maps
    # same box; view 2 flipped; view 2 shifted by a third; disjoint (no positives)
    square = (121.0, 121.0)
    # 91-px boxes: bins of (91 − 1)/120/3 = 1/4 of the image, 30 px; the third pair is shifted by half a bin
    g1 = geometry([(0, 0, 91, 91, 0), (0, 0, 91, 91, 0), (0, 0, 91, 91, 0), (0, 0, 60, 60, 0)], square)
    g2 = geometry([(0, 0, 91, 91, 0), (0, 0, 91, 91, 1), (0, 15, 91, 91, 0), (61, 61, 60, 60, 1)], square)
    output = model(ViewBatch(views, (g1, g2), torch.arange(4)), 0.3)  # type: ignore[arg-type]

    with torch.no_grad():  # the same networks after the step's momentum update, train mode (batch BN)
        x = [model.projector(model.encoder(v)).double().numpy() for v in views]
        targets = [model.projector_k(model.encoder_k(v)).double().numpy() for v in views]
    weight = model.value_transform.weight[:, :, 0, 0].detach().double().numpy()
    bias = model.value_transform.bias.detach().double().numpy()
    y = [
        np.stack([propagate_by_loop(image, weight, bias, 2.0) for image in xv]).reshape(4, 16, 9) for xv in x
    ]
    targets = [(t / np.linalg.norm(t, axis=1, keepdims=True)).reshape(4, 16, 9) for t in targets]
    masks_12 = [mask_by_loop(a, b, 3, 3, 0.7) for a, b in zip(g1.tolist(), g2.tolist(), strict=True)]
    masks_21 = [mask_by_loop(b, a, 3, 3, 0.7) for a, b in zip(g1.tolist(), g2.tolist(), strict=True)]
    # half a bin apart: 0.5/√2 ≈ 0.35 diagonals (positive), 1.5/√2 ≈ 1.06 (not): 5 pairs a row
    assert [m.sum() for m in masks_12] == [9, 9, 15, 0]
    loss_12 = loss_by_loop(y[0], targets[1], masks_12)
    loss_21 = loss_by_loop(y[1], targets[0], masks_21)
    assert output.logs["loss_12"].item() == pytest.approx(loss_12, rel=1e-4)
    assert output.logs["loss_21"].item() == pytest.approx(loss_21, rel=1e-4)
    assert output.loss.item() == pytest.approx(loss_12 + loss_21, rel=1e-4)
