"""DenseCL: dense contrastive learning (Wang et al., CVPR 2021).

MoCo v2 with a second, dense projection head and a second queue. The query encoder is a backbone
f and a neck with a global branch (→ q) and a dense branch (→ S² vectors r); the key encoder is
its momentum copy (→ k, and t on the key view's grid).

    θ_k ← m·θ_k + (1 − m)·θ_q                       momentum update, before the keys
    L_q = −log exp(q·k+/τ) / (exp(q·k+/τ) + Σ_{k−} exp(q·k−/τ))      global InfoNCE, queue 1
    j*(i) = argmax_j cos(f_q(x_q)_i, f_k(x_k)_j)    correspondence from the BACKBONE C5 maps
    L_r = 1/S² Σ_i −log exp(r_i·t_{j*(i)}/τ) / (exp(r_i·t_{j*(i)}/τ) + Σ_{t−} exp(r_i·t−/τ))
          with t− the average-pooled dense keys of past images, queue 2
    L = (1 − λ)·L_q + λ·L_r

Defaults are the official config `densecl_imagenet_200ep.py` (pretraining-methods.md §4): two
queues of 65536 (each with its own pointer; the LiftedCL paper's budget is 16384, profiles override
`queue_size`), m 0.999 constant, τ 0.2, λ 0.5, dim 128, hidden 2048. The trunk is mmcv's ResNet:
Kaiming fan_in, no zero-γ, `init = "densecl"` (suite.models.backbone.INITS). The neck's Linear
layers get Kaiming fan_in (mmcv's kaiming_init, bias 0); its convs keep PyTorch's default init.
The λ warm-up hook of the official code is off by default and left out.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.baselines.densecl_settings import DenseCLConfig
from suite.data.views import ViewBatch
from suite.pretrain.contrastive import Queue, info_nce, momentum_copy, momentum_update
from suite.pretrain.method import BackboneFactory, Method, StepOutput
from suite.training.process import shuffled_forward


class Neck(nn.Module):
    """DenseCLNeck: global branch (GAP → MLP) and dense branch (1×1 conv MLP), no BN."""

    def __init__(self, channels: int, hidden: int, dim: int) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, dim))
        self.mlp2 = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, dim, 1)
        )
        for linear in self.mlp:
            if isinstance(linear, nn.Linear):
                nn.init.kaiming_normal_(linear.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(linear.bias)

    def forward(self, c5: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Global vector (N, d), dense grid (N, d, S²) and its average pool (N, d), all L2-normalised."""
        grid = self.mlp2(c5).flatten(2)
        return (
            F.normalize(self.mlp(c5.mean(dim=(2, 3))), dim=1),
            F.normalize(grid, dim=1),
            F.normalize(grid.mean(dim=2), dim=1),
        )


class Encoder(nn.Module):
    """Backbone f and neck; forward gives (global, dense grid, pooled dense, normalised C5 (N, C, S²))."""

    def __init__(self, trunk: nn.Module, config: DenseCLConfig) -> None:
        super().__init__()
        channels = trunk.num_channels
        self.trunk = trunk
        self.neck = Neck(channels, config.hidden_dim, config.dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        c5 = self.trunk(x)
        return (*self.neck(c5), F.normalize(c5.flatten(2), dim=1))


def correspondence(backbone_q: Tensor, backbone_k: Tensor) -> Tensor:
    """j*(i) = argmax_j cos(q_b,i, k_b,j): (N, S²) key location of each query location.

    backbone_q, backbone_k: (N, C, S²) L2-normalised C5 vectors of the two views.
    """
    similarity = backbone_q.transpose(1, 2) @ backbone_k  # (N, S²_q, S²_k)
    return similarity.argmax(dim=2)


def dense_loss(r: Tensor, t: Tensor, match: Tensor, negatives: Tensor, temperature: float) -> Tensor:
    """L_r: InfoNCE of every query location r_i against t_{j*(i)}, negatives t− shared by all rows.

    r, t: (N, d, S²) normalised dense grids; match: (N, S²) j*; negatives: (d, K).
    """
    t_matched = torch.gather(t, 2, match.unsqueeze(1).expand(-1, t.shape[1], -1))  # t_{j*(i)}
    rows = r.transpose(1, 2).reshape(-1, r.shape[1])
    positives = t_matched.transpose(1, 2).reshape(-1, t.shape[1])
    return info_nce(rows, positives, negatives, temperature)


class DenseCL(Method):
    name: ClassVar[str] = "densecl"
    shuffle_bn: ClassVar[bool] = True
    Config: ClassVar[type] = DenseCLConfig

    def __init__(self, backbone: BackboneFactory, config: DenseCLConfig) -> None:
        super().__init__(backbone, config)
        self.encoder_q = Encoder(backbone(), config)
        self.encoder_k = momentum_copy(self.encoder_q)  # θ_k ← θ_q at the start
        self.queue = Queue(config.dim, config.queue_size)  # k− of past images
        self.queue2 = Queue(config.dim, config.queue_size)  # t−: pooled dense keys of past images

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        config = self.config
        x_q, x_k = batch.views
        q, r, _, q_b = self.encoder_q(x_q)  # the pooled dense query is not used
        with torch.no_grad():
            momentum_update(self.encoder_q, self.encoder_k, config.momentum)  # before the keys
            k, t, t_pooled, k_b = shuffled_forward(self.encoder_k, x_k)  # shuffle BN, un-shuffled
            match = correspondence(q_b.detach(), k_b)  # j*(i), from the backbone features
        loss_global = info_nce(q, k, self.queue.keys.clone().detach(), config.temperature)  # L_q
        loss_dense = dense_loss(r, t, match, self.queue2.keys.clone().detach(), config.temperature)  # L_r
        loss = (1 - config.loss_lambda) * loss_global + config.loss_lambda * loss_dense
        # enqueue after the losses, each queue with its own pointer
        self.queue.push(k)
        self.queue2.push(t_pooled)
        logs = {"loss_global": loss_global.detach(), "loss_dense": loss_dense.detach(), "loss": loss.detach()}
        return StepOutput(loss, logs)

    def backbone(self) -> nn.Module:
        return self.encoder_q.trunk
