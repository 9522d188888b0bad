"""MPII in the HRNet / SimpleBaseline layout: the json list of persons and the MATLAB ground truth.

The json values are MATLAB's, 1-based, and are kept raw in the records; `joints0` / `center0` give
the 0-based pixels the protocols work in, and `protocol_center_scale` the fine-tuning crop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from suite.data.images import read_image
from suite.data.layouts import MPII_ANNOTATIONS, MPII_GT_VALID, MPII_IMAGES, MPII_SPLITS
from suite.data.skeleton import MPII_JOINTS
from suite.data.validate import (
    describe,
    listing,
    read_json,
    require_array,
    require_finite,
    require_keys,
    spread,
)
from suite.errors import DatasetError

NUM_JOINTS = len(MPII_JOINTS)
SC_BIAS = 0.6  # head size = head-box diagonal x SC_BIAS (MPII's PCKh)
PIXEL_STD = 200  # MPII's scale is the person's height / PIXEL_STD pixels
CENTER_SHIFT = 15  # HRNet moves the centre down CENTER_SHIFT x scale pixels
SCALE_MULT = 1.25  # and enlarges the box by this
JSON_FIX = "use the HRNet / SimpleBaseline MPII annotations (annot/{train,valid}.json)"
GT_FIX = "use annot/gt_valid.mat from the HRNet / SimpleBaseline MPII annotations"


@dataclass(frozen=True, eq=False)
class MpiiPerson:
    """One person as the json has it: 1-based MATLAB pixels, scale = person height / 200."""

    image: str
    center: np.ndarray  # (2,)
    scale: float
    joints: np.ndarray  # (16, 2)
    joints_vis: np.ndarray  # (16,) 0/1

    @property
    def center0(self) -> np.ndarray:
        return self.center - 1

    @property
    def joints0(self) -> np.ndarray:
        return self.joints - 1


def protocol_center_scale(person: MpiiPerson) -> tuple[np.ndarray, float]:
    """The fine-tuning crop as HRNet's loader makes it: 0-based centre moved down 15 * scale, scale x 1.25.

    As there, the adjustment is skipped for a centre whose x is -1 (no person box). The crop is
    square, scale * 200 pixels on a side.
    """
    center, scale = person.center.copy(), person.scale
    if center[0] != -1:
        center[1] += CENTER_SHIFT * scale
        scale *= SCALE_MULT
    return center - 1, scale


def person_box(person: MpiiPerson) -> np.ndarray:
    """[x1, y1, x2, y2], 0-based: the person's square as HRNet centres it, before its enlargement (side
    PIXEL_STD x scale about the annotated centre moved down CENTER_SHIFT x scale)."""
    center = person.center0 + np.array([0.0, CENTER_SHIFT * person.scale])
    half = PIXEL_STD * person.scale / 2
    return np.concatenate([center - half, center + half])


def read_annotations(json_path: str | Path, images_dir: str | Path | None = None) -> tuple[MpiiPerson, ...]:
    """Read and validate an HRNet MPII json list; with images_dir, every image must exist there."""
    path = Path(json_path)
    data = read_json(path, JSON_FIX)
    if not isinstance(data, list):
        raise DatasetError(f"expected a list of persons, found {describe(data)}", path, JSON_FIX)
    persons = tuple(_read_person(entry, n, path) for n, entry in enumerate(data))
    if images_dir is not None:
        for name in sorted({person.image for person in persons}):
            if not (Path(images_dir) / name).is_file():
                raise DatasetError(
                    f"{name}, referenced by {path.name}, is not in {images_dir}",
                    Path(images_dir) / name,
                    "extract mpii_human_pose_v1.tar.gz into the images folder",
                )
    return persons


def _read_person(entry: object, n: int, path: Path) -> MpiiPerson:
    what = f"person {n}"
    require_keys(entry, ("image", "center", "scale", "joints", "joints_vis"), what, path, JSON_FIX)

    def array(key: str, shape: tuple[int, ...]) -> np.ndarray:
        return require_array(entry[key], shape, f"{what} {key}", path, JSON_FIX)

    return MpiiPerson(
        image=str(entry["image"]),
        center=array("center", (2,)),
        scale=float(array("scale", ())),
        joints=array("joints", (NUM_JOINTS, 2)),
        joints_vis=array("joints_vis", (NUM_JOINTS,)),
    )


@dataclass(frozen=True, eq=False)
class GroundTruth:
    """gt_valid.mat in MATLAB's layout; N persons in the order of valid.json, 1-based pixels."""

    dataset_joints: tuple[str, ...]  # 16 short names, e.g. "head" (= head_top, index 9)
    jnt_missing: np.ndarray  # (16, N), 1 where the joint is not annotated
    pos_gt_src: np.ndarray  # (16, 2, N)
    headboxes_src: np.ndarray  # (2, 2, N): corner (top-left, bottom-right) x (x, y) x person

    def __len__(self) -> int:
        return self.jnt_missing.shape[1]

    def head_sizes(self) -> np.ndarray:
        """(N,) PCKh normaliser: the head box diagonal x SC_BIAS."""
        return np.linalg.norm(self.headboxes_src[1] - self.headboxes_src[0], axis=0) * SC_BIAS


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read and validate gt_valid.mat."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, GT_FIX)
    try:
        mat = scipy.io.loadmat(path)
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, IndexError, zlib.error) as error:
        raise DatasetError(
            f"not a readable MATLAB file, truncated or corrupt ({error})", path, GT_FIX
        ) from error
    keys = ("dataset_joints", "jnt_missing", "pos_gt_src", "headboxes_src")
    require_keys(mat, keys, "the MATLAB file", path, GT_FIX)
    jnt_missing = require_array(mat["jnt_missing"], (NUM_JOINTS, None), "jnt_missing", path, GT_FIX)
    n = jnt_missing.shape[1]
    pos_gt_src = require_array(
        mat["pos_gt_src"], (NUM_JOINTS, 2, n), "pos_gt_src", path, GT_FIX, finite=False
    )
    annotated = (jnt_missing == 0)[:, None, :]  # a missing joint's position is not read
    require_finite(pos_gt_src, ~np.isfinite(pos_gt_src) & annotated, "pos_gt_src", path, GT_FIX)
    headboxes_src = require_array(mat["headboxes_src"], (2, 2, n), "headboxes_src", path, GT_FIX)
    return GroundTruth(_joint_names(mat["dataset_joints"], path), jnt_missing, pos_gt_src, headboxes_src)


def _joint_names(cells: np.ndarray, path: Path) -> tuple[str, ...]:
    """MATLAB's 1 x 16 cell of strings as a tuple."""
    names = tuple(_text(cell) for cell in np.asarray(cells).ravel())
    if len(names) != NUM_JOINTS or not all(names):
        raise DatasetError(f"dataset_joints holds {names}, expected {NUM_JOINTS} joint names", path, GT_FIX)
    return names


def _text(cell: object) -> str:
    """The string inside a MATLAB cell, however deeply loadmat wrapped it ("" if there is none)."""
    while isinstance(cell, np.ndarray):
        if cell.size != 1:
            return ""
        cell = cell.ravel()[0]
    return str(cell)


def check(root: Path) -> str:
    """Validate both json splits, gt_valid.mat (same N as valid.json) and the images; one-line summary."""
    root = Path(root)
    _check_layout(root)
    images = root / MPII_IMAGES
    splits = {
        split: read_annotations(root / MPII_ANNOTATIONS.format(split=split), images) for split in MPII_SPLITS
    }
    gt_path = root / MPII_GT_VALID
    gt = read_ground_truth(gt_path)
    if len(gt) != len(splits["valid"]):
        raise DatasetError(
            f"holds {len(gt)} persons, valid.json {len(splits['valid'])}; they must be the same persons",
            gt_path,
            "take gt_valid.mat and valid.json from the same annotation download",
        )
    names = sorted({person.image for persons in splits.values() for person in persons})
    for name in spread(names):
        read_image(images / name)
    parts = [
        f"{split}: {len(persons)} persons / {len({p.image for p in persons})} images"
        for split, persons in splits.items()
    ]
    return "; ".join([*parts, f"gt_valid.mat: {len(gt)} persons"])


def _check_layout(root: Path) -> None:
    if (root / MPII_ANNOTATIONS.format(split="valid")).is_file():
        return
    if (root / "annotations" / "mpii_val.json").is_file():
        raise DatasetError(
            "this is mmpose's MPII layout (annotations/mpii_*.json); expected annot/{train,valid}.json",
            root,
            "link annot/train.json, annot/valid.json and annot/gt_valid.mat to mmpose's mpii_train.json, "
            "mpii_val.json and mpii_gt_val.mat",
        )
    if (root / "valid.json").is_file():
        raise DatasetError(
            "this is the annot folder; expected annot/valid.json below the root", root, f"use {root.parent}"
        )
    raise DatasetError(
        f"no {MPII_ANNOTATIONS.format(split='valid')}; found {listing(root)}",
        root,
        "put the HRNet MPII annotations in annot/ and the images in images/ under the MPII root",
    )
