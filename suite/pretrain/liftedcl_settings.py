"""LiftedCL's settings and catalogue entry, without torch (the method: suite/pretrain/liftedcl.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from suite.pretrain.catalog import METHODS, MethodEntry

TERMS = ("inv", "equiv", "lifting")
TABLE_8 = ("inv", "inv+equiv", "lifting", "inv+equiv+lifting")  # the loss combinations of Table 8
# How the shared region of two views is sampled (alignment.py): exact cell centres, or the official
# code's whole feature cells.
ROUNDINGS = ("exact", "official")


@dataclass(frozen=True)
class LiftedCLConfig:
    losses: str = "inv+equiv+lifting"  # "+"-joined subset of TERMS; Table 8 uses TABLE_8
    dim: int = 128  # d of z and of F's channels
    hidden_dim: int = 2048  # hidden width of both projectors
    queue_size: int = 16384  # K of both queues (paper; official code 65536)
    temperature: float = 0.2  # τ
    momentum: float = 0.999  # m of the key encoder
    lambda1: float = 0.5  # λ1 on L_inv + L_equiv
    lambda2: float = 0.5  # λ2 on L_adv
    # S of the aligned S×S maps. None: twice the side of the C5 map, the paper's ratio (16 for the 8×8
    # map of a 256-px view; S = 16 × input / 256, so 4 at the demo's 64 px).
    align_size: int | None = None
    alignment: str = "exact"  # "exact" (default) or "official" whole-cell rounding (alignment.py)
    lifting_dim: int = 512
    discriminator_dim: int = 256
    real_skeletons: str | None = None  # None: sample from the prior each step; else an (M, 17, 3) file
    skeleton_seed: int = 0  # seed of the real-skeleton draws (adversarial.RealSkeletons)
    # D's optimiser (official: SGD lr 0.03 constant, momentum 0.9, wd 1e-4, not scheduled)
    d_lr: float = 0.03
    d_momentum: float = 0.9
    d_weight_decay: float = 1e-4
    init: str = "liftedcl"  # suite.models.backbone.INITS key for the trunk and the projector convs
    variant: str = "paper"

    def __post_init__(self) -> None:
        terms = self.losses.split("+")
        if not terms or any(t not in TERMS for t in terms) or len(set(terms)) != len(terms):
            raise ValueError(f"losses {self.losses!r}: join distinct terms of {TERMS} by '+', e.g. {TABLE_8}")
        if self.alignment not in ROUNDINGS:
            raise ValueError(f"alignment {self.alignment!r}: use one of {ROUNDINGS}")

    @property
    def terms(self) -> frozenset[str]:
        return frozenset(self.losses.split("+"))

    @classmethod
    def official(cls, real_skeletons: str = "norm_joints.pt", **changes) -> LiftedCLConfig:
        """The official code's settings (pretraining-methods.md §1.3-1.7).

        Queues of 65536, the fixed file of real skeletons drawn uniformly, whole-cell alignment.
        Its batch of 64 (not 128) is a profile setting, not the method's. Kept from the paper: the
        16-bone KCS (the code's 15-bone matrix is a typo) and samples without overlap left out of
        L_equiv (the code counts them as zero rows).
        """
        official = cls(queue_size=65536, real_skeletons=real_skeletons, alignment="official")
        return replace(official, variant="official", **changes)


METHODS.add(
    MethodEntry(
        "liftedcl",
        LiftedCLConfig,
        "suite.pretrain.liftedcl:LiftedCL",
        summary="LiftedCL: invariant and equivariant InfoNCE, adversarial lifting (Chen et al., ICLR 2023)",
        cost=1.70,  # × MoCo-v2's step time (MethodEntry.cost)
    )
)
