"""`data check`: one row per dataset (valid, missing or invalid), with what was expected and the fix."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from suite.config import env_var
from suite.data.layouts import DATASETS
from suite.errors import DatasetError

# What each dataset root must hold (layouts.py has the exact paths).
EXPECTED = {
    "coco": "annotations/person_keypoints_{train,val}2017.json, images/{train,val}2017/, "
    "person_detection_results/COCO_val2017_detections_AP_H_56_person.json",
    "mpii": "annot/{train,valid}.json, annot/gt_valid.mat, images/",
    "h36m": "annotations/Sample_*_Human36M_protocol_2.json and/or annot/h36m_{train,validation}.pkl, images/",
    "pw3d": "sequenceFiles/{train,validation,test}/*.pkl, imageFiles/<sequence>/",
    "lip": "{train,val}_images/, {train,val}_segmentations/, {train,val}_id.txt",
    "generic": "{train,val}/<class>/<image> (ImageFolder; ImageNet or SynthHuman's generic set)",
    "smpl": "smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl, J_regressor_h36m.npy",
}
# The module whose check(root) -> summary validates each dataset.
MODULES = {name: f"suite.data.{name}" for name in DATASETS}


@dataclass(frozen=True)
class Row:
    dataset: str
    status: str  # "valid", "missing" or "invalid"
    root: Path | None
    detail: str
    fix: str


def check_dataset(name: str, root: Path | None) -> Row:
    if root is None:
        fix = f"set [datasets].{name} in suite.toml or {env_var(name)}"
        return Row(name, "missing", None, f"not configured; expected {EXPECTED[name]}", fix)
    if not root.is_dir():
        fix = f"point [datasets].{name} / {env_var(name)} at the folder holding {EXPECTED[name]}"
        return Row(name, "missing", root, "folder does not exist", fix)
    check = importlib.import_module(MODULES[name]).check
    try:
        return Row(name, "valid", root, check(root), "")
    except DatasetError as error:
        where = f"{error.path}: " if error.path else ""
        return Row(name, "invalid", root, where + error.what, error.fix or f"expected {EXPECTED[name]}")


def check_all(roots: dict[str, Path | None]) -> list[Row]:
    return [check_dataset(name, roots[name]) for name in DATASETS]
