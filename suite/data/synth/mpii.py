"""SynthHuman MPII: the HRNet json lists (1-based MATLAB coordinates) and gt_valid.mat with head boxes.

The joints come from the Human3.6M joints (skeleton.H36M_TO_MPII); MPII's thorax, which H36M
lacks, is the mean of the shoulders as RLE synthesises it. A joint outside the image is missing
(joints_vis 0, jnt_missing 1, written as -1, -1). The head box is the projected head sphere's box.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import scipy.io
from tqdm import tqdm

from suite.data.images import write_image
from suite.data.layouts import MPII_ANNOTATIONS, MPII_GT_VALID, MPII_IMAGES, MPII_SPLITS
from suite.data.skeleton import H36M_TO_MPII, JOINTS, MPII_JOINTS
from suite.data.synth.photo import PhotoStyle, draw_photo
from suite.data.synth.render import Rendering
from suite.io import atomic_write_bytes

STYLE = PhotoStyle(
    size=(320, 240),
    fov_range=(np.radians(45.0), np.radians(75.0)),
    people=(1, 2),
    weights=(0.8, 0.2),
    height_range=(0.5, 0.95),
    spread=0.4,
)
MIN_AREA = 400  # px; people with fewer visible pixels are not annotated
VAL_FRACTION = 0.25
MIN_VAL = 4
IMAGE_NUMBERS = 10**9  # image names are 9-digit numbers
MISSING = -1.0
DECIMALS = 2
THORAX = MPII_JOINTS.index("thorax")
SHOULDERS = (JOINTS.index("l_shoulder"), JOINTS.index("r_shoulder"))
# gt_valid.mat names the joints as the MATLAB evaluation code does.
MAT_JOINTS = ("rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor",
              "neck", "head", "rwri", "relb", "rsho", "lsho", "lelb", "lwri")  # fmt: skip
MAT_HEADER = b"MATLAB 5.0 MAT-file, written by SynthHuman"
MAT_HEADER_BYTES = 116


def person(rendering: Rendering, index: int, image: str) -> dict:
    """One person's entry: joints and center 1-based, scale = person height / 200."""
    figure, scene = rendering.figures[index], rendering.scene
    h36m, mpii = np.array(list(H36M_TO_MPII.items())).T
    points = np.zeros((len(MPII_JOINTS), 3))
    points[mpii] = figure.joints[h36m]
    points[THORAX] = figure.joints[list(SHOULDERS)].mean(axis=0)
    joints = rendering.project(points)
    inside = rendering.inside(joints)
    joints = np.where(inside[:, None], joints + 1, MISSING)
    x, y, w, h = scene.boxes[index]
    return {
        "image": image,
        "center": np.round([x + w / 2 + 1, y + h / 2 + 1], DECIMALS).tolist(),
        "scale": round(h / 200, 6),
        "joints": np.round(joints, DECIMALS).tolist(),
        "joints_vis": inside.astype(int).tolist(),
    }


def head_box(rendering: Rendering, index: int) -> np.ndarray:
    """[[x1, y1], [x2, y2]] 1-based: the box of the projected head sphere."""
    figure = rendering.figures[index]
    centre = rendering.project(figure.head_centre)
    radius = figure.head_radius * np.sqrt(rendering.focal.prod()) / figure.head_centre[2]
    return np.stack([centre - radius, centre + radius]) + 1


def write_split(root: Path, split: str, persons: int, rng: np.random.Generator, names: set[str]):
    """Images until `persons` people are annotated: the json list and each person's head box."""
    entries, head_boxes = [], []
    with tqdm(total=persons, desc=f"mpii {split}", unit="person", disable=None) as progress:
        while len(entries) < persons:
            name = f"{int(rng.integers(IMAGE_NUMBERS)):09d}.jpg"
            if name in names:
                continue
            names.add(name)
            rendering = draw_photo(STYLE, rng)
            write_image(root / MPII_IMAGES / name, rendering.scene.image)
            for index in range(len(rendering.figures)):
                if (rendering.scene.instances == index).sum() >= MIN_AREA:
                    entries.append(person(rendering, index, name))
                    head_boxes.append(head_box(rendering, index))
                    progress.update()
    return entries, head_boxes


def gt_valid(entries: list[dict], head_boxes: list[np.ndarray]) -> bytes:
    """gt_valid.mat: dataset_joints, jnt_missing (16, N), pos_gt_src (16, 2, N), headboxes_src (2, 2, N)."""
    names = np.empty((1, len(MAT_JOINTS)), dtype=object)
    names[0, :] = MAT_JOINTS
    visible = np.array([entry["joints_vis"] for entry in entries], dtype=np.float64)
    buffer = io.BytesIO()
    scipy.io.savemat(
        buffer,
        {
            "dataset_joints": names,
            "jnt_missing": (1.0 - visible).T,
            "pos_gt_src": np.array([entry["joints"] for entry in entries]).transpose(1, 2, 0),
            "headboxes_src": np.round(np.array(head_boxes), DECIMALS).transpose(1, 2, 0),
        },
    )
    data = buffer.getvalue()  # its header holds a timestamp: replace it for reproducible bytes
    return MAT_HEADER.ljust(MAT_HEADER_BYTES) + data[MAT_HEADER_BYTES:]


def write(root: Path, n: int, rng: np.random.Generator) -> None:
    """Write SynthHuman MPII under root: n annotated training people, about n/4 for validation."""
    root = Path(root)
    counts = {"train": n, "valid": max(round(n * VAL_FRACTION), MIN_VAL)}
    names: set[str] = set()
    splits = {}
    for split in MPII_SPLITS:
        splits[split] = write_split(root, split, counts[split], rng, names)
        atomic_write_bytes(root / MPII_ANNOTATIONS.format(split=split), json.dumps(splits[split][0]).encode())
    atomic_write_bytes(root / MPII_GT_VALID, gt_valid(*splits["valid"]))
