"""The top-down pipeline of the 2D heatmap pose tasks: person box -> centre and size -> augmentation ->
affine crop -> Gaussian targets; at test time the flip test and the way back to image pixels.

Source: leoxiaobin/deep-high-resolution-net.pytorch lib/dataset/JointsDataset.py (__getitem__,
half_body_transform), coco.py (_xywh2cs), mpii.py (its centre and scale); downstream-protocols.md
§1.2, §2, §3.2. General: any number of joints, input and heatmap size (width, height), flip pairs.

- Centre and size, in image pixels (the official scale x 200): a box (x, y, w, h) -> its centre, grown
  to the input's aspect ratio, x 1.25 (xywh_center_scale, HRNet's _xywh2cs); an MPII person -> its
  annotated centre moved down 15·s, a square of 1.25·200·s pixels, 0-based (mpii_center_scale).
- Training augmentation, in the official order, each draw from (seed, epoch, index):
  1. half-body (probability `half_body_p`, default 0 as the res50 configs): with more than
     `half_body_joints` visible joints, the upper body (`upper_body` ids) if N(0, 1) < 0.5 and it has
     more than 2 visible joints, else the lower body if that has more than 2, else the upper; with at
     least 2 selected joints the box becomes their mean centre and their extent, aspect-fixed, x 1.5;
  2. size x clip(N(0, 1)·sf + 1, 1 − sf, 1 + sf);
  3. rotation clip(N(0, 1)·rf, −2rf, 2rf) degrees with probability `rotation_p` (U <= p), else 0;
  4. horizontal flip with probability `flip_p` (U <= p): the image mirrored, joints x -> W − 1 − x with
     the flip pairs swapped, the centre x -> W − 1 − x.
- Crop: suite.data.affine's crop (the centre to the middle of the input, the crop's width to the
  input's width, the rotation about the centre), cv2.warpAffine INTER_LINEAR with black borders; the
  joints move by the same affine. With `invisible_outside` a joint leaving the input is made
  invisible (the multiview Human3.6M code); otherwise, as SimpleBaseline, only the target's patch
  test (suite.finetune.heatmap.encode) zeroes a weight.
- Input: "rgb" (default) RGB / 255 normalised by ImageNet's mean and std; "official" the same
  statistics on the BGR-ordered image, as the res50 configs feed cv2's images (COLOR_RGB false).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from suite.data.affine import apply_affine, crop_affine
from suite.data.images import read_image
from suite.data.mpii import PIXEL_STD, MpiiPerson, protocol_center_scale
from suite.data.views import IMAGENET_MEAN, IMAGENET_STD
from suite.errors import SuiteError
from suite.finetune import heatmap

BOX_PADDING = 1.25  # _xywh2cs
HALF_BODY_PADDING = 1.5
# "rgb": the images' own channel order, as every SSL backbone was pre-trained; "official": reversed to
# BGR (cv2's order, the res50 configs' input) under the same RGB-ordered ImageNet statistics.
NORMALISATIONS = ("rgb", "official")


@dataclass(frozen=True)
class Pipeline:
    """A task's top-down settings: sizes are (width, height); a zero factor or probability turns its
    augmentation off."""

    input_size: tuple[int, int]
    heatmap_size: tuple[int, int]
    flip_pairs: tuple[tuple[int, int], ...]
    sigma: float = heatmap.SIGMA
    scale_factor: float = 0.0
    rotation_factor: float = 0.0  # degrees
    rotation_p: float = 0.6
    flip_p: float = 0.0
    half_body_p: float = 0.0
    half_body_joints: int = 8  # more visible joints than this for a half-body crop
    upper_body: tuple[int, ...] = ()  # joint ids of the upper body (the rest are the lower)
    invisible_outside: bool = False
    normalisation: str = "rgb"

    def __post_init__(self) -> None:
        if self.normalisation not in NORMALISATIONS:
            raise SuiteError(
                f"unknown normalisation {self.normalisation!r}", fix=f"use one of {list(NORMALISATIONS)}"
            )

    @property
    def aspect_ratio(self) -> float:
        return self.input_size[0] / self.input_size[1]


@dataclass(frozen=True, eq=False)
class Person:
    """One person to crop: 0-based image pixels."""

    image: Path
    center: np.ndarray  # (2,)
    scale: np.ndarray  # (2,) the crop's width and height in image pixels
    joints: np.ndarray  # (K, 2)
    visible: np.ndarray  # (K,) 0 / 1


def xywh_center_scale(
    box: Sequence[float], aspect_ratio: float, padding: float = BOX_PADDING
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and (w, h) in pixels of an (x, y, w, h) box: grown to aspect_ratio = w / h, x padding."""
    x, y, w, h = (float(value) for value in box)
    center = np.array([x + w * 0.5, y + h * 0.5])
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w, h]) * padding


def mpii_center_scale(person: MpiiPerson) -> tuple[np.ndarray, np.ndarray]:
    """HRNet's MPII crop (suite.data.mpii.protocol_center_scale) in pixels: centre (2,), (side, side)."""
    center, scale = protocol_center_scale(person)
    return center, np.array([scale, scale]) * PIXEL_STD


def mpii_persons(persons: Sequence[MpiiPerson], images: Path) -> list[Person]:
    """MPII persons of the HRNet json as the pipeline's: the protocol crop, 0-based joints."""
    out = []
    for person in persons:
        center, scale = mpii_center_scale(person)
        visible = np.minimum(np.asarray(person.joints_vis, dtype=np.float64), 1.0)
        out.append(Person(Path(images) / person.image, center, scale, person.joints0.copy(), visible))
    return out


def flip_joints(
    joints: np.ndarray, visible: np.ndarray, width: int, flip_pairs: Sequence[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Joints of the mirrored image (fliplr_joints): x -> width − 1 − x, left and right swapped."""
    joints, visible = joints.copy(), visible.copy()
    joints[:, 0] = width - joints[:, 0] - 1
    for left, right in flip_pairs:
        joints[[left, right]] = joints[[right, left]]
        visible[[left, right]] = visible[[right, left]]
    return joints, visible


def half_body(
    joints: np.ndarray, visible: np.ndarray, pipeline: Pipeline, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """HRNet's half_body_transform: the centre and size of one body half's visible joints, or None."""
    upper = [j for j in range(len(joints)) if visible[j] > 0 and j in pipeline.upper_body]
    lower = [j for j in range(len(joints)) if visible[j] > 0 and j not in pipeline.upper_body]
    if rng.standard_normal() < 0.5 and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None
    chosen = joints[selected].astype(np.float32)
    center = chosen.mean(axis=0).astype(np.float64)
    w, h = (chosen.max(axis=0) - chosen.min(axis=0)).astype(np.float64)
    if w > pipeline.aspect_ratio * h:
        h = w / pipeline.aspect_ratio
    elif w < pipeline.aspect_ratio * h:
        w = h * pipeline.aspect_ratio
    return center, np.array([w, h]) * HALF_BODY_PADDING


@dataclass
class Crop:
    image: np.ndarray  # (H, W, 3) uint8 RGB, the input
    joints: np.ndarray  # (K, 2) input pixels
    visible: np.ndarray  # (K,)
    center: np.ndarray  # (2,) image pixels (after a flip, in the mirrored image)
    scale: np.ndarray  # (2,) the crop's width and height in image pixels
    rotation: float  # degrees
    flipped: bool
    matrix: np.ndarray  # (2, 3) image (mirrored if flipped) -> input


def crop_person(
    image: np.ndarray, person: Person, pipeline: Pipeline, rng: np.random.Generator | None
) -> Crop:
    """The person's input crop, augmented with draws from rng (None: the test crop, unaugmented)."""
    center, scale = person.center.astype(np.float64), person.scale.astype(np.float64)
    joints, visible = person.joints.astype(np.float64), person.visible.astype(np.float64)
    rotation, flipped = 0.0, False
    if rng is not None:
        if (visible > 0).sum() > pipeline.half_body_joints and rng.uniform() < pipeline.half_body_p:
            half = half_body(joints, visible, pipeline, rng)
            if half is not None:
                center, scale = half
        factor = pipeline.scale_factor
        scale = scale * np.clip(rng.standard_normal() * factor + 1, 1 - factor, 1 + factor)
        if rng.uniform() <= pipeline.rotation_p:
            limit = pipeline.rotation_factor
            rotation = float(np.clip(rng.standard_normal() * limit, -2 * limit, 2 * limit))
        if pipeline.flip_p > 0 and rng.uniform() <= pipeline.flip_p:
            flipped = True
            width = image.shape[1]
            image = image[:, ::-1]
            joints, visible = flip_joints(joints, visible, width, pipeline.flip_pairs)
            center = np.array([width - center[0] - 1, center[1]])
    size = tuple(pipeline.input_size)
    matrix = crop_affine(center, float(scale[0]), rotation, size)
    crop = cv2.warpAffine(np.ascontiguousarray(image), matrix, size, flags=cv2.INTER_LINEAR)
    joints = apply_affine(matrix, joints)
    if pipeline.invisible_outside:
        outside = (joints.min(axis=1) < 0) | (joints[:, 0] >= size[0]) | (joints[:, 1] >= size[1])
        visible = np.where(outside, 0.0, visible)
    return Crop(crop, joints, visible, center, scale, rotation, flipped, matrix)


def normalise(image: np.ndarray, normalisation: str = "rgb") -> Tensor:
    """(3, H, W) float tensor of an (H, W, 3) uint8 RGB image: / 255, minus ImageNet's mean, over its std;
    "official" reverses the channels to BGR first."""
    if normalisation not in NORMALISATIONS:
        raise SuiteError(f"unknown normalisation {normalisation!r}", fix=f"use one of {list(NORMALISATIONS)}")
    if normalisation == "official":
        image = image[..., ::-1]
    mean, std = (torch.tensor(values).view(3, 1, 1) for values in (IMAGENET_MEAN, IMAGENET_STD))
    return (torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 255 - mean) / std


class TopdownDataset(Dataset):
    """Persons cropped and encoded; seed None: the test crops, unaugmented. Items are dicts: image
    (3, H, W), target (K, h, w), weight (K,), joints (K, 2) (input pixels), index, center (2,), scale
    (2,) (the crop, image pixels)."""

    def __init__(self, persons: Sequence[Person], pipeline: Pipeline, seed: int | None) -> None:
        self.persons, self.pipeline, self.seed, self.epoch = tuple(persons), pipeline, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.persons)

    def __getitem__(self, index: int) -> dict[str, Any]:
        rng = None if self.seed is None else np.random.default_rng([self.seed, self.epoch, index])
        person, pipeline = self.persons[index], self.pipeline
        crop = crop_person(read_image(person.image), person, pipeline, rng)
        target, weight = heatmap.encode(
            crop.joints, crop.visible, pipeline.input_size, pipeline.heatmap_size, pipeline.sigma
        )
        return {
            "image": normalise(crop.image, pipeline.normalisation),
            "target": torch.from_numpy(target),
            "weight": torch.from_numpy(weight),
            "joints": torch.from_numpy(crop.joints.astype(np.float32)),
            "index": index,
            "center": torch.from_numpy(crop.center),
            "scale": torch.from_numpy(crop.scale),
        }


def predict(
    model: nn.Module,
    data: TopdownDataset,
    device: torch.device,
    batch_size: int,
    workers: int,
    *,
    flip_test: bool = True,
    shift_heatmap: bool = True,
    post_process: bool = True,
) -> dict[str, np.ndarray]:
    """The test protocol's predictions for an unaugmented TopdownDataset: "joints" (N, K, 2) in image
    pixels, "scores" (N, K) (the heatmap maxima), "center" and "scale" of the crops."""
    model.eval()
    pipeline = data.pipeline
    pairs = pipeline.flip_pairs if flip_test else None
    loader = DataLoader(data, batch_size=batch_size, shuffle=False, num_workers=workers)
    parts: dict[str, list[np.ndarray]] = {"joints": [], "scores": [], "center": [], "scale": []}
    for batch in loader:
        maps = heatmap.predict_heatmaps(model, batch["image"].to(device), pairs, shift_heatmap)
        coords, scores = heatmap.decode(maps.float().cpu().numpy(), post_process)
        center, scale = batch["center"].numpy(), batch["scale"].numpy()
        parts["joints"].append(heatmap.to_image(coords, center, scale, pipeline.heatmap_size))
        parts["scores"].append(scores)
        parts["center"].append(center)
        parts["scale"].append(scale)
    return {key: np.concatenate(value) for key, value in parts.items()}


def mean_pose(training: Sequence[Person], test: Sequence[Person]) -> np.ndarray:
    """What a model that learned no more than the average pose predicts, the tasks' trivial baseline:
    (N, K, 2) image pixels, the mean training pose in crop coordinates ((joint − centre) / the crop's
    width, which crop_person maps to the input's width; over the visible joints) placed in each test
    person's crop."""
    joints = np.stack([(p.joints - p.center) / p.scale[0] for p in training])
    visible = np.stack([np.asarray(p.visible) > 0 for p in training])[..., None]
    mean = (joints * visible).sum(axis=0) / np.maximum(visible.sum(axis=0), 1)
    return np.stack([p.center + mean * p.scale[0] for p in test])
