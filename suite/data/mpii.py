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

from suite.data.coco import listing, read_json
from suite.data.images import read_image
from suite.data.layouts import MPII_ANNOTATIONS, MPII_GT_VALID, MPII_IMAGES, MPII_SPLITS
from suite.data.skeleton import MPII_JOINTS
from suite.errors import DatasetError

NUM_JOINTS = len(MPII_JOINTS)
SC_BIAS = 0.6  # head size = head-box diagonal x SC_BIAS (MPII's PCKh)
JSON_FIX = "use the HRNet / SimpleBaseline MPII annotations (annot/{train,valid}.json)"
GT_FIX = "use annot/gt_valid.mat from the HRNet / SimpleBaseline MPII annotations"
CHECK_DECODES = 8  # images fully decoded by check(), spread over the set


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
        center[1] += 15 * scale
        scale *= 1.25
    return center - 1, scale


def read_annotations(json_path: str | Path, images_dir: str | Path | None = None) -> tuple[MpiiPerson, ...]:
    """Read and validate an HRNet MPII json list; with images_dir, every image must exist there."""
    path = Path(json_path)
    data = read_json(path, JSON_FIX)
    if not isinstance(data, list):
        found = f"a dict with keys {sorted(data)}" if isinstance(data, dict) else type(data).__name__
        raise DatasetError(f"expected a list of persons, found {found}", path, JSON_FIX)
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
    keys = ("image", "center", "scale", "joints", "joints_vis")
    if not isinstance(entry, dict) or not set(keys) <= entry.keys():
        found = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise DatasetError(f"person {n} lacks some of {', '.join(keys)} (found {found})", path, JSON_FIX)
    try:
        center = np.asarray(entry["center"], dtype=np.float64)
        joints = np.asarray(entry["joints"], dtype=np.float64)
        joints_vis = np.asarray(entry["joints_vis"], dtype=np.float64)
        scale = float(entry["scale"])
    except (TypeError, ValueError) as error:
        raise DatasetError(f"person {n} has values that are not numbers ({error})", path, JSON_FIX) from error
    for what, array, shape in (("center", center, (2,)), ("joints", joints, (NUM_JOINTS, 2))):
        if array.shape != shape:
            raise DatasetError(f"person {n} {what} has shape {array.shape}, expected {shape}", path, JSON_FIX)
    if joints_vis.shape != (NUM_JOINTS,):
        raise DatasetError(
            f"person {n} joints_vis has shape {joints_vis.shape}, expected ({NUM_JOINTS},)", path, JSON_FIX
        )
    return MpiiPerson(str(entry["image"]), center, scale, joints, joints_vis)


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
    missing = [
        key for key in ("dataset_joints", "jnt_missing", "pos_gt_src", "headboxes_src") if key not in mat
    ]
    if missing:
        raise DatasetError(f"lacks {', '.join(missing)}", path, GT_FIX)
    arrays = {
        key: np.asarray(mat[key], dtype=np.float64) for key in ("jnt_missing", "pos_gt_src", "headboxes_src")
    }
    n = arrays["jnt_missing"].shape[-1]  # loadmat gives at least 2-d arrays
    expected = {"jnt_missing": (NUM_JOINTS, n), "pos_gt_src": (NUM_JOINTS, 2, n), "headboxes_src": (2, 2, n)}
    for key, shape in expected.items():
        if arrays[key].shape != shape:
            raise DatasetError(f"{key} has shape {arrays[key].shape}, expected {shape}", path, GT_FIX)
    return GroundTruth(_joint_names(mat["dataset_joints"], path), **arrays)


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
    for n in np.linspace(0, len(names) - 1, min(CHECK_DECODES, len(names))).astype(int):
        read_image(images / names[n])
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
