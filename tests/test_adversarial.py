"""Lifting network, KCS layer, discriminator, least-squares losses and the real-skeleton source."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.data.kinematic_prior import sample_skeletons
from suite.data.skeleton import BONES, bone_lengths
from suite.errors import SuiteError
from suite.models.lifting import LiftingNetwork
from suite.pretrain.adversarial import (
    KCS,
    Discriminator,
    RealSkeletons,
    discriminator_loss,
    generator_loss,
    load_skeletons,
)


def test_kcs_diagonal_is_squared_bone_lengths():
    joints = sample_skeletons(5, seed=1, normalize=False)
    psi = KCS()(torch.from_numpy(joints)).numpy()
    diagonal = np.diagonal(psi, axis1=1, axis2=2)
    np.testing.assert_allclose(diagonal, bone_lengths(joints) ** 2, rtol=1e-4)


def test_kcs_equals_bone_loop():
    joints = torch.randn(3, 17, 3, dtype=torch.float64)
    psi = KCS()(joints)
    for n in range(3):
        b = torch.stack([joints[n, child] - joints[n, parent] for parent, child in BONES], dim=1)  # (3, 16)
        torch.testing.assert_close(psi[n], b.T @ b)


def test_least_squares_losses_by_hand():
    d_fake = torch.tensor([0.5, -1.0, 2.0])
    d_real = torch.tensor([1.5, 0.0])
    # encoder: lifted skeletons → 1
    assert generator_loss(d_fake).item() == pytest.approx(((0.5 - 1) ** 2 + (-1 - 1) ** 2 + (2 - 1) ** 2) / 3)
    # discriminator: lifted → 0, real → 1
    fake_term = (0.25 + 1.0 + 4.0) / 3
    real_term = ((1.5 - 1) ** 2 + (0 - 1) ** 2) / 2
    assert discriminator_loss(d_real, d_fake).item() == pytest.approx(fake_term + real_term)


def test_discriminator_shapes_and_kcs_input():
    discriminator = Discriminator()
    assert discriminator.kcs_branch[0].in_features == 16 * 16
    assert discriminator.pose[0].in_features == 51
    assert discriminator.head[0].in_features == 512 and discriminator.head[-1].out_features == 1
    joints = torch.randn(4, 17, 3)
    assert discriminator.kcs(joints).shape == (4, 16, 16)
    assert discriminator(joints).shape == (4,)


def test_kcs_depends_on_bones_only():
    """Ψ is unchanged by translating the skeleton (bones are joint differences)."""
    joints = torch.randn(2, 17, 3)
    shifted = joints + torch.tensor([0.3, -0.2, 0.1])
    torch.testing.assert_close(KCS()(joints), KCS()(shifted))


def test_lifting_network_layout():
    lifting = LiftingNetwork(in_dim=64)
    out = lifting(torch.randn(5, 64))
    assert out.shape == (5, 17, 3)
    linears = [m for m in lifting.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (64, 512),
        (512, 512),
        (512, 512),
        (512, 51),
    ]


def test_real_skeletons_are_reproducible_and_resumable():
    source = RealSkeletons(seed=3)
    first, second = source.draw(4), source.draw(4)
    assert first.shape == (4, 17, 3) and not torch.equal(first, second)
    np.testing.assert_allclose(first.flatten(1).norm(dim=1).numpy(), 1.0, rtol=1e-5)  # normalised
    assert int(source.step) == 2
    resumed = RealSkeletons(seed=3)
    resumed.load_state_dict({"step": torch.tensor(1)})
    torch.testing.assert_close(resumed.draw(4), second)


def test_real_skeletons_from_a_fixed_file(tmp_path):
    bank = np.random.default_rng(0).normal(size=(7, 17, 3)).astype(np.float32)
    np.save(tmp_path / "bank.npy", bank)
    torch.save(torch.from_numpy(bank), tmp_path / "bank.pt")
    for name in ("bank.npy", "bank.pt"):
        source = RealSkeletons(seed=0, path=str(tmp_path / name))
        drawn = source.draw(20).numpy()
        assert drawn.shape == (20, 17, 3)
        # every draw is one of the 7 stored skeletons
        matches = (np.abs(drawn[:, None] - bank[None]).max(axis=(2, 3)) == 0).any(axis=1)
        assert matches.all()
        assert "fixed" not in source.state_dict()  # the file is not copied into checkpoints


def test_bad_skeleton_files_fail_clearly(tmp_path):
    with pytest.raises(SuiteError, match="does not exist"):
        load_skeletons(tmp_path / "missing.pt")
    np.save(tmp_path / "flat.npy", np.zeros((5, 51), np.float32))
    with pytest.raises(SuiteError, match=r"not \(M, 17, 3\)"):
        load_skeletons(tmp_path / "flat.npy")
