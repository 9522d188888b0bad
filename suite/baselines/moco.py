"""MoCo v2: momentum contrast with an MLP head (He et al., CVPR 2020; Chen et al., arXiv 2003.04297).

A query encoder f_q (backbone + MLP head) and a key encoder f_k, a momentum copy of f_q. Keys of
past batches wait in a queue and serve as negatives.

    θ_k ← m·θ_k + (1 − m)·θ_q                        momentum update, before the keys
    q = f_q(x_q),  k+ = f_k(x_k)                     L2-normalised, k+ with shuffle BN
    L = −log exp(q·k+/τ) / (exp(q·k+/τ) + Σ_{k−} exp(q·k−/τ))    InfoNCE (LiftedCL eq. 2)
    enqueue k+, dequeue the oldest keys

The first view is the query and the second the key: MoCo v2 is not symmetrised.

Defaults are the official code run with the v2 flags `--mlp --moco-t 0.2 --aug-plus --cos`
(pretraining-methods.md §2): queue 65536 (the LiftedCL paper's budget is 16384; profiles override
`queue_size`), m 0.999 constant, τ 0.2, dim 128, head Linear(C, C) → ReLU → Linear(C, 128) with
C = the trunk's channels (2048 on ResNet-50), no BN. The trunk is torchvision's ResNet with its
default initialisation: `init = "torchvision"` (suite.models.backbone.INITS).
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.baselines.moco_settings import MoCoConfig
from suite.data.views import ViewBatch
from suite.pretrain.contrastive import Queue, info_nce, momentum_copy, momentum_update
from suite.pretrain.method import BackboneFactory, Method, StepOutput
from suite.training.process import shuffled_forward


class Encoder(nn.Module):
    """f: backbone, global average pooling and the v2 MLP head, L2-normalised output."""

    def __init__(self, trunk: nn.Module, dim: int) -> None:
        super().__init__()
        channels = trunk.num_channels
        self.trunk = trunk
        # torchvision's fc (C → d) with `--mlp`: Linear(C, C) → ReLU → fc, no BN
        self.head = nn.Sequential(
            nn.Linear(channels, channels), nn.ReLU(inplace=True), nn.Linear(channels, dim)
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.head(self.trunk(x).mean(dim=(2, 3))), dim=1)


class MoCo(Method):
    name: ClassVar[str] = "moco-v2"
    shuffle_bn: ClassVar[bool] = True
    Config: ClassVar[type] = MoCoConfig

    def __init__(self, backbone: BackboneFactory, config: MoCoConfig) -> None:
        super().__init__(backbone, config)
        self.encoder_q = Encoder(backbone(), config.dim)  # f_q
        self.encoder_k = momentum_copy(self.encoder_q)  # f_k, θ_k ← θ_q at the start
        self.queue = Queue(config.dim, config.queue_size)  # k− of past batches

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        config = self.config
        x_q, x_k = batch.views
        q = self.encoder_q(x_q)  # q
        with torch.no_grad():
            momentum_update(self.encoder_q, self.encoder_k, config.momentum)  # before the keys
            k = shuffled_forward(self.encoder_k, x_k)  # k+, shuffle BN across processes
        negatives = self.queue.keys.clone().detach()  # k−, (d, K)
        loss = info_nce(q, k, negatives, config.temperature)  # eq. 2
        self.queue.push(k)  # after the loss: this batch's keys are negatives for the next ones
        return StepOutput(loss, {"loss_nce": loss.detach(), "loss": loss.detach()})

    def backbone(self) -> nn.Module:
        return self.encoder_q.trunk
