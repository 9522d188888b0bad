"""mmhuman3d's early HumanData npz, which its Human3.6M and 3DPW preprocessors both wrote.

Source: downstream-protocols.md §7 (data/preprocessed_datasets/*.npz). Its object arrays (`smpl`,
`meta`) are unpickled allowing numpy data only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.data.safe_pickle import load_npz
from suite.data.validate import require_array, require_keys
from suite.errors import DatasetError

FIX_HUMANDATA = "regenerate it with mmhuman3d's dataset converter"


@dataclass(frozen=True, eq=False)
class HumanData:
    """One early-mmhuman3d npz: boxes and keypoints (H36M) or SMPL parameters and genders (3DPW)."""

    config: str  # the dataset, e.g. 'h36m' or '3dpw'
    image_paths: tuple[str, ...]
    boxes: np.ndarray  # (N, 4) x, y, w, h
    keypoints_2d: np.ndarray | None  # (N, K, 3) x, y, confidence
    keypoints_3d: np.ndarray | None  # (N, K, 4) x, y, z (m, root-relative), confidence
    mask: np.ndarray | None  # (K,) bool, which of the K convention slots are populated
    global_orient: np.ndarray | None  # (N, 3) axis-angle
    body_pose: np.ndarray | None  # (N, 23, 3) axis-angle
    betas: np.ndarray | None  # (N, 10)
    genders: tuple[str, ...] | None  # 'm' / 'f'


def read_humandata(path: str | Path) -> HumanData:
    path = Path(path)
    data = load_npz(path, FIX_HUMANDATA)
    require_keys(data, ("image_path", "bbox_xywh", "config"), "the npz", path, FIX_HUMANDATA)
    names = require_array(data["image_path"], (None,), "image_path", path, FIX_HUMANDATA, dtype=str)
    n = len(names)

    def optional(key: str, shape: tuple[int | None, ...], source: Mapping = data) -> np.ndarray | None:
        return require_array(source[key], shape, key, path, FIX_HUMANDATA) if key in source else None

    keypoints_2d = optional("keypoints2d", (n, None, 3))
    slots = None if keypoints_2d is None else keypoints_2d.shape[1]
    smpl = _item(data, "smpl", path)
    meta = _item(data, "meta", path)
    if smpl:
        require_keys(smpl, ("global_orient", "body_pose", "betas"), "smpl", path, FIX_HUMANDATA)
    genders = None
    if "gender" in meta:
        gender = require_array(meta["gender"], (n,), "meta gender", path, FIX_HUMANDATA, dtype=str)
        genders = tuple(str(value) for value in gender)
    return HumanData(
        config=str(data["config"]),
        image_paths=tuple(str(name) for name in names),
        boxes=require_array(data["bbox_xywh"], (n, 4), "bbox_xywh", path, FIX_HUMANDATA),
        keypoints_2d=keypoints_2d,
        keypoints_3d=optional("keypoints3d", (n, slots, 4)),
        mask=None if "mask" not in data else optional("mask", (slots,)).astype(bool),
        global_orient=optional("global_orient", (n, 3), smpl),
        body_pose=optional("body_pose", (n, 23, 3), smpl),
        betas=optional("betas", (n, 10), smpl),
        genders=genders,
    )


def _item(data: dict[str, np.ndarray], key: str, path: Path) -> dict:
    """The dict a 0-d object array holds (empty when absent)."""
    if key not in data:
        return {}
    value = data[key].item() if data[key].shape == () else None
    if not isinstance(value, dict):
        raise DatasetError(f"{key} should be a 0-d object array holding a dict", path, FIX_HUMANDATA)
    return value
