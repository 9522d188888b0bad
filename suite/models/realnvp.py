"""RealNVP (Dinh et al., 2017): a stack of affine couplings with a standard normal prior.

As RLE's rlepose/models/layers/real_nvp.py: coupling i keeps the coordinates where mask[i] is 1 and
moves the others, x = x_m + (1 − m)·(x·exp(s(x_m)) + t(x_m)), with s and t small MLPs on the kept
coordinates (s ends in Tanh). forward_p maps latent to data, backward_p data to latent with the
log-determinant of its Jacobian, and log_prob(x) = log N(z; 0, I) + log|det ∂z/∂x|. Parameter names
(s.i, t.i, mask) are the official ones.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def coupling_net(dim: int, hidden: int, tanh: bool) -> nn.Sequential:
    """RLE's nets()/nett(): Linear(d, h)-LeakyReLU-Linear(h, h)-LeakyReLU-Linear(h, d), Tanh for s."""
    layers: list[nn.Module] = [
        nn.Linear(dim, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(),
        nn.Linear(hidden, dim),
    ]
    return nn.Sequential(*layers, nn.Tanh()) if tanh else nn.Sequential(*layers)


class RealNVP(nn.Module):
    """Affine couplings, one per row of `masks` (K, d), on d-dimensional points."""

    def __init__(self, masks: Tensor, hidden: int) -> None:
        super().__init__()
        dim = masks.shape[1]
        self.register_buffer("mask", masks.float())
        self.t = nn.ModuleList([coupling_net(dim, hidden, tanh=False) for _ in range(len(masks))])
        self.s = nn.ModuleList([coupling_net(dim, hidden, tanh=True) for _ in range(len(masks))])

    def forward_p(self, z: Tensor) -> Tensor:
        """Latent (N, d) to data (N, d)."""
        x = z
        for mask, s_net, t_net in zip(self.mask, self.s, self.t, strict=True):
            kept = x * mask
            s, t = s_net(kept) * (1 - mask), t_net(kept) * (1 - mask)
            x = kept + (1 - mask) * (x * torch.exp(s) + t)
        return x

    def backward_p(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Data (N, d) to latent (N, d) and log|det ∂z/∂x| (N,)."""
        log_det, z = x.new_zeros(x.shape[0]), x
        for mask, s_net, t_net in reversed(list(zip(self.mask, self.s, self.t, strict=True))):
            kept = mask * z
            s, t = s_net(kept) * (1 - mask), t_net(kept) * (1 - mask)
            z = (1 - mask) * (z - t) * torch.exp(-s) + kept
            log_det = log_det - s.sum(dim=1)
        return z, log_det

    def log_prob(self, x: Tensor) -> Tensor:
        """log density (N,) of data points (N, d) under the flow."""
        z, log_det = self.backward_p(x)
        prior = -0.5 * (z**2).sum(dim=1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        return prior + log_det
