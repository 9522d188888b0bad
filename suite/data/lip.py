"""LIP human parsing in the SCHP layout: {split}_images/<id>.jpg with {split}_segmentations/<id>.png.

The ids of a split come from {split}_id.txt; where that file is absent they are listed from the
segmentation folder, and the split says so (`ids_from`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.data.images import read_image, read_label_map
from suite.data.layouts import LIP_CLASSES, LIP_IDS, LIP_IGNORE, LIP_IMAGES, LIP_SEGMENTATIONS, LIP_SPLITS
from suite.data.validate import listing, spread
from suite.errors import DatasetError

LAYOUT_FIX = (
    "unpack TrainVal_images and TrainVal_parsing_annotations and put {train,val}_images, "
    "{train,val}_segmentations and {train,val}_id.txt side by side in the LIP root"
)


@dataclass(frozen=True)
class LipSample:
    id: str
    image: Path
    label: Path


@dataclass(frozen=True)
class LipSplit:
    split: str
    samples: tuple[LipSample, ...]
    ids_from: str  # "<split>_id.txt", or "<split>_segmentations/ (no <split>_id.txt)"


def read_split(root: str | Path, split: str) -> LipSplit:
    """The image / label pairs of one split, each checked to exist."""
    root = Path(root)
    images, labels = root / LIP_IMAGES.format(split=split), root / LIP_SEGMENTATIONS.format(split=split)
    for folder in (images, labels):
        if not folder.is_dir():
            raise DatasetError(f"no {folder.name}/ in the LIP root; found {listing(root)}", root, LAYOUT_FIX)
    id_file = root / LIP_IDS.format(split=split)
    if id_file.is_file():
        ids, ids_from = id_file.read_text().split(), id_file.name
    else:
        ids = sorted(path.stem for path in labels.glob("*.png"))
        ids_from = f"{labels.name}/ (no {id_file.name})"
    if not ids:
        raise DatasetError(f"no ids for {split} (ids from {ids_from})", root, LAYOUT_FIX)
    samples = tuple(LipSample(stem, images / f"{stem}.jpg", labels / f"{stem}.png") for stem in ids)
    for sample in samples:
        for path in (sample.image, sample.label):
            if not path.is_file():
                raise DatasetError(f"{sample.id} (ids from {ids_from}) has no file here", path, LAYOUT_FIX)
    return LipSplit(split, samples, ids_from)


def read_sample(sample: LipSample) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 3) uint8 RGB image and (H, W) uint8 class ids 0-19 (255 ignore), validated."""
    image, label = read_image(sample.image), read_label_map(sample.label)
    if image.shape[:2] != label.shape:
        raise DatasetError(
            f"label map is {label.shape[1]}x{label.shape[0]}, its image {image.shape[1]}x{image.shape[0]}",
            sample.label,
            "use the segmentation that belongs to this image",
        )
    values = np.unique(label)
    bad = values[(values >= len(LIP_CLASSES)) & (values != LIP_IGNORE)]
    if bad.size:
        raise DatasetError(
            f"label values {bad.tolist()} are not LIP class ids 0-{len(LIP_CLASSES) - 1} or {LIP_IGNORE}",
            sample.label,
            "use LIP's original class-id PNGs (not colourised visualisations)",
        )
    return image, label


def check(root: Path) -> str:
    """Validate both splits (every pair exists; a few decoded and validated); one-line summary."""
    splits = [read_split(root, split) for split in LIP_SPLITS]
    for sample in spread([sample for split in splits for sample in split.samples]):
        read_sample(sample)
    return "; ".join(f"{s.split}: {len(s.samples)} pairs (ids from {s.ids_from})" for s in splits)
