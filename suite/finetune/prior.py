"""Fine-tuning with the 3D human kinematic prior (paper §4.4, Table 9's "+ prior").

"When fine-tuning with 3D human kinematic prior, we additionally train a lifting network to estimate 3D
pose. Based on the estimated 3D pose, the bone length and joint angles can be calculated and if they are
not within the reasonable range, an extra loss will be added to penalize the incorrect estimation." The
paper gives no ranges, weights or 2D supervision; here (h36m-2d and h36m-3d, Config `prior`):

    L = L_task + reprojection_weight · L_reproj + prior_weight · L_prior

- LiftingHead: the trunk's C5, globally average-pooled, through pre-training's lifting network
  (suite/models/lifting.py) to a 3D pose X (N, 17, 3). It is used in training only.
- L_reproj ties X to the image: the orthographic projection X[..., :2] against the task's 2D joints in
  the crop, both centred on the mean of the labelled joints and divided by their RMS distance to it;
  the mean over labelled joints of the squared distance (MSE). Centred on the labelled joints rather
  than the root, which is not always labelled (MPII, or outside the crop).
- L_prior: the mean over poses and features of the squared hinge of each kinematic feature outside its
  range, 0 inside. Per bone: the log of its length as a fraction of the total bone length, and the
  three angles (asin of the coordinates) of its direction in its parent's frame. The root's frame: x
  the hip axis (r_hip → l_hip), y the root → thorax direction made perpendicular to x, negated (down),
  z = x × y. A bone's frame is its parent's carried by the smallest rotation that takes the bone's
  template direction (kinematic_prior.template_bones) to its direction, so a limb's frame follows the
  limb without twisting; for a limb whose template runs along its parent, the y angle is 90° − its
  angle to the parent bone. A signed direction, not only the angle to the parent: an unsigned angle
  cannot tell a knee bent backwards from one bent forwards. Every feature is invariant to the pose's
  scale, rotation and translation (the lifted pose has no metric scale or camera).
- The ranges are appendix B's prior itself: [min, max] of each feature over PRIOR_SAMPLES skeletons of
  suite/data/kinematic_prior.py (seed PRIOR_SEED), widened by MARGIN of their width on each side (the
  extremes of 20k draws understate the prior's: 300k fresh draws pass them by up to 8%), so every
  skeleton pre-training calls real lies inside. They are boxes: each quantity is bounded on its own, not
  in combination (a knee bent forwards by more than ~55° in a standing pose is penalised; the prior's
  thigh may turn 135° about itself, so less is not).

The ranges ([min, max]: the length in % of the total, the angles in degrees; ·: no bound, every angle
lies within ±90°):

    bone                  length %     x angle      y angle      z angle
    root → r_hip            2.6,  3.8     ·,  -74    -17,   17    -17,   17
    r_hip → r_knee          9.0, 12.6     ·,    ·      ·,    ·      ·,    ·
    r_knee → r_ankle        9.2, 13.1     ·,    ·    -82,    ·    -52,    ·
    root → l_hip            2.6,  3.8    74,    ·    -16,   17    -16,   17
    l_hip → l_knee          9.0, 12.6     ·,    ·    -86,    ·      ·,    ·
    l_knee → l_ankle        9.2, 13.1     ·,    ·    -82,    ·    -56,    ·
    root → spine            4.7,  6.7   -37,   38      ·,  -52    -13,   22
    spine → thorax          5.2,  7.4   -37,   37      ·,  -52    -40,   24
    thorax → neck/nose      2.4,  3.5   -75,   72      ·,  -17    -77,   44
    neck/nose → head        2.3,  3.3   -73,   71      ·,  -20    -61,   50
    thorax → l_shoulder     3.0,  4.3    -3,    ·    -22,   22      ·,    ·
    l_shoulder → l_elbow    5.6,  8.0     ·,    ·      ·,    ·      ·,    ·
    l_elbow → l_wrist       5.0,  7.2     ·,    ·    -82,    ·      ·,    ·
    thorax → r_shoulder     3.0,  4.4     ·,   -3    -22,   21      ·,    ·
    r_shoulder → r_elbow    5.6,  8.0     ·,    ·      ·,    ·      ·,    ·
    r_elbow → r_wrist       5.0,  7.2     ·,    ·    -82,    ·      ·,    ·

So the prior bounds every bone's share of the length, the pelvis, torso, neck and shoulder girdle, how
far a knee or elbow bends (y ≥ −82°: at most 172° from straight) and which way a knee bends (z ≥ −56°);
the hips' and shoulders' ball joints and the arms' twist it leaves free.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor, nn

from suite.data.kinematic_prior import sample_skeletons, template_bones
from suite.data.skeleton import BONES, JOINTS, ROOT
from suite.models.lifting import LiftingNetwork

PRIOR_SAMPLES = 20_000  # prior skeletons the ranges are taken over (~0.4 s)
PRIOR_SEED = 0
CHUNK = 10_000  # skeletons sampled at a time (sampling slows down beyond)
MARGIN = 0.15  # each range widened by this fraction of its width on each side
EPS = 1e-6  # lengths and norms floored, direction coordinates kept inside ±(1 − EPS)
MIN_LABELLED = 2  # labelled joints a pose needs to enter the reprojection loss
PARENTS = [parent for parent, _ in BONES]
CHILDREN = [child for _, child in BONES]
HIP_AXIS = (JOINTS.index("r_hip"), JOINTS.index("l_hip"))
THORAX = JOINTS.index("thorax")


class LiftingHead(nn.Module):
    """C5 features (N, C, h, w) → global average pool → LiftingNetwork → the lifted pose (N, 17, 3)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.lifting = LiftingNetwork(channels)

    def forward(self, features: Tensor) -> Tensor:
        return self.lifting(features.mean(dim=(2, 3)))


def prior_loss(
    task_loss: Tensor, joints3d: Tensor, joints2d: Tensor, weight: Tensor, config
) -> tuple[Tensor, dict[str, Tensor]]:
    """L_task + reprojection_weight · L_reproj + prior_weight · L_prior (the config's weights), and the
    detached terms to log."""
    reprojection = reprojection_loss(joints3d, joints2d, weight)
    prior = prior_penalty(joints3d)
    loss = task_loss + config.reprojection_weight * reprojection + config.prior_weight * prior
    terms = {"loss": loss, "task_loss": task_loss, "reprojection": reprojection, "prior": prior}
    return loss, {name: value.detach() for name, value in terms.items()}


def reprojection_loss(joints3d: Tensor, joints2d: Tensor, weight: Tensor) -> Tensor:
    """MSE of the orthographic projection of joints3d (N, 17, 3) against joints2d (N, 17, 2), both
    normalised on the labelled joints (weight (N, 17) > 0): the mean squared distance per labelled joint
    of poses with at least MIN_LABELLED of them (0 when none has)."""
    weight = weight.to(joints3d.dtype)[..., None]
    projected, truth = normalise_2d(joints3d[..., :2], weight), normalise_2d(joints2d.to(joints3d), weight)
    count = weight.sum(dim=(1, 2))
    usable = (count >= MIN_LABELLED).to(joints3d.dtype)
    error = ((projected - truth) ** 2 * weight).sum(dim=(1, 2))
    return (error * usable).sum() / (count * usable).sum().clamp_min(1)


def normalise_2d(points: Tensor, weight: Tensor) -> Tensor:
    """Points (N, K, 2) minus the weighted mean of the labelled ones, over their weighted RMS distance
    to it; weight (N, K, 1)."""
    count = weight.sum(dim=1, keepdim=True).clamp_min(EPS)
    centred = points - (points * weight).sum(dim=1, keepdim=True) / count
    mean_square = ((centred**2).sum(dim=2, keepdim=True) * weight).sum(dim=1, keepdim=True) / count
    return centred / mean_square.clamp_min(EPS**2).sqrt()  # clamped first: no infinite gradient at 0


def prior_penalty(joints3d: Tensor) -> Tensor:
    """Mean squared hinge of the kinematic features of poses (N, 17, 3) outside the prior's ranges."""
    low, high = (bound.to(joints3d) for bound in prior_ranges())
    features = kinematic_features(joints3d)
    return (torch.relu(low - features) + torch.relu(features - high)).pow(2).mean()


@functools.cache
def prior_ranges() -> tuple[Tensor, Tensor]:
    """Lower and upper bounds (16 + 48,) float64 of kinematic_features over the prior's skeletons."""
    rng = np.random.default_rng(PRIOR_SEED)
    features = torch.cat(
        [
            kinematic_features(torch.from_numpy(sample_skeletons(CHUNK, rng=rng, normalize=False)).double())
            for _ in range(PRIOR_SAMPLES // CHUNK)
        ]
    )
    low, high = features.min(dim=0).values, features.max(dim=0).values
    margin = MARGIN * (high - low)
    return low - margin, high + margin


def kinematic_features(joints: Tensor) -> Tensor:
    """(N, 16 + 48) of poses (N, 17, 3): each bone's log length fraction, then for each bone the three
    angles (radians) of its direction in its parent's frame (see the module docstring)."""
    bones = joints[:, CHILDREN] - joints[:, PARENTS]
    length = bones.norm(dim=2)
    fraction = torch.log((length / length.sum(dim=1, keepdim=True).clamp_min(EPS)).clamp_min(EPS))
    directions = bones / length.clamp_min(EPS)[..., None]
    rest = torch.from_numpy(template_bones()).to(joints)
    rest = rest / rest.norm(dim=1, keepdim=True)
    # joint -> the frame (N, 3, 3), axes as columns, of the bone ending at it
    frames = {ROOT: root_frame(joints)}
    local = []
    for k, (parent, child) in enumerate(BONES):
        frame = frames[parent]
        local.append(torch.einsum("nij,ni->nj", frame, directions[:, k]))
        frames[child] = carry(frame, frame @ rest[k], directions[:, k])
    angles = torch.asin(torch.stack(local, dim=1).clamp(-1 + EPS, 1 - EPS))
    return torch.cat([fraction, angles.flatten(1)], dim=1)


def root_frame(joints: Tensor) -> Tensor:
    """(N, 3, 3) axes as columns: x the hip axis, y the root → thorax direction ⟂ x, negated, z = x × y."""
    x = unit(joints[:, HIP_AXIS[1]] - joints[:, HIP_AXIS[0]])
    up = joints[:, THORAX] - joints[:, ROOT]
    y = -unit(up - (up * x).sum(dim=1, keepdim=True) * x)
    return torch.stack([x, y, torch.linalg.cross(x, y)], dim=2)


def carry(frame: Tensor, start: Tensor, end: Tensor) -> Tensor:
    """The frame's axes (N, 3, 3) turned by the smallest rotation that takes unit `start` (N, 3) to unit
    `end` (Rodrigues: v cos θ + k × v + k (k·v) / (1 + cos θ), k = start × end)."""
    k = torch.linalg.cross(start, end)[..., None].expand_as(frame)
    cos = (start * end).sum(dim=1)[:, None, None]
    turned = frame * cos + torch.linalg.cross(k, frame, dim=1)
    return turned + k * (k * frame).sum(dim=1, keepdim=True) / (1 + cos).clamp_min(EPS)


def unit(vectors: Tensor) -> Tensor:
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(EPS)
