"""RLE's 3D pose data: Human3.6M and MPII persons in its 18-joint layout, cropped, augmented, encoded.

Source: Jeff-sjtu/res-loglikelihood-regression, rlepose/datasets/{h36m,mpii,h36m_mpii}.py and
rlepose/utils/presets/simple_transform_3d.py (downstream-protocols.md §4.1).

- Joints: the 17 Human3.6M joints and a thorax, the mean of the shoulders (added in world
  coordinates, then projected). Human3.6M joints are (u, v) pixels and the depth relative to the
  pelvis in mm, all visible; MPII's 16 are mapped in as s_mpii_2_hm36_jt does, 2D only (depth
  visibility 0), visible as annotated.
- Crop: the person box, clipped to the image, grown to a square about its centre (scale_mult 1 for
  Human3.6M, RLE's default 1.25 for MPII) and cut to input_size² by the affine of suite.data.affine,
  borders black (cv2.warpAffine's default).
- Training augmentation, drawn from (seed, epoch, index): scale x clip(N·0.3 + 1, 0.7, 1.3);
  rotation clip(N·30°, ±60°) with probability 0.6; a synthetic occlusion (a rectangle of uniform
  noise inside the box, area U(0, 0.7) of the box's, aspect U(0.3, 3.33), redrawn until it lies in
  the image) before a horizontal flip with probability 0.5 (x -> width − 1 − x, pairs swapped);
  after the crop, each channel x U(0.8, 1.2).
- Targets: u / size − 0.5, v / size − 0.5, depth / bbox_3d_shape; a joint's three weights are 0 when
  any of its coordinates is outside [−0.5, 0.5], and each weight is multiplied by the visibility.
- Mixing: a training set of 2 x |Human3.6M| samples; index i < |Human3.6M| is Human3.6M person i,
  any other draws an MPII person uniformly, from (seed, epoch, index) instead of the global RNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from suite.data.affine import apply_affine, box_to_center_scale, clip_box, crop_affine, xywh_to_xyxy
from suite.data.h36m import RleSample
from suite.data.images import read_image
from suite.data.mpii import MpiiPerson, person_box
from suite.data.skeleton import FLIP_PAIRS, H36M_TO_MPII, JOINTS, MPII_JOINTS, ROOT
from suite.data.views import IMAGENET_MEAN, IMAGENET_STD
from suite.errors import SuiteError

if TYPE_CHECKING:
    from suite.finetune.h36m_3d_settings import H36m3dConfig

NUM_JOINTS = 18  # RLE's layout: the 17 Human3.6M joints, then the thorax
THORAX = 17
EVAL_JOINTS = 17  # the first 17 (the thorax is left out of the metrics)
SHOULDERS = (JOINTS.index("l_shoulder"), JOINTS.index("r_shoulder"))
# RLE joint <- MPII joint (s_mpii_2_hm36_jt): MPII's upper neck is H36M's neck, its thorax RLE's thorax.
MPII_TO_RLE = {**H36M_TO_MPII, THORAX: MPII_JOINTS.index("thorax")}
ASPECT_RATIO = 1.0  # the crop is square
OCCLUSION_TRIES = 100  # the official loop redraws until the rectangle fits; a degenerate box gives up
# Per-channel mean and std of the input normalisation. "rgb": ImageNet's statistics in RGB order, the
# order of the images and of every SSL backbone's pre-training. "official": RLE's, BGR-ordered values
# applied to RGB images (a quirk of the official code).
NORMALISATIONS = {
    "rgb": (IMAGENET_MEAN, IMAGENET_STD),
    "official": ((0.406, 0.457, 0.480), (0.225, 0.224, 0.229)),
}


@dataclass(frozen=True, eq=False)
class Person:
    """One person to crop, in RLE's 18-joint layout."""

    image: Path
    box: np.ndarray  # (4,) x1, y1, x2, y2 in pixels, clipped to the image when it is read
    scale_mult: float  # the box's enlargement before cropping
    joints: np.ndarray  # (18, 3) u, v in pixels, depth relative to the pelvis in mm (0 without depth)
    visible: np.ndarray  # (18, 3) 0 / 1 for each coordinate


def with_thorax(joints: np.ndarray) -> np.ndarray:
    """(17, D) Human3.6M joints and their thorax, the mean of the shoulders: (18, D)."""
    return np.concatenate([joints, joints[list(SHOULDERS)].mean(axis=0, keepdims=True)])


def h36m_person(sample: RleSample, scale_mult: float) -> Person:
    """A Human3.6M frame of the RLE annotations: every coordinate visible, depth relative to the pelvis."""
    joints_cam = with_thorax(sample.joints_cam)
    uv = sample.camera.project(joints_cam)
    depth = joints_cam[:, 2:] - joints_cam[ROOT, 2]
    return Person(
        image=sample.image,
        box=xywh_to_xyxy(sample.box),
        scale_mult=scale_mult,
        joints=np.concatenate([uv, depth], axis=1),
        visible=np.ones((NUM_JOINTS, 3)),
    )


def mpii_person(person: MpiiPerson, images: Path, scale_mult: float) -> Person:
    """An MPII person of the HRNet annotations, its box HRNet's (mpii.person_box), 2D joints only."""
    joints, visible = np.zeros((NUM_JOINTS, 3)), np.zeros((NUM_JOINTS, 3))
    for joint, mpii_joint in MPII_TO_RLE.items():
        joints[joint, :2] = person.joints0[mpii_joint]
        visible[joint, :2] = min(1.0, float(person.joints_vis[mpii_joint]))
    return Person(images / person.image, person_box(person), scale_mult, joints, visible)


def flip_joints(joints: np.ndarray, visible: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Joints of the mirrored image: x -> width − 1 − x, left and right swapped (flip_joints_3d)."""
    joints, visible = joints.copy(), visible.copy()
    joints[:, 0] = width - joints[:, 0] - 1
    for left, right in FLIP_PAIRS:
        joints[[left, right]] = joints[[right, left]]
        visible[[left, right]] = visible[[right, left]]
    return joints, visible


def occlude(image: np.ndarray, box: np.ndarray, rng: np.random.Generator, config: H36m3dConfig) -> np.ndarray:
    """A copy of the image with one rectangle of uniform noise inside the box (RLE's synthetic occlusion)."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    for _ in range(OCCLUSION_TRIES):
        area = rng.uniform(*config.occlusion_area) * (x2 - x1) * (y2 - y1)
        ratio = rng.uniform(*config.occlusion_ratio)
        h, w = np.sqrt(area * ratio), np.sqrt(area / ratio)
        left = rng.uniform() * ((x2 - x1) - w - 1) + x1
        top = rng.uniform() * ((y2 - y1) - h - 1) + y1
        if left >= 0 and top >= 0 and left + w < width and top + h < height:
            left, top, w, h = int(left), int(top), int(w), int(h)
            image = image.copy()
            image[top : top + h, left : left + w] = rng.uniform(size=(h, w, 3)) * 255
            return image
    return image


@dataclass
class Crop:
    image: np.ndarray  # (size, size, 3) uint8 RGB
    joints: np.ndarray  # (18, 3) u, v in crop pixels, depth in mm
    visible: np.ndarray  # (18, 3)
    center: np.ndarray  # (2,) the crop's centre in image pixels (after a flip, in the flipped image)
    scale: np.ndarray  # (2,) its size in image pixels
    rotation: float  # degrees
    flipped: bool


def crop_person(
    image: np.ndarray, person: Person, config: H36m3dConfig, rng: np.random.Generator | None
) -> Crop:
    """The person's input crop, augmented with draws from rng when training (rng None: the test crop)."""
    height, width = image.shape[:2]
    box = clip_box(person.box, width, height)
    center, scale = box_to_center_scale(box, ASPECT_RATIO, person.scale_mult)
    joints, visible = person.joints.copy(), person.visible.copy()
    rotation, flipped = 0.0, False
    if rng is not None:
        factor = config.scale_factor
        scale = scale * np.clip(rng.standard_normal() * factor + 1, 1 - factor, 1 + factor)
        if rng.uniform() <= config.rotation_p:
            limit = config.rotation_factor
            rotation = float(np.clip(rng.standard_normal() * limit, -2 * limit, 2 * limit))
        if config.occlusion:
            image = occlude(image, box, rng, config)
        flipped = bool(rng.uniform() < config.flip_p)
        if flipped:
            image = image[:, ::-1]
            joints, visible = flip_joints(joints, visible, width)
            center[0] = width - center[0] - 1
    size = config.input_size
    matrix = crop_affine(center, scale[0], rotation, (size, size))
    crop = cv2.warpAffine(np.ascontiguousarray(image), matrix, (size, size), flags=cv2.INTER_LINEAR)
    joints[:, :2] = apply_affine(matrix, joints[:, :2])
    if rng is not None:
        factor = config.color_factor
        for channel in range(3):  # written back into uint8, truncated as the official code does
            crop[..., channel] = np.clip(crop[..., channel] * rng.uniform(1 - factor, 1 + factor), 0, 255)
    return Crop(crop, joints, visible, center, scale, rotation, flipped)


def encode(crop: Crop, size: int, bbox_3d_shape: float) -> tuple[np.ndarray, np.ndarray]:
    """Targets (18, 3) (u / size − 0.5, v / size − 0.5, depth / bbox_3d_shape) and their weights."""
    target = np.stack(
        [crop.joints[:, 0] / size - 0.5, crop.joints[:, 1] / size - 0.5, crop.joints[:, 2] / bbox_3d_shape],
        axis=1,
    )
    weight = crop.visible[:, :1] * crop.visible
    weight[(np.abs(target) > 0.5).any(axis=1)] = 0.0
    target[crop.visible == 0] = 0.0  # unlabelled coordinates (weight 0) hold 0, as after RLE's flip
    return target, weight


def normalise(image: np.ndarray, normalisation: str) -> Tensor:
    """(3, H, W) float tensor: RGB / 255, minus the mean, over the std of `normalisation`."""
    if normalisation not in NORMALISATIONS:
        raise SuiteError(f"unknown normalisation {normalisation!r}", fix=f"use one of {list(NORMALISATIONS)}")
    mean, std = (torch.tensor(values).view(3, 1, 1) for values in NORMALISATIONS[normalisation])
    return (torch.from_numpy(image).permute(2, 0, 1).float() / 255 - mean) / std


class RleDataset(Dataset):
    """Human3.6M persons, and with `mpii` an equal number of MPII draws (training); seed None: no
    augmentation (the test set). Items are dicts: image, target, weight, index, center, scale."""

    def __init__(
        self, h36m: Sequence[Person], mpii: Sequence[Person], config: H36m3dConfig, seed: int | None
    ) -> None:
        self.h36m, self.mpii = tuple(h36m), tuple(mpii)
        self.config, self.seed, self.epoch = config, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return 2 * len(self.h36m) if self.mpii else len(self.h36m)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = None if self.seed is None else np.random.default_rng([self.seed, self.epoch, index])
        if index < len(self.h36m):
            person = self.h36m[index]
        else:
            person = self.mpii[int(rng.integers(len(self.mpii)))]  # type: ignore[union-attr]
        crop = crop_person(read_image(person.image), person, self.config, rng)
        target, weight = encode(crop, self.config.input_size, self.config.bbox_3d_shape)
        return {
            "image": normalise(crop.image, self.config.normalisation),
            "target": torch.from_numpy(target).float(),
            "weight": torch.from_numpy(weight).float(),
            "index": index,
            "center": torch.from_numpy(crop.center),
            "scale": torch.from_numpy(crop.scale),
        }
