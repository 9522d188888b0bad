"""MoCo v2's settings and catalogue entry, without torch (the method: suite/baselines/moco.py)."""

from __future__ import annotations

from dataclasses import dataclass

from suite.pretrain.catalog import METHODS, MethodEntry


@dataclass(frozen=True)
class MoCoConfig:
    dim: int = 128  # d of q and k
    queue_size: int = 65536  # K (official; the LiftedCL paper trains its baselines with 16384)
    temperature: float = 0.2  # τ (v2; v1's 0.07 is the code's default)
    momentum: float = 0.999  # m, constant
    init: str = "torchvision"  # suite.models.backbone.INITS key of the official trunk


METHODS.add(
    MethodEntry(
        "moco-v2",
        MoCoConfig,
        "suite.baselines.moco:MoCo",
        summary="MoCo v2: InfoNCE against a queue of momentum keys, MLP head (Chen et al., 2020)",
        cost=1.0,  # the reference of every method's cost (MethodEntry.cost)
    )
)
