"""SynthHuman's stand-in for ImageNet: procedural, human-free images in 10 classes, ImageFolder layout.

{split}/<class>/<class>_<index>.jpg. Each class has its own pattern (stripes, checks, circles,
rings, triangles, squares, blobs, grain, a radial glow, stars) and its own hue family, so a
classifier can learn them and stage-I pre-training sees varied natural-ish statistics.
"""

from __future__ import annotations

import colorsys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from suite.data.images import write_image
from suite.data.layouts import GENERIC_IMAGES, GENERIC_SPLITS

SIDE_RANGE = (64, 129)  # image width and height, px
HUE_SPREAD = 0.04  # around the class hue, as a fraction of the colour circle
SATURATION = (0.4, 1.0)
VALUE = (0.4, 1.0)
SHAPES = (3, 9)  # shapes per image for the shape classes
SHAPE_SIZE = (0.08, 0.25)  # shape radius as a fraction of the image side
PERIOD = (6, 20)  # px, stripes, checks and rings
BLOB_SCALE = 8  # blobs: noise upsampled from a grid this many times smaller
NOISE_STD = 6.0
VAL_FRACTION = 0.25
CIRCLE_CORNERS = 32
STAR_INNER = 0.45  # a star's inner corners, as a fraction of its radius

Canvas = np.ndarray
Colour = Callable[[], tuple[int, int, int]]


def _grid(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(shape[1])[None, :].astype(np.float64), np.arange(shape[0])[:, None].astype(np.float64)


def _two_tone(mask: np.ndarray, colour: Colour) -> Canvas:
    return np.where(mask[..., None], np.array(colour()), np.array(colour())).astype(np.uint8)


def stripes(shape, rng, colour) -> Canvas:
    x, y = _grid(shape)
    angle = rng.uniform(0, np.pi)
    return _two_tone((np.cos(angle) * x + np.sin(angle) * y) // rng.uniform(*PERIOD) % 2 == 0, colour)


def checks(shape, rng, colour) -> Canvas:
    x, y = _grid(shape)
    period = rng.uniform(*PERIOD)
    return _two_tone((x // period + y // period) % 2 == 0, colour)


def rings(shape, rng, colour) -> Canvas:
    x, y = _grid(shape)
    cx, cy = rng.uniform(0, shape[1]), rng.uniform(0, shape[0])
    return _two_tone(np.hypot(x - cx, y - cy) // rng.uniform(*PERIOD) % 2 == 0, colour)


def glow(shape, rng, colour) -> Canvas:
    x, y = _grid(shape)
    cx, cy = rng.uniform(0, shape[1]), rng.uniform(0, shape[0])
    t = np.clip(np.hypot(x - cx, y - cy) / max(shape), 0, 1)[..., None]
    return (np.array(colour()) * (1 - t) + np.array(colour()) * t).astype(np.uint8)


def blobs(shape, rng, colour) -> Canvas:
    small = rng.uniform(0, 1, (shape[0] // BLOB_SCALE + 2, shape[1] // BLOB_SCALE + 2))
    field = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)[..., None]
    return np.clip(np.array(colour()) * field + np.array(colour()) * (1 - field), 0, 255).astype(np.uint8)


def grain(shape, rng, colour) -> Canvas:
    field = rng.uniform(0, 1, (*shape, 1))
    return (np.array(colour()) * field + np.array(colour()) * (1 - field)).astype(np.uint8)


def _shapes(points: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]):
    """A class of filled polygons on a plain ground; `points(centre, radius, rng)` gives one polygon."""

    def paint(shape, rng, colour) -> Canvas:
        canvas = np.full((*shape, 3), colour(), dtype=np.uint8)
        for _ in range(rng.integers(*SHAPES)):
            centre = rng.uniform(0, 1, 2) * (shape[1], shape[0])
            radius = rng.uniform(*SHAPE_SIZE) * max(shape)
            cv2.fillPoly(canvas, [np.round(points(centre, radius, rng)).astype(np.int32)], colour())
        return canvas

    return paint


def _polygon(corners: int, inner: float | None = None):
    """Regular polygons at a random rotation; stars when every other corner is pulled in to `inner`."""

    def points(centre: np.ndarray, radius: float, rng: np.random.Generator) -> np.ndarray:
        count = corners if inner is None else 2 * corners
        angles = rng.uniform(0, 2 * np.pi) + np.arange(count) * 2 * np.pi / count
        radii = np.full(count, radius)
        if inner is not None:
            radii[1::2] *= inner
        return centre + radii[:, None] * np.stack([np.cos(angles), np.sin(angles)], -1)

    return points


# class name -> (hue as a fraction of the colour circle, painter)
CLASSES = {
    "stripes": (0.60, stripes),
    "checks": (0.00, checks),
    "circles": (0.33, _shapes(_polygon(CIRCLE_CORNERS))),
    "rings": (0.78, rings),
    "triangles": (0.08, _shapes(_polygon(3))),
    "squares": (0.50, _shapes(_polygon(4))),
    "blobs": (0.14, blobs),
    "grain": (0.25, grain),
    "glow": (0.90, glow),
    "stars": (0.68, _shapes(_polygon(5, STAR_INNER))),
}


def draw(name: str, rng: np.random.Generator) -> np.ndarray:
    """One (H, W, 3) uint8 image of a class."""
    hue, paint = CLASSES[name]

    def colour() -> tuple[int, int, int]:
        rgb = colorsys.hsv_to_rgb(
            (hue + rng.uniform(-HUE_SPREAD, HUE_SPREAD)) % 1, rng.uniform(*SATURATION), rng.uniform(*VALUE)
        )
        return tuple(int(255 * channel) for channel in rgb)

    shape = tuple(int(side) for side in rng.integers(*SIDE_RANGE, 2))
    image = paint(shape, rng, colour).astype(np.float32) + NOISE_STD * rng.standard_normal((*shape, 3))
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def write(root: Path, n: int, rng: np.random.Generator) -> None:
    """Write the generic set under root: n training images (classes in turn), about n/4 (at least
    one per class) for validation."""
    root = Path(root)
    counts = {"train": max(n, len(CLASSES)), "val": max(round(n * VAL_FRACTION), len(CLASSES))}
    names = list(CLASSES)
    for split in GENERIC_SPLITS:
        for index in tqdm(range(counts[split]), desc=f"generic {split}", unit="image", disable=None):
            name = names[index % len(names)]
            path = root / GENERIC_IMAGES.format(split=split) / name / f"{name}_{index:05d}.jpg"
            write_image(path, draw(name, rng))
