"""COCO-format person keypoints, detection results, the COCO layout, and the paper's human crops.

Any COCO-style keypoint file reads here: COCO itself, COCO-WholeBody (its body `keypoints`), the
merged 133-point WholeBody file, MPII-TRB and mmpose's COCO-style Human3.6M file. The human crops
for pre-training follow the paper's appendix A: each person box grown to height:width = 4:3 about
its centre, cut out (zeros outside the image) and resized to 256x192. By default the persons cropped
are the non-crowd ones with a box and at least one labelled keypoint: 149,813 on train2017, the
paper's "~150K images" (about 257k when persons without labelled keypoints are included too).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from suite.data.images import read_image, write_image
from suite.data.layouts import (
    COCO_DETECTIONS,
    COCO_IMAGES,
    COCO_IMAGES_MMPOSE,
    COCO_KEYPOINTS,
    COCO_SPLITS,
)
from suite.data.validate import (
    describe,
    listing,
    read_json,
    require_array,
    require_keys,
    require_number,
    spread,
)
from suite.errors import DatasetError
from suite.io import atomic_write_bytes

Box = tuple[float, float, float, float]  # x, y, width, height in pixels

KEYPOINTS_FIX = "use a COCO-format person keypoints file (e.g. annotations/person_keypoints_val2017.json)"
DETECTIONS_FIX = f"use COCO results-format person boxes such as {COCO_DETECTIONS}"
CROP_SIZE = (256, 192)  # (height, width) of a pre-training crop, paper appendix A


# --- keypoint annotations ------------------------------------------------------------------------


@dataclass(frozen=True)
class CocoImage:
    id: int
    file_name: str
    width: int
    height: int
    path: Path | None  # None when read without an images folder


@dataclass(frozen=True, eq=False)
class Person:
    """One person annotation; keypoints (K, 3) are [x, y, v] as in the file (v: 0 unlabelled, 1, 2)."""

    id: int
    image_id: int
    bbox: Box | None  # None where the file has no box (MPII-TRB)
    area: float | None
    iscrowd: bool
    num_keypoints: int  # the file's num_keypoints, else the count of labelled (v > 0) keypoints
    keypoints: np.ndarray
    keypoints_3d: np.ndarray | None = None  # (K, 4) [x, y, z, v] where the file has them (H36M)


@dataclass(frozen=True)
class CocoKeypoints:
    path: Path
    keypoint_names: tuple[str, ...]  # categories[0].keypoints; fewer than K in the merged WholeBody file
    num_keypoints: int  # K, the keypoints of every person
    images: dict[int, CocoImage]
    persons: tuple[Person, ...]


def read_keypoints(
    json_path: str | Path, images_dir: str | Path | None = None, num_keypoints: int | None = None
) -> CocoKeypoints:
    """Read and validate a COCO-format person keypoints file.

    K is the number of names in categories[0].keypoints. A file that appends unnamed keypoints
    after the named ones (mmpose's merged 133-point WholeBody file names only the 17 body joints)
    reads with num_keypoints=K given explicitly; otherwise a length mismatch is an error.
    With images_dir, every image must exist there.
    """
    path = Path(json_path)
    data = read_json(path, KEYPOINTS_FIX)
    if not isinstance(data, dict) or not {"images", "annotations", "categories"} <= data.keys():
        found = describe(data)
        if isinstance(data, list) and data and isinstance(data[0], dict) and "score" in data[0]:
            found += " (detection results? read them with read_detections)"
        raise DatasetError(f"expected a COCO keypoints file, found {found}", path, KEYPOINTS_FIX)
    names = _keypoint_names(data["categories"], path)
    k = len(names) if num_keypoints is None else num_keypoints
    if k < len(names):
        raise DatasetError(
            f"num_keypoints={k} is fewer than the {len(names)} names in categories[0]", path, KEYPOINTS_FIX
        )
    images = _read_images(data["images"], path, None if images_dir is None else Path(images_dir))
    category_id = data["categories"][0].get("id")
    persons = tuple(
        _read_person(ann, k, len(names), images, category_id, path) for ann in data["annotations"]
    )
    return CocoKeypoints(path, names, k, images, persons)


def _keypoint_names(categories: object, path: Path) -> tuple[str, ...]:
    if not isinstance(categories, list) or not categories or not isinstance(categories[0], dict):
        raise DatasetError("categories is not a non-empty list of dicts", path, KEYPOINTS_FIX)
    if "keypoints" not in categories[0]:
        raise DatasetError(
            "categories[0] has no keypoints list (an instances file, not person keypoints)",
            path,
            KEYPOINTS_FIX,
        )
    return tuple(str(name) for name in categories[0]["keypoints"])


def _read_images(entries: object, path: Path, images_dir: Path | None) -> dict[int, CocoImage]:
    if not isinstance(entries, list):
        raise DatasetError("images is not a list", path, KEYPOINTS_FIX)
    images: dict[int, CocoImage] = {}
    for n, entry in enumerate(entries):
        require_keys(entry, ("id", "file_name", "width", "height"), f"images[{n}]", path, KEYPOINTS_FIX)
        image_id = require_number(entry["id"], f"images[{n}] id", path, KEYPOINTS_FIX, int)
        if image_id in images:
            raise DatasetError(f"image id {image_id} appears twice in images", path, KEYPOINTS_FIX)
        file = None if images_dir is None else images_dir / entry["file_name"]
        if file is not None and not file.is_file():
            raise DatasetError(
                f"image {image_id} ({entry['file_name']}) is not in {images_dir}",
                file,
                "extract the split's images next to its annotations (or fix the images folder)",
            )
        width, height = (
            require_number(entry[key], f"image {image_id} {key}", path, KEYPOINTS_FIX, int)
            for key in ("width", "height")
        )
        images[image_id] = CocoImage(image_id, str(entry["file_name"]), width, height, file)
    return images


def _read_person(
    ann: object, k: int, named: int, images: dict[int, CocoImage], category_id: object, path: Path
) -> Person:
    require_keys(ann, ("id", "image_id", "keypoints"), "an annotation", path, KEYPOINTS_FIX)
    what = f"annotation {ann['id']}"
    image_id = require_number(ann["image_id"], f"{what} image_id", path, KEYPOINTS_FIX, int)
    if image_id not in images:
        raise DatasetError(f"{what} refers to image {image_id}, which is not in images", path, KEYPOINTS_FIX)
    if ann.get("category_id", category_id) != category_id:
        raise DatasetError(
            f"{what} has category {ann['category_id']}, not the keypoint category {category_id}",
            path,
            KEYPOINTS_FIX,
        )
    keypoints = _keypoints(ann["keypoints"], k, 3, f"{what} keypoints", path, named)
    keypoints_3d = None
    if "keypoints_3d" in ann:
        keypoints_3d = _keypoints(ann["keypoints_3d"], k, 4, f"{what} keypoints_3d", path)
    bbox = None
    if "bbox" in ann:
        bbox = tuple(require_array(ann["bbox"], (4,), f"{what} bbox", path, KEYPOINTS_FIX).tolist())
    labelled = int(np.count_nonzero(keypoints[:, 2] > 0))
    area = None if "area" not in ann else require_number(ann["area"], f"{what} area", path, KEYPOINTS_FIX)
    return Person(
        id=require_number(ann["id"], f"{what} id", path, KEYPOINTS_FIX, int),
        image_id=image_id,
        bbox=bbox,
        area=area,
        iscrowd=bool(ann.get("iscrowd", 0)),
        num_keypoints=require_number(
            ann.get("num_keypoints", labelled), f"{what} num_keypoints", path, KEYPOINTS_FIX, int
        ),
        keypoints=keypoints,
        keypoints_3d=keypoints_3d,
    )


def _keypoints(
    values: object, k: int, width: int, what: str, path: Path, named: int | None = None
) -> np.ndarray:
    """A flat list of k * width numbers as a (k, width) array; with `named`, extras suggest num_keypoints."""
    flat = require_array(values, (None,), what, path, KEYPOINTS_FIX)
    if len(flat) != k * width:
        fix = KEYPOINTS_FIX
        if named is not None and len(flat) % width == 0 and len(flat) > k * width:
            fix = (
                f"if the file appends unnamed keypoints after the {named} named ones (e.g. merged "
                f"COCO-WholeBody), read it with num_keypoints={len(flat) // width}"
            )
        raise DatasetError(
            f"{what} has shape {flat.shape}, expected {k * width} values ({k} x {width})", path, fix
        )
    return flat.reshape(k, width)


# --- detection results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Detection:
    image_id: int
    category_id: int
    bbox: Box
    score: float


def read_detections(path: str | Path) -> list[Detection]:
    """Read COCO results-format boxes: a list of {image_id, category_id, bbox [x, y, w, h], score}."""
    path = Path(path)
    data = read_json(path, DETECTIONS_FIX)
    if not isinstance(data, list):
        raise DatasetError(f"expected a list of detections, found {describe(data)}", path, DETECTIONS_FIX)
    detections = []
    for n, entry in enumerate(data):
        what = f"detection {n}"
        require_keys(entry, ("image_id", "category_id", "bbox", "score"), what, path, DETECTIONS_FIX)
        bbox = require_array(entry["bbox"], (4,), f"{what} bbox", path, DETECTIONS_FIX)
        image_id, category_id = (
            require_number(entry[key], f"{what} {key}", path, DETECTIONS_FIX, int)
            for key in ("image_id", "category_id")
        )
        score = require_number(entry["score"], f"{what} score", path, DETECTIONS_FIX)
        detections.append(Detection(image_id, category_id, tuple(bbox.tolist()), score))
    return detections


# --- the dataset layout --------------------------------------------------------------------------


def keypoints_file(root: str | Path, split: str) -> Path:
    """annotations/person_keypoints_{split}.json under a COCO root, or a DatasetError saying what is there."""
    root = Path(root)
    path = root / COCO_KEYPOINTS.format(split=split)
    if path.is_file():
        return path
    if not root.is_dir():
        raise DatasetError(
            "COCO root does not exist", root, "point the COCO root at the folder holding annotations/"
        )
    if (root / path.name).is_file():
        raise DatasetError(
            f"this is the annotations folder; expected {COCO_KEYPOINTS.format(split=split)} below the root",
            root,
            f"use its parent, {root.parent}, as the COCO root",
        )
    raise DatasetError(
        f"no {COCO_KEYPOINTS.format(split=split)}; found {listing(root)}",
        root,
        "download annotations_trainval2017.zip from cocodataset.org and unzip it in the COCO root",
    )


def images_folder(root: str | Path, split: str) -> Path:
    """images/{split}/ (HRNet layout) or {split}/ (mmpose layout) under a COCO root."""
    root = Path(root)
    for layout in (COCO_IMAGES, COCO_IMAGES_MMPOSE):
        if (root / layout.format(split=split)).is_dir():
            return root / layout.format(split=split)
    raise DatasetError(
        f"no {COCO_IMAGES.format(split=split)}/ (nor {split}/); found {listing(root)}",
        root,
        f"unzip {split}.zip from cocodataset.org into {root / 'images'}",
    )


def detections_file(root: str | Path) -> Path:
    path = Path(root) / COCO_DETECTIONS
    if not path.is_file():
        raise DatasetError(
            "person detections for val2017 not found",
            path,
            "download them with the HRNet / SimpleBaseline COCO instructions (AP 56.4 person detector)",
        )
    return path


def read_split(root: str | Path, split: str) -> CocoKeypoints:
    """The person keypoints of one split, every image checked to exist."""
    return read_keypoints(keypoints_file(root, split), images_folder(root, split))


def check(root: Path) -> str:
    """Validate both splits, their images (stat; a few decoded) and the val detections; one-line summary."""
    splits = {split: read_split(root, split) for split in COCO_SPLITS}
    parts = [
        f"{split}: {len(coco.persons)} persons / {len(coco.images)} images" for split, coco in splits.items()
    ]
    detections = read_detections(detections_file(root))
    unknown = {d.image_id for d in detections} - splits["val2017"].images.keys()
    if unknown:
        raise DatasetError(
            f"{len(unknown)} detected image ids are not in val2017, e.g. {min(unknown)}",
            detections_file(root),
            "use the detections made on val2017",
        )
    parts.append(f"detections: {len(detections)} boxes")
    for image in spread([image for coco in splits.values() for image in coco.images.values()]):
        _decode(image)
    return "; ".join(parts)


def _decode(image: CocoImage) -> None:
    shape = read_image(image.path).shape[:2]
    if shape != (image.height, image.width):
        raise DatasetError(
            f"image is {shape[1]}x{shape[0]}, the annotations say {image.width}x{image.height}",
            image.path,
            "re-download the image (it does not belong to these annotations)",
        )


# --- human crops for pre-training (paper appendix A) ---------------------------------------------


def crop_box(bbox_xywh: Box, aspect: tuple[float, float] = (4, 3)) -> Box:
    """Grow the short side of a box about its centre until height:width = aspect; nothing is cut."""
    x, y, w, h = (float(v) for v in bbox_xywh)
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
        raise ValueError(
            f"box {tuple(bbox_xywh)} has no area; a crop needs a finite, positive width and height"
        )
    ratio = aspect[0] / aspect[1]
    new_w, new_h = (h / ratio, h) if h > ratio * w else (w, w * ratio)
    return (x + (w - new_w) / 2, y + (h - new_h) / 2, new_w, new_h)


def human_crop(image: np.ndarray, bbox_xywh: Box, size: tuple[int, int] = CROP_SIZE) -> np.ndarray:
    """The person in bbox as a size = (height, width) uint8 crop: box grown to that aspect, zeros outside."""
    out_h, out_w = size
    x, y, w, _ = crop_box(bbox_xywh, aspect=size)
    s = out_w / w  # the same scale in y: the crop box has the output's aspect
    # Pixel i covers [i, i + 1): the box's left edge maps to 0 and its right edge to out_w. Edges are
    # replicated for interpolation, then every output pixel sampled from outside the image is zeroed.
    affine = np.array([[s, 0, (0.5 - x) * s - 0.5], [0, s, (0.5 - y) * s - 0.5]])
    crop = cv2.warpAffine(
        image, affine, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    source_x = (np.arange(out_w) + 0.5) / s + x  # in the image's pixel-edge coordinates
    source_y = (np.arange(out_h) + 0.5) / s + y
    crop[:, (source_x < 0) | (source_x > image.shape[1])] = 0
    crop[(source_y < 0) | (source_y > image.shape[0])] = 0
    return crop


@dataclass(frozen=True)
class Selection:
    persons: tuple[Person, ...]
    skipped: dict[str, int]  # how many persons each rule left out


def select_persons(coco: CocoKeypoints, require_keypoints: bool = True) -> Selection:
    """The persons to crop: not crowd, with a box of positive area and (if required) a labelled keypoint.

    The default is the paper's set (~150K on train2017); require_keypoints=False keeps every boxed person.
    """
    kept, skipped = [], Counter()
    for person in coco.persons:
        if person.iscrowd:
            skipped["crowd"] += 1
        elif person.bbox is None:
            skipped["no box"] += 1
        elif not (person.bbox[2] > 0 and person.bbox[3] > 0):  # also refuses NaN
            skipped["empty box"] += 1
        elif require_keypoints and not np.any(person.keypoints[:, 2] > 0):
            skipped["no keypoints"] += 1
        else:
            kept.append(person)
    return Selection(tuple(kept), dict(skipped))


def write_crops(
    root_or_json: str | Path, out_dir: str | Path, split: str = "train2017", require_keypoints: bool = True
) -> Path:
    """Write each selected person's crop as out_dir/crops/<image id>_<annotation id>.jpg, then index.json.

    root_or_json is a COCO root (the split's annotations and images are read) or a keypoints file
    whose images lie beside it. Every crop is written atomically, so one already present is whole
    and is kept (an interrupted run resumes); the index, written last and atomically, marks the set
    finished and records the source, the skipped counts and per crop its image, annotation and boxes.
    """
    source, out_dir = Path(root_or_json), Path(out_dir)
    coco = read_keypoints(source, source.parent) if source.is_file() else read_split(source, split)
    selection = select_persons(coco, require_keypoints)
    by_image: dict[int, list[Person]] = {}
    for person in selection.persons:
        by_image.setdefault(person.image_id, []).append(person)
    entries = []
    for image_id, persons in tqdm(by_image.items(), desc="COCO crops", unit="image", disable=None):
        files = [f"crops/{image_id:012d}_{person.id}.jpg" for person in persons]
        image = None
        for file, person in zip(files, persons, strict=True):
            if not (out_dir / file).is_file():
                image = read_image(coco.images[image_id].path) if image is None else image
                write_image(out_dir / file, human_crop(image, person.bbox))
            box = crop_box(person.bbox)
            entries.append(
                dict(file=file, image_id=image_id, annotation_id=person.id, bbox=person.bbox, crop_box=box)
            )
    index = {
        "source": str(coco.path),
        "split": split,
        "crop_size": list(CROP_SIZE),
        "count": len(entries),
        "skipped": selection.skipped,
        "crops": entries,
    }
    path = out_dir / "index.json"
    atomic_write_bytes(path, json.dumps(index).encode())
    return path
