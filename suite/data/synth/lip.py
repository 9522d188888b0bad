"""SynthHuman LIP: person crops with their part label maps, in the Self-Correction-Human-Parsing layout.

{split}_images/<id>.jpg (a few grayscale, as in LIP), {split}_segmentations/<id>.png single-channel
LIP class ids (0 background), {split}_id.txt listing the ids. Each crop holds one person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from suite.data.images import write_image
from suite.data.kinematic_prior import sample_skeletons
from suite.data.layouts import LIP_IDS, LIP_IMAGES, LIP_SEGMENTATIONS, LIP_SPLITS
from suite.data.synth.camera import place_at
from suite.data.synth.figure import dress
from suite.data.synth.render import render
from suite.io import atomic_write_bytes

HEIGHT_RANGE = (80, 200)  # crop height, px
FOCAL_PER_HEIGHT = 1.5  # focal length / crop height
PADDING = 150.0  # mm around the outermost joints, for the head, hands and feet
MIN_WIDTH = 16  # px
GRAYSCALE_FRACTION = 0.1
GREY_WEIGHTS = np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
VAL_FRACTION = 0.25
MIN_VAL = 4
ID_PARTS = ((1, 100_000), (1_000_000, 10_000_000))  # ids look like 1000_1234567


def crop(rng: np.random.Generator):
    """One person framed tightly: (image, labels)."""
    crop_height = rng.integers(*HEIGHT_RANGE)
    focal = np.full(2, FOCAL_PER_HEIGHT * crop_height)
    skeleton = sample_skeletons(1, rng=rng, normalize=False)[0].astype(np.float64)
    joints = place_at(skeleton, np.zeros(2), crop_height, focal, np.zeros(2))
    pixels = joints[:, :2] / joints[:, 2:] * focal
    pad = PADDING * focal[0] / joints[:, 2].min()
    low, high = pixels.min(axis=0) - pad, pixels.max(axis=0) + pad
    width, height = np.maximum(np.ceil(high - low).astype(int), MIN_WIDTH)
    scene = render([dress(joints, rng)], focal, -low, (int(width), int(height)), rng).scene
    image = scene.image
    if rng.random() < GRAYSCALE_FRACTION:
        image = np.round(image @ GREY_WEIGHTS).astype(np.uint8)
    return image, scene.labels


def new_id(rng: np.random.Generator, used: set[str]) -> str:
    """A LIP-style id not in `used` (and now added to it)."""
    while (name := "_".join(str(rng.integers(*part)) for part in ID_PARTS)) in used:
        pass
    used.add(name)
    return name


def write(root: Path, n: int, rng: np.random.Generator) -> None:
    """Write SynthHuman LIP under root: n training crops, about n/4 for validation."""
    root = Path(root)
    counts = {"train": n, "val": max(round(n * VAL_FRACTION), MIN_VAL)}
    used: set[str] = set()
    for split in LIP_SPLITS:
        ids = []
        for _ in tqdm(range(counts[split]), desc=f"lip {split}", unit="crop", disable=None):
            name = new_id(rng, used)
            image, labels = crop(rng)
            write_image(root / LIP_IMAGES.format(split=split) / f"{name}.jpg", image)
            write_image(root / LIP_SEGMENTATIONS.format(split=split) / f"{name}.png", labels)
            ids.append(name)
        atomic_write_bytes(root / LIP_IDS.format(split=split), "".join(f"{name}\n" for name in ids).encode())
