"""The lifting network of LiftedCL (§3.3, Figure 4): a pooled C5 vector → a 3D skeleton (17 joints × 3).

Shared by pre-training (suite/pretrain/adversarial.py, trained against the discriminator) and
fine-tuning with the 3D prior (suite/finetune/prior.py). Layer sizes as the official code
(pretraining-methods.md §1.2, §1.6): no BN, LeakyReLU 0.2, PyTorch default init.
"""

from __future__ import annotations

from torch import Tensor, nn

from suite.data.skeleton import NUM_JOINTS

SLOPE = 0.2  # LeakyReLU negative slope everywhere (official code)


class ResBlock(nn.Module):
    """ResBlock(d): LeakyReLU(x + Linear(LeakyReLU(Linear(x))))."""

    def __init__(self, dim: int, slope: float = SLOPE) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(dim, dim), nn.LeakyReLU(slope), nn.Linear(dim, dim))
        self.out = nn.LeakyReLU(slope)

    def forward(self, x: Tensor) -> Tensor:
        return self.out(x + self.body(x))


class LiftingNetwork(nn.Module):
    """Pooled C5 (N, C) → X (N, 17, 3): Linear → 512 → LeakyReLU → ResBlock(512) → Linear → 51.

    The output is not root-centred or normalised (the official code has that commented out); the
    adversarial loss alone teaches it to look like the real, normalised skeletons.
    """

    def __init__(self, in_dim: int, dim: int = 512, slope: float = SLOPE) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_dim, dim),
            nn.LeakyReLU(slope),
            ResBlock(dim, slope),
            nn.Linear(dim, NUM_JOINTS * 3),
        )

    def forward(self, pooled: Tensor) -> Tensor:
        return self.layers(pooled).view(-1, NUM_JOINTS, 3)
