"""Lifting with adversarial learning (LiftedCL §3.3, eqs. 4-8, Figure 4).

The lifting network turns the backbone's pooled C5 vector into a 3D skeleton X (17 joints × 3;
suite/models/lifting.py, shared with fine-tuning's 3D prior); the discriminator D tells lifted
skeletons from real ones through a pose branch and a KCS branch (Ψ = BᵀB of the bone vectors, Wandt &
Rosenhahn 2019). Layer sizes as the official code (pretraining-methods.md §1.2, §1.6): no BN,
LeakyReLU 0.2, PyTorch default init, raw score (no sigmoid). Deviation: the KCS layer uses all 16
bones of the 17-joint tree (skeleton.bone_matrix()), not the official 15-row matrix with its "left
ankle − belly" typo (§1.7), so Ψ is 16×16.

Least squares (LSGAN). The paper's eq. 8 reads

    L_adv = E_y[D(y)²] + E_I[(D(E(I)) − 1)²].

Its second term is the encoder's loss: lifted skeletons are pushed towards the score 1, as the
official generator loss mean((D(fake) − 1)²). The first term does not depend on E, so it drops out
of the encoder's gradient; read as the discriminator's objective it would label real skeletons 0,
the same side the encoder aims for, and D would have nothing to oppose. The official code, which we
follow, labels real → 1 and lifted → 0:

    encoder:        L_adv = mean((D(X) − 1)²)                               (eq. 8, 2nd term)
    discriminator:  L_D   = mean(D(X.detach())²) + mean((D(y) − 1)²)        (no ½, as the code)

so eq. 8's E_y[D(y)²] corresponds to the code's mean(D(fake)²) with fake in place of y.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from suite.data.kinematic_prior import sample_skeletons
from suite.data.skeleton import NUM_BONES, NUM_JOINTS, bone_matrix
from suite.errors import SuiteError
from suite.models.lifting import SLOPE, ResBlock
from suite.training.process import rank


class KCS(nn.Module):
    """Kinematic chain space: X (N, 17, 3) → Ψ = BᵀB (N, 16, 16) with B = XC (eqs. 4-7).

    Batched, X holds joints as rows, so the bones are Cᵀ X (N, 16, 3) and Ψ = (CᵀX)(CᵀX)ᵀ;
    diag(Ψ) are the squared bone lengths l_k².
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("C", torch.from_numpy(bone_matrix()), persistent=False)  # (17, 16)

    def forward(self, joints: Tensor) -> Tensor:
        bones = torch.einsum("jb,njd->nbd", self.C.to(joints.dtype), joints)  # B, one bone per row
        return bones @ bones.transpose(1, 2)  # Ψ = BᵀB


class Discriminator(nn.Module):
    """D(X): pose branch and KCS branch, concatenated, to one raw score per skeleton (N,).

    pose: 51 → Linear 256 → LeakyReLU → ResBlock(256);
    KCS:  Ψ 16×16 = 256 → Linear 256 → LeakyReLU → ResBlock(256);
    head: concat 512 → Linear 128 → LeakyReLU → Linear 1.
    """

    def __init__(self, dim: int = 256, slope: float = SLOPE) -> None:
        super().__init__()
        self.kcs = KCS()
        self.pose = nn.Sequential(nn.Linear(NUM_JOINTS * 3, dim), nn.LeakyReLU(slope), ResBlock(dim, slope))
        self.kcs_branch = nn.Sequential(
            nn.Linear(NUM_BONES * NUM_BONES, dim), nn.LeakyReLU(slope), ResBlock(dim, slope)
        )
        self.head = nn.Sequential(nn.Linear(2 * dim, 128), nn.LeakyReLU(slope), nn.Linear(128, 1))

    def forward(self, joints: Tensor) -> Tensor:
        psi = self.kcs(joints).flatten(1)
        features = torch.cat([self.pose(joints.flatten(1)), self.kcs_branch(psi)], dim=1)
        return self.head(features).squeeze(1)


def generator_loss(d_fake: Tensor) -> Tensor:
    """The encoder's L_adv = mean((D(E(I)) − 1)²): lifted skeletons should score as real (1)."""
    return ((d_fake - 1.0) ** 2).mean()


def discriminator_loss(d_real: Tensor, d_fake: Tensor) -> Tensor:
    """D's loss: real skeletons → 1, lifted (detached) ones → 0, mean(D(fake)²) + mean((D(y) − 1)²)."""
    return (d_fake**2).mean() + ((d_real - 1.0) ** 2).mean()


class RealSkeletons(nn.Module):
    """The real 3D skeletons y of eq. 8, drawn fresh every step, reproducibly and resumably.

    Default (paper, appendix B): n new skeletons from the kinematic prior, normalised, one per image.
    Official variant: n drawn uniformly with replacement from a fixed (M, 17, 3) array (the official
    norm_joints.pt holds 5000), loaded from a .npy or .pt file.

    Randomness: step k of process r draws from numpy's generator seeded with (seed, k, r). The step
    counter is a buffer, so it is in the method's state dict and a resumed run continues the same
    sequence; no global RNG is touched, so the draws do not depend on anything else in the step.
    """

    def __init__(self, seed: int = 0, path: str | None = None) -> None:
        super().__init__()
        self.seed = seed
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        fixed = None if path is None else load_skeletons(path)
        self.register_buffer("fixed", fixed, persistent=False)  # moves with .to(device), not saved

    @torch.no_grad()
    def draw(self, n: int, device: torch.device | None = None) -> Tensor:
        """(n, 17, 3) float32 real skeletons for this step; advances the step counter."""
        rng = np.random.default_rng([self.seed, int(self.step), rank()])
        self.step += 1
        if self.fixed is not None:
            index = torch.from_numpy(rng.integers(0, len(self.fixed), size=n)).to(self.fixed.device)
            return self.fixed[index].to(device)
        return torch.from_numpy(sample_skeletons(n, rng=rng, normalize=True)).to(device)


def load_skeletons(path: str | Path) -> Tensor:
    """A fixed set of real skeletons (M, 17, 3) float32 from a .npy or .pt file."""
    path = Path(path)
    fix = "give a .npy or .pt file holding an (M, 17, 3) float array, e.g. the official norm_joints.pt"
    if not path.is_file():
        raise SuiteError("the real-skeleton file does not exist", path, fix)
    try:
        if path.suffix == ".npy":
            data = np.load(path)
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SuiteError(f"cannot read the real-skeleton file ({error})", path, fix) from error
    skeletons = torch.as_tensor(np.asarray(data), dtype=torch.float32)
    if skeletons.ndim != 3 or skeletons.shape[1:] != (NUM_JOINTS, 3) or len(skeletons) == 0:
        raise SuiteError(f"real skeletons have shape {tuple(skeletons.shape)}, not (M, 17, 3)", path, fix)
    if not torch.isfinite(skeletons).all():
        raise SuiteError("real skeletons contain NaN or infinite values", path, fix)
    return skeletons
