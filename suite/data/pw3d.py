"""3DPW in its official layout: sequence pickles, their frames, and SPIN's test-set preprocessing.

Sources: downstream-protocols.md §5.3 (SPIN's `datasets/preprocess/pw3d.py`) and §7. The early
mmhuman3d npz of 3DPW is read by `suite.data.humandata.read_humandata`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from suite.data.layouts import PW3D_IMAGES, PW3D_SEQUENCES, PW3D_SPLITS
from suite.data.safe_pickle import load_pickle
from suite.data.validate import require_array, require_keys, verify_images
from suite.errors import DatasetError

FIX_SEQUENCES = "download 3DPW and unpack sequenceFiles.zip into <root>/sequenceFiles/{train,validation,test}"
FIX_IMAGES = "unpack imageFiles.zip into <root>/imageFiles/<sequence>/image_XXXXX.jpg"
SCALE_FACTOR = 1.2  # SPIN: scale = 1.2 · max(w, h) / 200
NUM_JOINTS_2D = 18  # OpenPose COCO-18 order of poses2d

_KEYS = (
    "sequence", "betas", "genders", "poses", "trans", "poses2d", "jointPositions",
    "cam_poses", "cam_intrinsics", "img_frame_ids", "campose_valid",
)  # fmt: skip
_PER_PERSON = ("betas", "genders", "poses", "trans", "poses2d", "jointPositions", "campose_valid")


@dataclass(frozen=True, eq=False)
class Person:
    gender: str  # 'm' or 'f'
    betas: np.ndarray  # (B,) SMPL shape, B >= 10
    poses: np.ndarray  # (F, 72) SMPL axis-angle pose, global orientation in world
    trans: np.ndarray  # (F, 3) world translation, m
    poses2d: np.ndarray  # (F, 3, 18) x, y, confidence rows
    joint_positions: np.ndarray  # (F, 72) 24 SMPL joints in world, m
    campose_valid: np.ndarray  # (F,) bool


@dataclass(frozen=True, eq=False)
class Sequence:
    name: str
    path: Path
    people: tuple[Person, ...]
    cam_poses: np.ndarray  # (F, 4, 4) world -> camera
    cam_intrinsics: np.ndarray  # (3, 3)
    img_frame_ids: np.ndarray  # (F,)

    @property
    def num_frames(self) -> int:
        return len(self.cam_poses)

    def image(self, root: Path, frame: int) -> Path:
        """The image of a frame, numbered by its index as SPIN does."""
        return Path(root) / PW3D_IMAGES / self.name / f"image_{frame:05d}.jpg"


def read_sequence(path: str | Path) -> Sequence:
    """One sequence pickle, validated for the keys the protocols use (others may be absent or None)."""
    path = Path(path)
    data = load_pickle(path, FIX_SEQUENCES)
    require_keys(data, _KEYS, "the sequence", path, FIX_SEQUENCES)
    cam_poses = require_array(data["cam_poses"], (None, 4, 4), "cam_poses", path, FIX_SEQUENCES)
    frames = len(cam_poses)
    poses = data["poses"]
    if not isinstance(poses, list | tuple) or not poses:
        found = type(poses).__name__
        raise DatasetError(
            f"poses is a {found}, expected a non-empty list of (F, 72) arrays", path, FIX_SEQUENCES
        )
    people = len(poses)
    for key in _PER_PERSON:
        if not isinstance(data[key], list | tuple | np.ndarray) or len(data[key]) != people:
            raise DatasetError(
                f"{key} should hold one entry per person ({people} in poses)", path, FIX_SEQUENCES
            )
    return Sequence(
        name=str(data["sequence"]),
        path=path,
        people=tuple(_person(data, i, frames, path) for i in range(people)),
        cam_poses=cam_poses,
        cam_intrinsics=require_array(data["cam_intrinsics"], (3, 3), "cam_intrinsics", path, FIX_SEQUENCES),
        img_frame_ids=require_array(data["img_frame_ids"], (frames,), "img_frame_ids", path, FIX_SEQUENCES),
    )


def _person(data: dict, i: int, frames: int, path: Path) -> Person:
    def array(key: str, shape: tuple[int | None, ...], dtype: Any = np.float64) -> np.ndarray:
        return require_array(data[key][i], shape, f"person {i} {key}", path, FIX_SEQUENCES, dtype)

    gender = str(data["genders"][i])
    if gender not in ("m", "f"):
        raise DatasetError(f"person {i} gender is {gender!r}, expected 'm' or 'f'", path, FIX_SEQUENCES)
    betas = array("betas", (None,))
    if len(betas) < 10:
        raise DatasetError(f"person {i} has {len(betas)} betas, expected at least 10", path, FIX_SEQUENCES)
    return Person(
        gender=gender,
        betas=betas,
        poses=array("poses", (frames, 72)),
        trans=array("trans", (frames, 3)),
        poses2d=array("poses2d", (frames, 3, NUM_JOINTS_2D)),
        joint_positions=array("jointPositions", (frames, 72)),
        campose_valid=array("campose_valid", (frames,), bool),
    )


def read_split(root: str | Path, split: str) -> tuple[Sequence, ...]:
    """Every sequence of a split, in file-name order."""
    folder = Path(root) / PW3D_SEQUENCES.format(split=split)
    paths = sorted(folder.glob("*.pkl"))
    if not paths:
        found = "folder missing" if not folder.is_dir() else "no .pkl files"
        raise DatasetError(f"no sequence pickles ({found})", folder, FIX_SEQUENCES)
    return tuple(read_sequence(path) for path in paths)


# SPIN's preprocessing of the test split (protocols §5.3).


@dataclass(frozen=True, eq=False)
class SpinSample:
    image: Path
    sequence: str
    person: int
    frame: int
    center: np.ndarray  # (2,) px, centre of the visible 2D joints' box
    scale: float  # 1.2 · max(w, h) / 200
    pose: np.ndarray  # (72,) axis-angle, global orientation in the camera frame
    betas: np.ndarray  # (10,)
    gender: str  # 'm' or 'f'


@dataclass(frozen=True)
class SpinSet:
    samples: tuple[SpinSample, ...]
    skipped: dict[str, int]  # reason -> number of person-frames left out


def spin_samples(root: str | Path, split: str = "test") -> SpinSet:
    """Every person-frame with a valid camera pose, as SPIN's 3dpw_test.npz holds it."""
    root = Path(root)
    samples, skipped = [], Counter()
    for sequence in read_split(root, split):
        rotations = sequence.cam_poses[:, :3, :3]
        for index, person in enumerate(sequence.people):
            skipped["campose_valid false"] += int(np.sum(~person.campose_valid))
            visible = person.poses2d[:, 2, :] > 0
            empty = person.campose_valid & ~visible.any(axis=1)
            skipped["no visible 2D joint"] += int(np.sum(empty))
            frames = np.flatnonzero(person.campose_valid & ~empty)
            if len(frames) == 0:
                continue
            x = person.poses2d[frames, 0, :]
            y = person.poses2d[frames, 1, :]
            seen = visible[frames]
            low = np.stack([np.where(seen, x, np.inf).min(1), np.where(seen, y, np.inf).min(1)], axis=1)
            high = np.stack([np.where(seen, x, -np.inf).max(1), np.where(seen, y, -np.inf).max(1)], axis=1)
            scales = SCALE_FACTOR * (high - low).max(axis=1) / 200
            poses = person.poses[frames].copy()
            root_orient = Rotation.from_rotvec(poses[:, :3]).as_matrix()
            poses[:, :3] = Rotation.from_matrix(rotations[frames] @ root_orient).as_rotvec()
            for k, frame in enumerate(frames):
                samples.append(
                    SpinSample(
                        image=sequence.image(root, int(frame)),
                        sequence=sequence.name,
                        person=index,
                        frame=int(frame),
                        center=(low[k] + high[k]) / 2,
                        scale=float(scales[k]),
                        pose=poses[k],
                        betas=person.betas[:10],
                        gender=person.gender,
                    )
                )
    return SpinSet(tuple(samples), {reason: count for reason, count in skipped.items() if count})


# `data check pw3d`.


def check(root: Path) -> str:
    """Validate the sequences of every split present, that each frame's image exists, and decode a few."""
    root = Path(root)
    splits = [split for split in PW3D_SPLITS if (root / PW3D_SEQUENCES.format(split=split)).is_dir()]
    if not splits:
        expected = ", ".join(PW3D_SEQUENCES.format(split=split) for split in PW3D_SPLITS)
        raise DatasetError(f"no sequence folder found; expected {expected}", root, FIX_SEQUENCES)
    parts, images = [], []
    for split in splits:
        sequences = read_split(root, split)
        frames = sum(sequence.num_frames for sequence in sequences)
        parts.append(f"{split} {len(sequences)} sequences, {frames} frames")
        images += [sequence.image(root, f) for sequence in sequences for f in range(sequence.num_frames)]
    decoded = verify_images(images, FIX_IMAGES)
    return f"{', '.join(parts)}; {len(images)} images present, {decoded} decoded"
