"""PixPro: pixel-to-propagation consistency (Xie et al., CVPR 2021).

An online encoder (backbone + projector → x, a 256-d map) with a pixel propagation module, and a
momentum encoder (→ x'). Both views go through both encoders; there are no negatives.

    m_t = 1 − (1 − m_0)·(cos(π·t/T) + 1)/2          momentum, 0.99 → 1 over training
    θ' ← m_t·θ' + (1 − m_t)·θ                         before the targets
    s(x_i, x_j) = max(cos(x_i, x_j), 0)^γ              similarity within one view
    y_i = Σ_j s(x_i, x_j)·g(x_j)                       propagation (g: value transform; sum not normalised)
    A(i, j) = 1 if dist(i, j) < T                      positives: pixels of view 1 and view 2 whose
                                                       original-image centres are closer than T bins
    L_PixPro = −cos(y_i, x'_j) − cos(x'_i, y_j) over A  (−2·mean over positives, both directions)

Defaults are the released scripts `tools/pixpro_base_r50_{100,400}ep.sh` and the official code
(pretraining-methods.md §3): m_0 0.99, γ 2, T 0.7, projector Conv1×1 C→4096 → BN → ReLU → Conv1×1
→ 256, value transform g one Conv1×1 256→256 (`--pixpro-transform-layer 1`), whose output is
L2-normalised at every pixel before the sum (as the code does). The instance branch is off in the
released scripts (`--pixpro-ins-loss-weight 0`) and its models were never released: it is left out.
SyncBN instead of shuffle BN; the trunk is the repo's ResNet: Kaiming fan_out with zero-γ last BN
of every block, `init = "pixpro"` (suite.models.backbone.INITS). The scripts' LARS optimiser
(lr 1.0 × batch/256, wd 1e-5, 5 warm-up epochs) and batch 1024 are the profile's business.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.baselines.pixpro_settings import PixProConfig
from suite.data.views import ViewBatch
from suite.pretrain.contrastive import momentum_copy, momentum_update
from suite.pretrain.method import BackboneFactory, Method, StepOutput


def momentum_at(progress: float, m0: float) -> float:
    """m_t = 1 − (1 − m_0)·(cos(π·t/T) + 1)/2 at progress t/T."""
    return 1.0 - (1.0 - m0) * (math.cos(math.pi * progress) + 1.0) / 2.0


def projector(channels: int, hidden: int, dim: int) -> nn.Sequential:
    """MLP2d: Conv1×1 C → hidden (bias) → BN → ReLU → Conv1×1 hidden → dim (bias), PyTorch init."""
    return nn.Sequential(
        nn.Conv2d(channels, hidden, 1),
        nn.BatchNorm2d(hidden),
        nn.ReLU(inplace=True),
        nn.Conv2d(hidden, dim, 1),
    )


def propagate(x: Tensor, value_transform: nn.Module, gamma: float) -> Tensor:
    """y = PPM(x), L2-normalised: y_i = Σ_j max(cos(x_i, x_j), 0)^γ · g(x_j)/‖g(x_j)‖.

    x: (N, C, H, W); the sum runs over the H·W pixels of the same view and is not normalised.
    """
    n, c, h, w = x.shape
    values = F.normalize(value_transform(x), dim=1).flatten(2)  # g(x_j), (N, C, HW)
    x_unit = F.normalize(x, dim=1).flatten(2)
    similarity = (x_unit.transpose(1, 2) @ x_unit).clamp(min=0)  # max(cos(x_i, x_j), 0), (N, HW_i, HW_j)
    if gamma < 1:
        similarity = similarity + 1e-6  # as the code: 0^γ has no gradient below γ = 1
    similarity = similarity**gamma  # s(x_i, x_j)
    y = values @ similarity.transpose(1, 2)  # y_i = Σ_j s_ij g(x_j), (N, C, HW)
    return F.normalize(y.view(n, c, h, w), dim=1)


def normalised_box(geometry: Tensor) -> Tensor:
    """(N, 4) [x_ul, y_ul, x_lr, y_lr] of each crop in [0, 1] image coordinates, x_ul/x_lr swapped if flipped.

    x by the image width and y by its height: x_ul = left/(W − 1), x_lr = (left + width − 1)/(W − 1).
    geometry rows are ViewBatch's [top, left, height, width, flipped, image_height, image_width].
    """
    top, left, height, width, flipped, image_h, image_w = geometry.double().unbind(dim=1)
    x_ul, x_lr = left / (image_w - 1), (left + width - 1) / (image_w - 1)
    y_ul, y_lr = top / (image_h - 1), (top + height - 1) / (image_h - 1)
    flip = flipped > 0.5
    x_ul, x_lr = torch.where(flip, x_lr, x_ul), torch.where(flip, x_ul, x_lr)
    return torch.stack([x_ul, y_ul, x_lr, y_lr], dim=1)


def positive_mask(
    geometry_1: Tensor, geometry_2: Tensor, height: int, width: int, threshold: float
) -> Tensor:
    """A: (N, HW_1, HW_2), pixel i of view 1 and j of view 2 positive if dist(i, j) < threshold.

    Centres of the height × width bins of each view in normalised image coordinates; the distance is
    divided by the larger of the two views' bin diagonals (PixPro issue #1). Pixels in row-major order.
    """
    centres, diagonals = [], []
    for box in (normalised_box(geometry_1), normalised_box(geometry_2)):
        bin_w = (box[:, 2] - box[:, 0]) / width  # negative for a flipped view
        bin_h = (box[:, 3] - box[:, 1]) / height
        u = torch.arange(width, dtype=box.dtype, device=box.device) + 0.5
        v = torch.arange(height, dtype=box.dtype, device=box.device) + 0.5
        centre_x = (u[None, None, :] * bin_w[:, None, None] + box[:, 0, None, None]).expand(-1, height, -1)
        centre_y = (v[None, :, None] * bin_h[:, None, None] + box[:, 1, None, None]).expand(-1, -1, width)
        centres.append(torch.stack([centre_x, centre_y], dim=-1).reshape(len(box), -1, 2))
        diagonals.append(torch.sqrt(bin_w**2 + bin_h**2))
    offsets = centres[0][:, :, None, :] - centres[1][:, None, :, :]  # c_i − c_j, (N, HW_1, HW_2, 2)
    distance = offsets.pow(2).sum(dim=-1).sqrt() / torch.maximum(*diagonals)[:, None, None]
    return distance < threshold


def pixel_loss(y: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """−2·Σ_{A(i,j)} cos(y_i, x'_j) / (|A| + 1e-6) per image, averaged over the batch.

    y: (N, C, H, W) propagated view-1 map; target: (N, C, H, W) normalised momentum map of view 2;
    mask: (N, HW_1, HW_2) positives.
    """
    cosine = y.float().flatten(2).transpose(1, 2) @ target.float().flatten(2)  # (N, HW_1, HW_2)
    mask = mask.to(cosine.dtype)
    per_image = (cosine * mask).sum(dim=(1, 2)) / (mask.sum(dim=(1, 2)) + 1e-6)
    return -2 * per_image.mean()


class PixPro(Method):
    name: ClassVar[str] = "pixpro"
    Config: ClassVar[type] = PixProConfig
    sync_bn: ClassVar[bool] = True
    augmentation: ClassVar[str] = "byol"  # the scripts' `--aug BYOL`, asymmetric, crop scale 0.08

    def __init__(self, backbone: BackboneFactory, config: PixProConfig) -> None:
        super().__init__(backbone, config)
        self.encoder = backbone()
        channels = self.encoder.num_channels
        self.projector = projector(channels, config.hidden_dim, config.dim)
        self.value_transform = nn.Conv2d(config.dim, config.dim, 1)  # g, no momentum copy
        self.encoder_k = momentum_copy(self.encoder)  # θ' ← θ at the start
        self.projector_k = momentum_copy(self.projector)

    def _target(self, x: Tensor) -> Tensor:
        """x' = normalize(projector'(encoder'(x)))."""
        return F.normalize(self.projector_k(self.encoder_k(x)), dim=1)

    def forward(self, batch: ViewBatch, progress: float) -> StepOutput:
        config = self.config
        view_1, view_2 = batch.views
        geometry_1, geometry_2 = batch.geometry
        x_1 = self.projector(self.encoder(view_1))  # x of each view, online
        x_2 = self.projector(self.encoder(view_2))
        y_1 = propagate(x_1, self.value_transform, config.gamma)  # y
        y_2 = propagate(x_2, self.value_transform, config.gamma)
        m = momentum_at(progress, config.momentum)  # m_t
        with torch.no_grad():
            momentum_update(self.encoder, self.encoder_k, m)  # before the targets
            momentum_update(self.projector, self.projector_k, m)
            target_1, target_2 = self._target(view_1), self._target(view_2)  # x'
        height, width = x_1.shape[2:]
        mask_12 = positive_mask(geometry_1, geometry_2, height, width, config.pos_ratio)  # A
        loss_12 = pixel_loss(y_1, target_2, mask_12)  # y of view 1 against x' of view 2
        loss_21 = pixel_loss(y_2, target_1, mask_12.transpose(1, 2))  # A is symmetric in its views
        loss = loss_12 + loss_21
        logs = {
            "loss_12": loss_12.detach(),
            "loss_21": loss_21.detach(),
            "loss": loss.detach(),
            "momentum": loss.new_tensor(m),
            "positives": mask_12.sum(dim=(1, 2)).float().mean(),
        }
        return StepOutput(loss, logs)

    def backbone(self) -> nn.Module:
        return self.encoder
