"""RLE (Li et al., ICCV 2021) for 3D pose: the RegressFlow3D model and RLELoss3D, as the official code.

Source: Jeff-sjtu/res-loglikelihood-regression, rlepose/models/regression_nf_3d.py and criterion.py
(downstream-protocols.md §4.2).

Model: trunk -> global average pool -> fc_coord, a Linear on the L2-normalised feature
(W·x/‖x‖ + b, weight xavier_uniform gain 0.01), giving μ (J, 3) = (u, v, d) normalised by the crop
and by bbox_3d_shape; fc_sigma, a Linear (weight xavier_uniform gain 0.01, as the official
`_initialize`), σ = sigmoid + 1e-9. Two RealNVP flows model the residual density: flow3d on
(x, y, z) for joints with a depth target, flow2d on (x, y) for 2D-only joints (MPII).

Loss, per joint j and coordinate c with weight w (RLELoss3D):

    μ̄ = (μ − gt) / σ
    nf = log σ − log G_φ(μ̄_j)             # the joint's log-density broadcast over its 3 coordinates
    q  = log(σ·√(2π)) + |gt − μ| / (√2·σ + 1e-9)
    loss = Σ (nf + q)·w / batch size

log σ appears twice (in nf and in q): the official code does so, and so does this one, faithfully.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from suite.models.realnvp import RealNVP

FC_GAIN = 0.01  # xavier_uniform gain of fc_coord and fc_sigma
SIGMA_EPS = 1e-9  # σ = sigmoid(·) + SIGMA_EPS
Q_EPS = 1e-9  # in the Laplace term's denominator √2·σ + Q_EPS
FLOW_HIDDEN = 64
# Coupling masks: flow3d alternates moving z and (x, y), flow2d x and y; 6 couplings each.
MASKS_3D = torch.tensor([[0, 0, 1], [1, 1, 0]] * 3)
MASKS_2D = torch.tensor([[0, 1], [1, 0]] * 3)


class NormalisedLinear(nn.Module):
    """RLE's Linear(norm=True): y = W·x / ‖x‖₂ + b, the input feature L2-normalised before the product."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        nn.init.xavier_uniform_(self.linear.weight, gain=FC_GAIN)

    def forward(self, x: Tensor) -> Tensor:
        y = x.matmul(self.linear.weight.t()) / torch.norm(x, dim=1, keepdim=True)
        return y + self.linear.bias


@dataclass
class RleOutput:
    coords: Tensor  # (N, J, 3) μ: u, v normalised by the crop (−0.5..0.5), d = depth / bbox_3d_shape
    sigma: Tensor  # (N, J, 3)


class RegressFlow3D(nn.Module):
    """A ResNet trunk with RLE's regression head and its two flows."""

    def __init__(self, trunk: nn.Module, num_channels: int, num_joints: int) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.trunk = trunk
        self.fc_coord = NormalisedLinear(num_channels, num_joints * 3)
        self.fc_sigma = nn.Linear(num_channels, num_joints * 3)
        nn.init.xavier_uniform_(self.fc_sigma.weight, gain=FC_GAIN)
        self.flow3d = RealNVP(MASKS_3D, FLOW_HIDDEN)
        self.flow2d = RealNVP(MASKS_2D, FLOW_HIDDEN)

    def forward(self, images: Tensor) -> RleOutput:
        return self.head(self.trunk(images))

    def head(self, features: Tensor) -> RleOutput:
        """The trunk's C5 features (N, C, h, w) -> μ and σ."""
        feature = features.mean(dim=(2, 3))  # global average pool
        n = feature.shape[0]
        coords = self.fc_coord(feature).reshape(n, self.num_joints, 3)
        sigma = self.fc_sigma(feature).reshape(n, self.num_joints, 3).sigmoid() + SIGMA_EPS
        return RleOutput(coords, sigma)

    def log_phi(self, bar_mu: Tensor, has_depth: Tensor) -> Tensor:
        """log G_φ(μ̄) (N, J): flow3d where the joint has a depth target, flow2d on (x, y) elsewhere."""
        flat, depth = bar_mu.reshape(-1, 3), has_depth.reshape(-1)
        log_phi = torch.zeros_like(flat[:, 0])
        log_phi[depth] = self.flow3d.log_prob(flat[depth])
        log_phi[~depth] = self.flow2d.log_prob(flat[~depth][:, :2])
        return log_phi.reshape(bar_mu.shape[:2])


def rle_loss_3d(model: RegressFlow3D, output: RleOutput, target: Tensor, weight: Tensor) -> Tensor:
    """RLELoss3D of a batch (see the module docstring): summed over joints and coordinates, / N."""
    mu, sigma = output.coords, output.sigma
    bar_mu = (mu - target) / sigma
    log_phi = model.log_phi(bar_mu, weight[..., 2] > 0)
    nf = torch.log(sigma) - log_phi[..., None]
    q = torch.log(sigma * math.sqrt(2 * math.pi)) + torch.abs(target - mu) / (math.sqrt(2) * sigma + Q_EPS)
    return ((nf + q) * weight).sum() / len(mu)
