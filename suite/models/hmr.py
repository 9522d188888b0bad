"""HMR's regressor as RSC-Net and SPIN write it: trunk features, iterative error feedback from the mean
SMPL parameters, rotations in the 6D representation.

Source: xuxy09/RSC-Net models/hmr.py (which the paper follows), nkolot/SPIN models/hmr.py and
utils/geometry.py (rot6d_to_rotmat); downstream-protocols.md §5.1. Θ = (pose 24 x 6D, betas 10, camera
s, tx, ty) starts at the mean parameters; each of the 3 iterations feeds [features, Θ] through fc1 1024
-> ReLU -> dropout 0.5 -> fc2 1024 -> ReLU -> dropout 0.5 and adds decpose, decshape, deccam
(xavier_uniform, gain 0.01) to Θ. The ReLUs are RSC-Net's (and downstream-protocols.md §5.1's);
`relu=False` drops them, as SPIN's Regressor has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional

from suite.models.backbone import ResNetTrunk

NUM_SMPL_JOINTS = 24
POSE_6D = 6 * NUM_SMPL_JOINTS
NUM_BETAS = 10
NUM_CAM = 3  # weak perspective s, tx, ty
HIDDEN = 1024
DROPOUT = 0.5
DECODER_GAIN = 0.01


def rot6d_to_rotmat(x: Tensor) -> Tensor:
    """(..., 6) -> (..., 3, 3): the 6 numbers as a 3 x 2 matrix (row-major) whose columns a1, a2 are
    Gram-Schmidt orthonormalised into b1, b2; b3 = b1 x b2; R = [b1 b2 b3] (Zhou et al. 2019, SPIN)."""
    a = x.reshape(*x.shape[:-1], 3, 2)
    a1, a2 = a[..., 0], a[..., 1]
    b1 = functional.normalize(a1, dim=-1)
    b2 = functional.normalize(a2 - (b1 * a2).sum(dim=-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def rotmat_to_rot6d(rotations: Tensor) -> Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, row-major, which rot6d_to_rotmat maps back."""
    return rotations[..., :2].reshape(*rotations.shape[:-2], 6)


@dataclass
class HmrOutput:
    rotmat: Tensor  # (N, 24, 3, 3) global orientation first
    betas: Tensor  # (N, 10)
    cam: Tensor  # (N, 3) s, tx, ty


class Hmr(nn.Module):
    """The trunk, global average pooling and the IEF regressor; `mean_*` are its starting Θ, `relu` puts
    RSC-Net's ReLU after fc1 and fc2 (False: SPIN's regressor, without)."""

    def __init__(
        self,
        trunk: ResNetTrunk,
        mean_pose: Tensor,
        mean_betas: Tensor,
        mean_cam: Tensor,
        iterations: int = 3,
        relu: bool = True,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.iterations = iterations
        # RSC-Net: fc -> ReLU -> dropout; SPIN: fc -> dropout (no parameters: checkpoints load either way)
        self.relu = nn.ReLU() if relu else nn.Identity()
        features = trunk.num_channels
        self.fc1 = nn.Linear(features + POSE_6D + NUM_BETAS + NUM_CAM, HIDDEN)
        self.drop1 = nn.Dropout(DROPOUT)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.drop2 = nn.Dropout(DROPOUT)
        self.decpose = nn.Linear(HIDDEN, POSE_6D)
        self.decshape = nn.Linear(HIDDEN, NUM_BETAS)
        self.deccam = nn.Linear(HIDDEN, NUM_CAM)
        for decoder in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_uniform_(decoder.weight, gain=DECODER_GAIN)
        self.register_buffer("init_pose", torch.as_tensor(mean_pose, dtype=torch.float32).reshape(POSE_6D))
        self.register_buffer(
            "init_shape", torch.as_tensor(mean_betas, dtype=torch.float32).reshape(NUM_BETAS)
        )
        self.register_buffer("init_cam", torch.as_tensor(mean_cam, dtype=torch.float32).reshape(NUM_CAM))

    def forward(self, images: Tensor) -> HmrOutput:
        features = self.trunk(images).mean(dim=(2, 3))
        n = len(features)
        pose = self.init_pose.expand(n, -1)
        shape = self.init_shape.expand(n, -1)
        cam = self.init_cam.expand(n, -1)
        for _ in range(self.iterations):
            x = torch.cat([features, pose, shape, cam], dim=1)
            x = self.drop1(self.relu(self.fc1(x)))
            x = self.drop2(self.relu(self.fc2(x)))
            pose = self.decpose(x) + pose
            shape = self.decshape(x) + shape
            cam = self.deccam(x) + cam
        return HmrOutput(rot6d_to_rotmat(pose.reshape(n, NUM_SMPL_JOINTS, 6)), shape, cam)
