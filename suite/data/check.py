"""`data check`: one row per dataset (valid, missing or invalid), with what was expected and the fix."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from suite.config import env_var
from suite.data.layouts import DATASETS, SYNTH_FOLDERS
from suite.errors import DatasetError, SuiteError

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
        what = "is a file, not a folder" if root.exists() else "folder does not exist"
        fix = f"point [datasets].{name} / {env_var(name)} at the folder holding {EXPECTED[name]}"
        return Row(name, "invalid", root, f"{root}: {what}", fix)
    check = importlib.import_module(MODULES[name]).check
    try:
        return Row(name, "valid", root, check(root), "")
    except DatasetError as error:
        return Row(
            name,
            "invalid",
            root,
            f"{error.path or root}: {error.what}",
            error.fix or f"expected {EXPECTED[name]}",
        )


def check_synth_root(root: Path) -> None:
    """`data check --root DIR`: DIR must be a SynthHuman tree (a folder holding its dataset folders)."""
    fix = "pass the folder `python -m suite data synth --out DIR` wrote"
    if not root.is_dir():
        raise SuiteError("is a file, not a folder" if root.exists() else "folder does not exist", root, fix)
    if not any((root / folder).is_dir() for folder in SYNTH_FOLDERS.values()):
        expected = ", ".join(f"{folder}/" for folder in SYNTH_FOLDERS.values())
        raise SuiteError(f"is not a SynthHuman tree: it holds none of {expected}", root, fix)


def check_all(roots: dict[str, Path | None]) -> list[Row]:
    return [check_dataset(name, roots[name]) for name in DATASETS]
