"""RLE's model pieces against computations done another way: RealNVP's density by the change of
variables with an autograd Jacobian, RLELoss3D term by term, the L2-normalised Linear by numpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from suite.finetune.rle import MASKS_2D, MASKS_3D, NormalisedLinear, RegressFlow3D, RleOutput, rle_loss_3d
from suite.models.realnvp import RealNVP


def flow(masks: torch.Tensor, seed: int = 0) -> RealNVP:
    torch.manual_seed(seed)
    return RealNVP(masks, hidden=16).double()


@pytest.mark.parametrize("masks", [MASKS_3D, MASKS_2D], ids=["3d", "2d"])
def test_realnvp_log_prob_is_the_change_of_variables(masks):
    model = flow(masks)
    x = torch.randn(5, masks.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected = []
    for point in x:
        z = model.backward_p(point[None])[0][0]
        jacobian = torch.autograd.functional.jacobian(lambda p: model.backward_p(p[None])[0][0], point)
        log_normal = -0.5 * float(z.detach() @ z.detach()) - 0.5 * len(z) * math.log(2 * math.pi)
        expected.append(log_normal + math.log(abs(float(torch.linalg.det(jacobian)))))
    assert model.log_prob(x).tolist() == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("masks", [MASKS_3D, MASKS_2D], ids=["3d", "2d"])
def test_realnvp_is_invertible(masks):
    model = flow(masks)
    x = torch.randn(7, masks.shape[1], dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 3
    z, _ = model.backward_p(x)
    assert torch.allclose(model.forward_p(z), x, atol=1e-12)
    assert not torch.allclose(z, x)  # the flow does move points


def test_normalised_linear_is_w_x_over_norm_plus_b():
    torch.manual_seed(0)
    layer = NormalisedLinear(6, 4).double()
    nn.init.normal_(layer.linear.bias)  # a nonzero bias, to see it added after the division
    x = np.random.default_rng(0).normal(size=(3, 6))
    w, b = layer.linear.weight.detach().numpy(), layer.linear.bias.detach().numpy()
    expected = x @ w.T / np.linalg.norm(x, axis=1, keepdims=True) + b
    assert np.allclose(layer(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-12)
    bound = 0.01 * math.sqrt(6 / (6 + 4))  # xavier_uniform with gain 0.01
    assert float(layer.linear.weight.detach().abs().max()) <= bound


class Pooled(nn.Module):
    """A stand-in trunk: the input itself as a (N, C, 1, 1) feature map."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, None, None]


@torch.no_grad()
def by_hand(model: RegressFlow3D, mu, sigma, target, weight) -> float:
    """One joint's RLELoss3D terms, coordinate by coordinate."""
    bar = (mu - target) / sigma
    if weight[2] > 0:
        log_phi = float(model.flow3d.log_prob(bar[None]))
    else:
        log_phi = float(model.flow2d.log_prob(bar[None, :2]))
    total = 0.0
    for c in range(3):
        s, m, g, w = (float(t[c]) for t in (sigma, mu, target, weight))
        nf = math.log(s) - log_phi
        q = math.log(s * math.sqrt(2 * math.pi)) + abs(g - m) / (math.sqrt(2) * s + 1e-9)
        total += (nf + q) * w
    return total


def test_rle_loss_3d_by_hand():
    torch.manual_seed(0)
    joints = 2
    model = RegressFlow3D(Pooled(), num_channels=5, num_joints=joints).double()
    rng = np.random.default_rng(3)
    mu = torch.from_numpy(rng.uniform(-0.3, 0.3, (2, joints, 3)))
    sigma = torch.from_numpy(rng.uniform(0.05, 0.9, (2, joints, 3)))
    target = torch.from_numpy(rng.uniform(-0.3, 0.3, (2, joints, 3)))
    # sample 0: 3D joints (one of them weightless); sample 1: 2D only (MPII: depth weight 0)
    weight = torch.tensor([[[1.0, 1, 1], [0, 0, 0]], [[1, 1, 0], [1, 1, 0]]], dtype=torch.float64)
    loss = rle_loss_3d(model, RleOutput(mu, sigma), target, weight)

    total = 0.0
    for n in range(2):
        for j in range(joints):
            total += by_hand(model, mu[n, j], sigma[n, j], target[n, j], weight[n, j])
    assert float(loss.detach()) == pytest.approx(total / 2, rel=1e-12)


def test_regressflow3d_outputs_coordinates_and_positive_sigma():
    torch.manual_seed(0)
    model = RegressFlow3D(Pooled(), num_channels=5, num_joints=18)
    output = model(torch.randn(4, 5))
    assert output.coords.shape == output.sigma.shape == (4, 18, 3)
    assert bool((output.sigma > 0).all()) and bool((output.sigma <= 1 + 1e-9).all())
