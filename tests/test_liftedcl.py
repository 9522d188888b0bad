"""LiftedCL: each loss against a hand computation, eq. 1, the ablations, and a full training step."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import partial

import numpy as np
import pytest
import torch

from suite.data.views import ViewBatch
from suite.models.backbone import ResNetTrunk
from suite.pretrain.catalog import METHODS
from suite.pretrain.liftedcl import LiftedCL, LiftedCLConfig, equivariant_loss
from suite.pretrain.liftedcl_settings import TABLE_8
from suite.training.schedules import OptimSpec

TINY = LiftedCLConfig(queue_size=64, hidden_dim=64, align_size=2)  # a 64-px view gives a 2×2 C5 map


def make(config: LiftedCLConfig = TINY, seed: int = 0) -> LiftedCL:
    torch.manual_seed(seed)
    return LiftedCL(partial(ResNetTrunk, "resnet18", "liftedcl"), config)


def geometry(rows) -> torch.Tensor:
    return torch.tensor([[*row, 256.0, 256.0] for row in rows], dtype=torch.float32)


def batch(n: int = 4, size: int = 64, seed: int = 1) -> ViewBatch:
    """Views with hand-checkable geometry: q flipped, k not, same box; the last sample does not overlap."""
    generator = torch.Generator().manual_seed(seed)
    views = (
        torch.randn(n, 3, size, size, generator=generator),
        torch.randn(n, 3, size, size, generator=generator),
    )
    g_q = geometry([(0, 0, 128, 128, 1)] * (n - 1) + [(0, 0, 100, 100, 0)])
    g_k = geometry([(0, 0, 128, 128, 0)] * (n - 1) + [(120, 120, 100, 100, 0)])
    return ViewBatch(views, (g_q, g_k), torch.arange(n))


def nce_by_hand(q: np.ndarray, k: np.ndarray, queue: np.ndarray, tau: float) -> float:
    """Mean over rows of −log exp(q·k/τ) / (exp(q·k/τ) + Σ_j exp(q·queue_j/τ)), in float64."""
    losses = []
    for qi, ki in zip(q.astype(np.float64), k.astype(np.float64), strict=True):
        logits = np.concatenate([[qi @ ki], qi @ queue.astype(np.float64)]) / tau
        losses.append(-(logits[0] - np.log(np.exp(logits).sum())))
    return float(np.mean(losses))


def unit(x: np.ndarray, axis: int) -> np.ndarray:
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


class SGDStepper:
    """The trainer's stepper, minimal: zero_grad, backward, step."""

    def __init__(self, parameters, spec: OptimSpec) -> None:
        self.optimizer = torch.optim.SGD(
            parameters, lr=spec.lr, momentum=spec.momentum, weight_decay=spec.weight_decay
        )

    def step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


def test_registered_with_paper_defaults():
    assert METHODS.load("liftedcl") is LiftedCL
    config = LiftedCLConfig()
    assert (config.queue_size, config.temperature, config.momentum, config.dim) == (16384, 0.2, 0.999, 128)
    assert (config.lambda1, config.lambda2, config.align_size, config.init) == (0.5, 0.5, None, "liftedcl")
    assert config.terms == {"inv", "equiv", "lifting"} and config.alignment == "exact"
    official = LiftedCLConfig.official("bank.npy")
    assert (official.queue_size, official.real_skeletons, official.variant) == (65536, "bank.npy", "official")
    assert LiftedCLConfig.official(queue_size=256).queue_size == 256  # profiles override queue_size
    with pytest.raises(ValueError, match="losses"):
        LiftedCLConfig(losses="inv+adv")


def test_invariant_loss_at_initialisation_is_chance():
    """An untrained encoder cannot tell its positive from negatives encoded the same way: L_inv ≈ log(K + 1).

    Queue filled by the key encoder with keys of other noise images; the two "views" are unrelated
    noise, so the positive is exchangeable with the negatives. (With a queue of random unit vectors
    the initial loss is far below log(K + 1): the untrained z of any two images are highly aligned.)
    """
    k = 512
    model = make(replace(TINY, queue_size=k, losses="inv"), seed=2)
    generator = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for _ in range(k // 64):
            model.queue_inv.push(model._keys(torch.randn(64, 3, 32, 32, generator=generator))[0])
    n = 32
    g = geometry([(0, 0, 32, 32, 0)] * n)
    views = (torch.randn(n, 3, 32, 32, generator=generator), torch.randn(n, 3, 32, 32, generator=generator))
    output = model(ViewBatch(views, (g, g), torch.arange(n)), 0.0)
    assert output.logs["loss_inv"].item() == pytest.approx(math.log(k + 1), abs=0.35)


def test_losses_by_hand_and_eq_1():
    model = make()
    data = batch()
    queue_inv = model.queue_inv.keys.clone().numpy()
    queue_equiv = model.queue_equiv.keys.clone().numpy()
    output = model(data, 0.0)
    logs = output.logs
    tau = TINY.temperature

    # the same forward, by hand: query and (momentum-updated) key encoders in train mode
    with torch.no_grad():
        c5_q = model.encoder_q.trunk(data.views[0])
        c5_k = model.encoder_k.trunk(data.views[1])
        z_q = model.encoder_q.z(c5_q.mean(dim=(2, 3))).numpy()
        z_k = model.encoder_k.z(c5_k.mean(dim=(2, 3))).numpy()
        f_q = model.encoder_q.equivariant(c5_q).numpy()
        f_k = model.encoder_k.equivariant(c5_k).numpy()
        lifted = model.encoder_q.lifting(c5_q.mean(dim=(2, 3)))
        d_fake = model.discriminator(lifted).numpy().astype(np.float64)

    # eq. 2
    assert logs["loss_inv"].item() == pytest.approx(nce_by_hand(z_q, z_k, queue_inv, tau), rel=1e-4)
    # eq. 3: same box, q flipped → aligned F̃_q is F_q mirrored; the 2×2 map sampled at its cell centres
    # is the map itself; the last sample has no overlap and is left out
    r = unit(f_q[:-1, :, :, ::-1], axis=1).transpose(0, 2, 3, 1).reshape(-1, f_q.shape[1])
    t = unit(f_k[:-1], axis=1).transpose(0, 2, 3, 1).reshape(-1, f_k.shape[1])
    assert logs["loss_equiv"].item() == pytest.approx(nce_by_hand(r, t, queue_equiv, tau), rel=1e-4)
    assert logs["equiv_excluded"].item() == 1
    # eq. 8, encoder side
    assert logs["loss_adv"].item() == pytest.approx(np.mean((d_fake - 1) ** 2), rel=1e-4)
    torch.testing.assert_close(output.extras["lifted"], lifted)
    # eq. 1
    expected = 0.5 * (logs["loss_inv"] + logs["loss_equiv"]) + 0.5 * logs["loss_adv"]
    torch.testing.assert_close(output.loss.detach(), expected)
    torch.testing.assert_close(logs["loss"], expected)
    # the keys went into the queues after the losses
    torch.testing.assert_close(model.queue_inv.keys[:, : len(z_k)].T.numpy(), z_k, rtol=1e-5, atol=1e-6)
    pooled = unit(f_k.mean(axis=(2, 3)), axis=1)
    torch.testing.assert_close(model.queue_equiv.keys[:, : len(z_k)].T.numpy(), pooled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("size", "grid"), [(64, 4), (128, 8)])
def test_alignment_grid_follows_the_input_as_the_papers_16_at_256_px(size, grid):
    """align_size None: S = 16 × input / 256 (twice C5's side), the same loss as that S set by hand."""
    derived = make(replace(TINY, align_size=None))(batch(size=size), 0.0).logs["loss_equiv"]
    explicit = make(replace(TINY, align_size=grid))(batch(size=size), 0.0).logs["loss_equiv"]
    other = make(replace(TINY, align_size=2 * grid))(batch(size=size), 0.0).logs["loss_equiv"]
    assert derived.item() == explicit.item() and derived.item() != other.item()


def test_equivariant_loss_by_hand_on_tiny_maps():
    generator = torch.Generator().manual_seed(0)
    f_q = torch.randn(3, 4, 4, 4, generator=generator, requires_grad=True)
    f_k = torch.randn(3, 4, 4, 4, generator=generator)
    queue = torch.nn.functional.normalize(torch.randn(4, 10, generator=generator), dim=0)
    # sample 0: k flipped; sample 1: k's box is q's box shifted right by half its width (32 px of 64,
    # two cells), so the shared region is q's right half = k's left half; sample 2: no overlap
    g_q = geometry([(0, 0, 64, 64, 0), (0, 0, 64, 64, 0), (0, 0, 64, 64, 0)])
    g_k = geometry([(0, 0, 64, 64, 1), (0, 32, 64, 64, 0), (100, 100, 10, 10, 0)])
    loss, excluded = equivariant_loss(f_q, f_k, g_q, g_k, queue, 0.2, size=4)
    assert excluded.item() == 1
    # hand: sample 1's shared region is columns 32..64 of q = columns 0..32 of k; at size 4 the
    # samples fall at q columns 2.25, 2.75, 3.25, 3.75 (cell units, 0.5 = first centre), i.e. halfway
    # mixes of whole cells that bilinear interpolation gives as 0.75/0.25 weights
    q, k = f_q.detach().numpy(), f_k.numpy()

    def columns(f, start):  # bilinear in cell units, border-clamped
        out = []
        for c in start + np.arange(4) * 0.5:
            x = np.clip(c - 0.5, 0, 3)
            lo = int(np.floor(x))
            hi = min(lo + 1, 3)
            out.append((1 - (x - lo)) * f[..., lo] + (x - lo) * f[..., hi])
        return np.stack(out, axis=-1)

    rows = [(q[0], k[0, :, :, ::-1]), (columns(q[1], 2.25), columns(k[1], 0.25))]
    r = np.concatenate([unit(a, 0).reshape(4, -1).T for a, _ in rows])
    t = np.concatenate([unit(b, 0).reshape(4, -1).T for _, b in rows])
    assert loss.item() == pytest.approx(nce_by_hand(r, t, queue.numpy(), 0.2), rel=1e-5)
    loss.backward()
    assert f_q.grad[:2].abs().sum() > 0 and f_q.grad[2].abs().sum() == 0


def test_equivariant_loss_without_any_overlap_is_a_connected_zero():
    f_q = torch.randn(2, 4, 2, 2, requires_grad=True)
    g_q = geometry([(0, 0, 10, 10, 0)] * 2)
    g_k = geometry([(50, 50, 10, 10, 1)] * 2)
    loss, excluded = equivariant_loss(f_q, torch.randn(2, 4, 2, 2), g_q, g_k, torch.randn(4, 8), 0.2)
    assert loss.item() == 0 and excluded.item() == 2
    loss.backward()
    assert torch.equal(f_q.grad, torch.zeros_like(f_q))


@pytest.mark.parametrize("losses", TABLE_8)
def test_ablations_switch_terms_off(losses):
    model = make(replace(TINY, losses=losses))
    output = model(batch(), 0.0)
    terms = {"inv": "loss_inv", "equiv": "loss_equiv", "lifting": "loss_adv"}
    present = {terms[t] for t in losses.split("+")}
    assert present == set(output.logs) & set(terms.values())
    logs = output.logs
    l_inv, l_equiv, l_adv = (
        logs.get(name, torch.tensor(0.0)) for name in ("loss_inv", "loss_equiv", "loss_adv")
    )
    expected = 0.5 * (l_inv + l_equiv) + 0.5 * l_adv
    torch.testing.assert_close(output.loss.detach(), expected)
    groups = model.optimizer_groups(OptimSpec())
    assert ("discriminator" in groups) == ("lifting" in losses)
    if "lifting" not in losses:
        assert model.extra_steps(output, {}) == {}
    contrastive = bool({"inv", "equiv"} & set(losses.split("+")))
    assert int(model.queue_inv.pointer) == (4 if "inv" in losses else 0)
    assert int(model.queue_equiv.pointer) == (4 if "equiv" in losses else 0)
    assert contrastive or "lifted" in output.extras


def test_full_step_updates_discriminator_only_in_extra_steps():
    model = make()
    groups = model.optimizer_groups(OptimSpec())
    encoder_params, encoder_spec = groups["encoder"]
    d_params, d_spec = groups["discriminator"]
    assert d_spec == OptimSpec(lr=0.03, momentum=0.9, weight_decay=1e-4, schedule="constant")
    ids = {id(p) for p in encoder_params}
    assert not ids & {id(p) for p in model.discriminator.parameters()}
    assert not ids & {id(p) for p in model.encoder_k.parameters()}
    assert ids == {id(p) for p in model.encoder_q.parameters()}
    steppers = {
        "encoder": SGDStepper(encoder_params, encoder_spec),
        "discriminator": SGDStepper(d_params, d_spec),
    }

    def snapshot(module):
        return [p.detach().clone() for p in module.parameters()]

    d_before, q_before = snapshot(model.discriminator), snapshot(model.encoder_q)
    k_before = snapshot(model.encoder_k)
    output = model(batch(), 0.0)
    steppers["encoder"].step(output.loss)
    assert all(torch.equal(a, b) for a, b in zip(d_before, snapshot(model.discriminator), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(q_before, snapshot(model.encoder_q), strict=True))
    logs = model.extra_steps(output, steppers)
    assert set(logs) == {"loss_d", "d_real", "d_fake"}
    assert logs["loss_d"].item() > 0 and torch.isfinite(logs["d_real"]) and torch.isfinite(logs["d_fake"])
    assert any(not torch.equal(a, b) for a, b in zip(d_before, snapshot(model.discriminator), strict=True))
    assert int(model.real.step) == 1
    # the key encoder moved towards the query encoder's weights of the step before (m = 0.999)
    k_after = snapshot(model.encoder_k)
    torch.testing.assert_close(k_after, k_before)  # θ_k = θ_q at start, so the first update keeps θ_k
    model(batch(seed=2), 0.0)
    q_now = dict(model.encoder_q.named_parameters())  # the key encoder has no lifting network
    for k_old, (name, k_new) in zip(k_after, model.encoder_k.named_parameters(), strict=True):
        torch.testing.assert_close(k_new, 0.999 * k_old + 0.001 * q_now[name].detach())
    assert model.backbone() is model.encoder_q.trunk


def test_lift_gives_the_query_encoders_skeletons():
    model = make().eval()
    images = torch.randn(3, 3, 64, 64)
    skeletons = model.lift(images)
    assert skeletons.shape == (3, 17, 3)
    with torch.no_grad():
        expected = model.encoder_q.lifting(model.encoder_q.trunk(images).mean(dim=(2, 3)))
    torch.testing.assert_close(skeletons, expected)


def test_key_encoder_has_no_lifting_network_and_old_checkpoints_still_load():
    model = make()
    assert not hasattr(model.encoder_k, "lifting")
    assert not any(key.startswith("encoder_k.lifting.") for key in model.state_dict())
    old = dict(model.state_dict())  # as written before: with a momentum copy of the lifting network
    old.update({f"encoder_k.lifting.{k}": v.clone() for k, v in model.encoder_q.lifting.state_dict().items()})
    other = make(seed=1)
    other.load_state_dict(old)  # strict: the old keys are dropped, nothing is missing
    for key, value in model.state_dict().items():
        assert torch.equal(other.state_dict()[key], value), key
