"""PixPro's settings and catalogue entry, without torch (the method: suite/baselines/pixpro.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.pretrain.catalog import METHODS, MethodEntry


@dataclass(frozen=True)
class PixProConfig:
    dim: int = 256  # channels of x, x', y
    hidden_dim: int = 4096  # hidden width of the projector
    momentum: float = 0.99  # m_0, the momentum at the start of training
    gamma: float = 2.0  # γ, sharpness of the similarity (`--pixpro-p 2`; the argparse default is 1)
    pos_ratio: float = 0.7  # T, the distance threshold in bins (`--pixpro-pos-ratio`)
    init: str = "pixpro"  # suite.models.backbone.INITS key of the official trunk


METHODS.add(
    MethodEntry(
        "pixpro",
        PixProConfig,
        "suite.baselines.pixpro:PixPro",
        summary="PixPro: pixel-to-propagation consistency, no negatives (Xie et al., CVPR 2021)",
        cost=2.04,  # × MoCo-v2's step time (MethodEntry.cost)
    )
)
