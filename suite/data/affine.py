"""The top-down crop of the pose codes: a person box to a centre and scale, and the affine that cuts it.

These are SimpleBaseline's and RLE's `_box_to_center_scale`, `bbox_xywh_to_xyxy`, `bbox_clip_xyxy`
and `get_affine_transform` (rlepose/utils/bbox.py, transforms.py; scale in pixels, pixel_std 1):
the crop maps the centre to the middle of the output, the box width (times the scale augmentation)
to the output width, and turns the image by the rotation augmentation about the centre. The
official code solves cv2.getAffineTransform on three float32 points; here the same matrix is
written in closed form in float64, so a crop and its inverse round-trip to 1e-9 pixels.
"""

from __future__ import annotations

import math

import numpy as np


def xywh_to_xyxy(box_xywh: np.ndarray) -> np.ndarray:
    """[x1, y1, x2, y2] of an (x, y, w, h) box as GluonCV / RLE convert it: x2 = x + w − 1."""
    x, y, w, h = (float(value) for value in box_xywh)
    return np.array([x, y, x + max(w - 1.0, 0.0), y + max(h - 1.0, 0.0)])


def clip_box(box_xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
    """The box clipped to the pixels of a width x height image (RLE's bbox_clip_xyxy)."""
    return np.clip(
        np.asarray(box_xyxy, dtype=np.float64), 0.0, [width - 1, height - 1, width - 1, height - 1]
    )


def box_to_center_scale(
    box_xyxy: np.ndarray, aspect_ratio: float, scale_mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centre (2,) and scale (w, h) in pixels: the box grown to the crop's aspect w / h, times scale_mult."""
    x1, y1, x2, y2 = (float(value) for value in box_xyxy)
    w, h = x2 - x1, y2 - y1
    center = np.array([x1 + w * 0.5, y1 + h * 0.5])
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w, h]) * scale_mult


def crop_affine(center: np.ndarray, width: float, rotation: float, size: tuple[int, int]) -> np.ndarray:
    """(2, 3) image -> crop: `center` to the middle of a (w, h) = size output, `width` image pixels to
    size[0], the image turned by `rotation` degrees about the centre (get_affine_transform)."""
    k = size[0] / width
    radians = math.radians(rotation)
    cos, sin = math.cos(radians), math.sin(radians)
    linear = k * np.array([[cos, sin], [-sin, cos]])
    middle = np.array([size[0] * 0.5, size[1] * 0.5])
    return np.concatenate([linear, (middle - linear @ np.asarray(center, dtype=np.float64))[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The (2, 3) affine that undoes `matrix`."""
    linear = np.linalg.inv(matrix[:, :2])
    return np.concatenate([linear, -(linear @ matrix[:, 2])[:, None]], axis=1)


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(..., 2) points through a (2, 3) affine."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]
