"""DenseCL's settings and catalogue entry, without torch (the method: suite/baselines/densecl.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.pretrain.catalog import METHODS, MethodEntry


@dataclass(frozen=True)
class DenseCLConfig:
    dim: int = 128  # d of q, k, r, t
    hidden_dim: int = 2048  # hidden width of both neck branches
    queue_size: int = 65536  # K of both queues (official; LiftedCL paper's baselines 16384)
    temperature: float = 0.2  # τ
    momentum: float = 0.999  # m, constant
    loss_lambda: float = 0.5  # λ on L_r, 1 − λ on L_q
    init: str = "densecl"  # suite.models.backbone.INITS key of the official trunk


METHODS.add(
    MethodEntry(
        "densecl",
        DenseCLConfig,
        "suite.baselines.densecl:DenseCL",
        summary="DenseCL: global and dense InfoNCE, two queues (Wang et al., CVPR 2021)",
        cost=1.40,  # × MoCo-v2's step time (MethodEntry.cost)
    )
)
