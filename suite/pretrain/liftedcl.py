"""LiftedCL: lifting contrastive learning for human-centric perception (Chen et al., ICLR 2023).

The encoder E is a backbone f, an invariant projector (→ z), an equivariant projector (→ F) and a
lifting network (→ 3D skeleton X); its key encoder is a momentum copy of E less the lifting network
(keys are never lifted). A discriminator D, trained alternately, tells lifted skeletons from real
ones sampled from a kinematic prior.

    L = λ1 (L_inv + L_equiv) + λ2 L_adv                                            (eq. 1)

    L_inv:   InfoNCE of z_q against its key z_k+ and a queue of past keys z_k-         (eq. 2)
    L_equiv: per-position InfoNCE of the inversely aligned maps F̃_q, F̃_k, with the
             pooled keys of past images as negatives                                 (eq. 3)
    L_adv:   least-squares GAN loss of the lifted skeleton X = E(I)        (eqs. 4-8, adversarial.py)

Paper defaults (appendix C): queues of 16384, τ 0.2, m 0.999, dim 128, 16×16 alignment (for the 8×8
C5 map of a 256-px view: S is twice C5's side unless set, 16 × input / 256), λ1 = λ2 = 0.5. Where
the official code differs (pretraining-methods.md §1, §7) it is an option: LiftedCLConfig.official().
Table 8's ablations are `losses` values.

The trunk comes from the backbone factory as it is: the trainer builds it as
ResNetTrunk(arch, init=config.init) (init "liftedcl": kaiming fan_out, zero-γ last BN of every
block, pretraining-methods.md §1.2); the equivariant projector's convs get the same kaiming init.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.data.views import ViewBatch
from suite.models.backbone import INITS
from suite.models.lifting import LiftingNetwork
from suite.pretrain.adversarial import Discriminator, RealSkeletons, discriminator_loss, generator_loss
from suite.pretrain.alignment import inverse_align
from suite.pretrain.contrastive import Queue, info_nce, momentum_copy, momentum_update
from suite.pretrain.liftedcl_settings import LiftedCLConfig
from suite.pretrain.method import BackboneFactory, Method, StepOutput, Stepper
from suite.training.process import shuffled_forward
from suite.training.schedules import OptimSpec

ALIGN_PER_C5 = 2  # the paper's S = 16 for the 8×8 C5 map of a 256-px view (align_size None)


class Encoder(nn.Module):
    """E: backbone f, invariant projector, equivariant projector and lifting network."""

    def __init__(self, trunk: nn.Module, config: LiftedCLConfig) -> None:
        super().__init__()
        channels = trunk.num_channels
        self.trunk = trunk
        # GAP → Linear → ReLU → Linear (no BN)
        hidden, dim = config.hidden_dim, config.dim
        self.invariant = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim)
        )
        # 1×1 conv → ReLU → 1×1 conv (no BN), same spatial size as C5
        self.equivariant = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, dim, 1)
        )
        self.lifting = LiftingNetwork(channels, config.lifting_dim)
        for conv in self.equivariant:
            if isinstance(conv, nn.Conv2d):
                nn.init.kaiming_normal_(conv.weight, mode=INITS[config.init][0], nonlinearity="relu")

    def z(self, pooled: Tensor) -> Tensor:
        """The invariant feature vector z, L2-normalised."""
        return F.normalize(self.invariant(pooled), dim=1)


def equivariant_loss(
    f_q: Tensor,
    f_k: Tensor,
    geometry_q: Tensor,
    geometry_k: Tensor,
    negatives: Tensor,
    temperature: float,
    size: int = 16,
    rounding: str = "exact",
) -> tuple[Tensor, Tensor]:
    """L_equiv (eq. 3) and the number of samples left out because their views do not overlap.

    F̃_q, F̃_k = (t_q)_g⁻¹(F_q), (t_k)_g⁻¹(F_k) on the shared region (alignment.py); r̃^s, t̃^s are
    their L2-normalised vectors at position s; t̃^s_+ is the same position of the other view; the
    negatives t̃_- (D, K) are pooled key maps of other images. Mean over the S² positions of every
    overlapping sample. Samples whose crop boxes do not overlap have no positive pair and are left
    out of the mean (the official code keeps them as zero rows with loss log(K + 1) and no gradient);
    with none overlapping, L_equiv is a zero that is still connected to F_q.
    """
    r, t, overlap = inverse_align(f_q, f_k.detach(), geometry_q, geometry_k, size, rounding)
    excluded = (~overlap).sum()
    if not bool(overlap.any()):
        return f_q.sum() * 0.0, excluded
    channels = r.shape[1]
    r_s = F.normalize(r[overlap].flatten(2).transpose(1, 2).reshape(-1, channels), dim=1)  # r̃^s
    t_s = F.normalize(t[overlap].flatten(2).transpose(1, 2).reshape(-1, channels), dim=1)  # t̃^s_+
    return info_nce(r_s, t_s, negatives, temperature), excluded


def _drop_key_lifting(module: nn.Module, state: dict, prefix: str, *args) -> None:
    """Checkpoints written before the key encoder lost its lifting network hold a momentum copy of it
    (encoder_k.lifting.*) that no key ever used: it is dropped on load."""
    for key in [key for key in state if key.startswith(f"{prefix}encoder_k.lifting.")]:
        del state[key]


class LiftedCL(Method):
    name: ClassVar[str] = "liftedcl"
    shuffle_bn: ClassVar[bool] = True
    Config: ClassVar[type] = LiftedCLConfig

    def __init__(self, backbone: BackboneFactory, config: LiftedCLConfig) -> None:
        super().__init__(backbone, config)
        self.encoder_q = Encoder(backbone(), config)
        self.encoder_k = momentum_copy(self.encoder_q)  # θ_k ← θ_q at the start
        del self.encoder_k.lifting  # keys are z_k and F_k only: nothing lifts on the key side (_keys)
        self.register_load_state_dict_pre_hook(_drop_key_lifting)
        self.queue_inv = Queue(config.dim, config.queue_size)  # z_k- of past images
        self.queue_equiv = Queue(config.dim, config.queue_size)  # t̃_-: pooled whole key maps F_k
        self.discriminator = Discriminator(config.discriminator_dim)
        self.real = RealSkeletons(config.skeleton_seed, config.real_skeletons)

    # -- the key encoder ---------------------------------------------------------------------------

    def _keys(self, x_k: Tensor) -> tuple[Tensor, Tensor]:
        """z_k (N, d) and F_k (N, d, h, w) of the momentum encoder."""
        c5 = self.encoder_k.trunk(x_k)
        return self.encoder_k.z(c5.mean(dim=(2, 3))), self.encoder_k.equivariant(c5)

    # -- one step --------------------------------------------------------------------------------

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        config, terms = self.config, self.config.terms
        x_q, x_k = batch.views
        g_q, g_k = batch.geometry
        c5_q = self.encoder_q.trunk(x_q)
        pooled_q = c5_q.mean(dim=(2, 3))  # GAP(C5), input of the invariant head and of the lifting net
        losses: dict[str, Tensor] = {}
        logs: dict[str, Tensor] = {}
        extras: dict[str, Tensor] = {}

        if terms & {"inv", "equiv"}:
            with torch.no_grad():
                momentum_update(self.encoder_q, self.encoder_k, config.momentum)  # before the keys
                z_k, f_k = shuffled_forward(self._keys, x_k)  # shuffle BN across processes
            if "inv" in terms:
                z_q = self.encoder_q.z(pooled_q)
                negatives = self.queue_inv.keys.clone().detach()  # z_k-
                losses["inv"] = info_nce(z_q, z_k, negatives, config.temperature)  # eq. 2
            if "equiv" in terms:
                f_q = self.encoder_q.equivariant(c5_q)  # F_q
                align_size = config.align_size or ALIGN_PER_C5 * c5_q.shape[-1]  # S
                negatives = self.queue_equiv.keys.clone().detach()  # pooled F_k of other images
                losses["equiv"], excluded = equivariant_loss(
                    f_q, f_k, g_q, g_k, negatives, config.temperature, align_size, config.alignment
                )  # eq. 3
                logs["equiv_excluded"] = excluded.detach().float()
            # enqueue after the losses: this batch's keys are negatives for the next ones
            if "inv" in terms:
                self.queue_inv.push(z_k)
            if "equiv" in terms:
                self.queue_equiv.push(F.normalize(f_k.mean(dim=(2, 3)), dim=1))

        if "lifting" in terms:
            lifted = self.encoder_q.lifting(pooled_q)  # X = E(I), (N, 17, 3)
            losses["adv"] = generator_loss(self.discriminator(lifted).float())  # eq. 8, encoder side
            extras["lifted"] = lifted.detach().float()  # float32 also under autocast: D's step runs outside

        zero = pooled_q.new_zeros(())  # a term switched off (Table 8)
        l_inv, l_equiv, l_adv = (losses.get(term, zero) for term in ("inv", "equiv", "adv"))
        loss = config.lambda1 * (l_inv + l_equiv) + config.lambda2 * l_adv  # eq. 1
        logs.update({f"loss_{t}": value.detach() for t, value in losses.items()})
        logs["loss"] = loss.detach()
        return StepOutput(loss, logs, extras)

    def extra_steps(self, output: StepOutput, steppers: dict[str, Stepper]) -> dict[str, Tensor]:
        """D's step, after the encoder's: real skeletons y → 1, lifted skeletons (detached) → 0."""
        if "lifting" not in self.config.terms:
            return {}
        lifted = output.extras["lifted"]
        real = self.real.draw(len(lifted), lifted.device).to(lifted.dtype)  # y
        d_real, d_fake = self.discriminator(real), self.discriminator(lifted)
        loss_d = discriminator_loss(d_real, d_fake)
        # the stepper zero_grads first, dropping what the encoder's backward left in D's grads
        steppers["discriminator"].step(loss_d)
        return {"loss_d": loss_d.detach(), "d_real": d_real.detach().mean(), "d_fake": d_fake.detach().mean()}

    def optimizer_groups(self, encoder: OptimSpec) -> dict[str, tuple[list[nn.Parameter], OptimSpec]]:
        """The encoder group E (query side; the key encoder is not trained) and D's, at a constant lr."""
        groups = {"encoder": ([p for p in self.encoder_q.parameters() if p.requires_grad], encoder)}
        if "lifting" in self.config.terms:
            spec = OptimSpec(self.config.d_lr, self.config.d_momentum, self.config.d_weight_decay, "constant")
            groups["discriminator"] = (list(self.discriminator.parameters()), spec)
        return groups

    def backbone(self) -> nn.Module:
        return self.encoder_q.trunk

    @torch.no_grad()
    def lift(self, images: Tensor) -> Tensor:
        """The query encoder's 3D skeletons (N, 17, 3) of normalised images (paper Figures 5 and 8).

        Runs in the module's current mode: call .eval() first for BN's running statistics.
        """
        return self.encoder_q.lifting(self.encoder_q.trunk(images).mean(dim=(2, 3)))
