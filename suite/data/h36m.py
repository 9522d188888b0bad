"""Human3.6M in the layouts people have: RLE / PoseNet json, H36M-Toolbox multiview pkl, mmpose npz.

Sources: downstream-protocols.md §3.1, §4.1, §4.3 and §7; mmpose's `utils/camera.py` and
`tools/dataset_converters/preprocess_h36m.py`. mmhuman3d's early npz of Human3.6M is read by
`suite.data.humandata.read_humandata`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from suite.data.camera import Camera
from suite.data.layouts import (
    H36M_IMAGES,
    H36M_MULTIVIEW_ANNOTATIONS,
    H36M_RLE_ANNOTATIONS,
    h36m_image,
    h36m_sequence,
)
from suite.data.safe_pickle import load_npy, load_npz, load_pickle
from suite.data.skeleton import NUM_JOINTS, ROOT
from suite.data.validate import read_json, require_array, require_keys, require_number, verify_images
from suite.errors import DatasetError

FIX_RLE = (
    "download the RLE / PoseNet annotations (Sample_trainmin_train_Human36M_protocol_2.json, "
    "Sample_64_test_Human36M_protocol_2.json) into <root>/annotations"
)
FIX_MULTIVIEW = "generate annot/h36m_{train,validation}.pkl with CHUNYUWANG/H36M-Toolbox (generate_labels.py)"
FIX_MMPOSE = "regenerate it with mmpose's tools/dataset_converters/preprocess_h36m.py"
FIX_IMAGES = "extract the frames into <root>/images as H36M-Toolbox names them (s_XX_act_XX_subact_XX_ca_XX/)"

# S9 sequences with broken ground truth that RLE skips in train and test (protocols §4.1).
BLOCKED = ("s_09_act_05_subact_02", "s_09_act_10_subact_02", "s_09_act_13_subact_01")

_RLE_NAME = re.compile(r"s_(\d+)_act_(\d+)_subact_(\d+)_ca_(\d+)_(\d+)\.jpg")
_MMPOSE_NAME = re.compile(r"(S\d+)_(.+)\.(\d+)_(\d+)\.jpg")


# Cameras.


def read_mmpose_cameras(path: str | Path) -> dict[tuple[str, str], Camera]:
    """mmpose's cameras.pkl, keyed (subject 'S1', camera id '54138969').

    mmpose stores R and T camera-to-world in metres (SimpleCamera: X_world = R·X_cam + T, so
    X_cam = Rᵀ·(X_world − T)); they become R = Rᵀ (world to camera) and t = 1000·T (camera centre, mm).
    """
    path = Path(path)
    cameras = load_pickle(path, FIX_MMPOSE)
    if not isinstance(cameras, dict) or not cameras:
        raise DatasetError(
            f"expected a non-empty dict of cameras, found {type(cameras).__name__}", path, FIX_MMPOSE
        )
    result = {}
    for key, param in cameras.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(part, str) for part in key)):
            raise DatasetError(f"camera key {key!r} is not (subject, camera id)", path, FIX_MMPOSE)
        what = f"camera {key}"
        require_keys(param, ("R", "T", "f", "c"), what, path, FIX_MMPOSE)
        rotation = require_array(param["R"], (3, 3), f"{what} R", path, FIX_MMPOSE)
        centre = require_array(param["T"], (3, 1), f"{what} T", path, FIX_MMPOSE)
        result[key] = Camera(
            R=rotation.T,
            t=centre.ravel() * 1000.0,
            f=require_array(param["f"], (2, 1), f"{what} f", path, FIX_MMPOSE).ravel(),
            c=require_array(param["c"], (2, 1), f"{what} c", path, FIX_MMPOSE).ravel(),
            k=None if "k" not in param else np.asarray(param["k"], dtype=np.float64).ravel(),
            p=None if "p" not in param else np.asarray(param["p"], dtype=np.float64).ravel(),
        )
    return result


# RLE / PoseNet layout (protocols §4.1).


@dataclass(frozen=True, eq=False)
class RleSample:
    image: Path
    image_id: int
    width: int
    height: int
    box: np.ndarray  # (4,) x, y, w, h
    joints_world: np.ndarray  # (17, 3) mm
    joints_cam: np.ndarray  # (17, 3) mm, R·(world − t)
    joints_img: np.ndarray  # (17, 3) u, v px and depth relative to the root, mm
    camera: Camera
    subject: int
    action: int
    subaction: int
    camera_index: int  # 1..4 as in the file name
    frame: int  # 1-based


@dataclass(frozen=True)
class RleSet:
    samples: tuple[RleSample, ...]
    skipped: dict[str, int]  # reason -> number of samples left out


def read_rle(root: str | Path, split: str) -> RleSet:
    """RLE annotations of `split` ('train' or 'test'), leaving out and counting the blocked S9 sequences."""
    root = Path(root)
    path = root / H36M_RLE_ANNOTATIONS[split]
    data = read_json(path, FIX_RLE)
    require_keys(data, ("images", "annotations"), "the annotation file", path, FIX_RLE)
    images, annotations = data["images"], data["annotations"]
    for key, value in (("images", images), ("annotations", annotations)):
        if not isinstance(value, list):
            raise DatasetError(f"{key} is a {type(value).__name__}, expected a list", path, FIX_RLE)
    if len(images) != len(annotations):
        raise DatasetError(
            f"{len(images)} images but {len(annotations)} annotations; RLE pairs them one to one",
            path,
            FIX_RLE,
        )
    samples, skipped = [], Counter()
    for image, annotation in zip(images, annotations, strict=True):
        require_keys(
            image, ("id", "file_name", "width", "height", "cam_param"), "an image entry", path, FIX_RLE
        )
        what = f"image {image['id']}"
        require_keys(
            annotation, ("image_id", "bbox", "keypoints_world"), f"the annotation of {what}", path, FIX_RLE
        )
        if annotation["image_id"] != image["id"]:
            raise DatasetError(
                f"annotation for image {annotation['image_id']} is paired with {what}; the lists must align",
                path,
                FIX_RLE,
            )
        subject, action, subaction, camera_index, frame = _parse_rle_name(image["file_name"], path)
        sequence = h36m_sequence(subject, action, subaction, camera_index).rsplit("_ca_", 1)[0]
        if sequence in BLOCKED:
            skipped[f"blocked sequence {sequence}"] += 1
            continue
        camera = _rle_camera(image["cam_param"], what, path)
        world = annotation["keypoints_world"]
        joints_world = require_array(world, (NUM_JOINTS, 3), f"{what} keypoints_world", path, FIX_RLE)
        joints_cam = camera.world_to_camera(joints_world)
        depth = joints_cam[:, 2:] - joints_cam[ROOT, 2]
        samples.append(
            RleSample(
                image=root / H36M_IMAGES / image["file_name"],
                image_id=require_number(image["id"], f"{what} id", path, FIX_RLE, int),
                width=require_number(image["width"], f"{what} width", path, FIX_RLE, int),
                height=require_number(image["height"], f"{what} height", path, FIX_RLE, int),
                box=require_array(annotation["bbox"], (4,), f"{what} bbox", path, FIX_RLE),
                joints_world=joints_world,
                joints_cam=joints_cam,
                joints_img=np.concatenate([camera.project(joints_cam), depth], axis=1),
                camera=camera,
                subject=subject,
                action=action,
                subaction=subaction,
                camera_index=camera_index,
                frame=frame,
            )
        )
    return RleSet(tuple(samples), dict(skipped))


def _parse_rle_name(file_name: Any, path: Path) -> tuple[int, int, int, int, int]:
    match = _RLE_NAME.fullmatch(Path(str(file_name)).name)
    numbers = tuple(int(group) for group in match.groups()) if match else None
    if numbers is None or h36m_image(*numbers) != file_name:
        raise DatasetError(
            f"file_name {file_name!r} is not like {h36m_image(9, 2, 1, 1, 1)!r}", path, FIX_RLE
        )
    return numbers


def _rle_camera(param: Any, what: str, path: Path) -> Camera:
    require_keys(param, ("R", "t", "f", "c"), f"{what} cam_param", path, FIX_RLE)
    return Camera(
        R=require_array(param["R"], (3, 3), f"{what} cam_param.R", path, FIX_RLE),
        t=require_array(param["t"], (3,), f"{what} cam_param.t", path, FIX_RLE),
        f=require_array(param["f"], (2,), f"{what} cam_param.f", path, FIX_RLE),
        c=require_array(param["c"], (2,), f"{what} cam_param.c", path, FIX_RLE),
    )


# Multiview / H36M-Toolbox layout (protocols §3.1).


@dataclass(frozen=True, eq=False)
class MultiviewSample:
    image: Path
    joints_2d: np.ndarray  # (17, 2) px, full frame
    joints_3d: np.ndarray  # (17, 3) world, mm
    joints_3d_camera: np.ndarray  # (17, 3) camera frame, mm
    joints_vis: np.ndarray  # (17, 3)
    video_id: int
    image_id: int  # 1-based frame
    subject: int
    action: int
    subaction: int
    camera_id: int  # 0..3
    source: str
    camera: Camera
    center: np.ndarray  # (2,) px
    scale: np.ndarray  # (2,) box size / 200
    box: np.ndarray  # (4,) x1, y1, x2, y2


_MULTIVIEW_KEYS = (
    "image", "joints_2d", "joints_3d", "joints_3d_camera", "joints_vis", "video_id", "image_id", "subject",
    "action", "subaction", "camera_id", "source", "camera", "center", "scale", "box",
)  # fmt: skip


def read_multiview(root: str | Path, split: str) -> tuple[MultiviewSample, ...]:
    """H36M-Toolbox's annot/h36m_{train,validation}.pkl (`split` 'train' or 'validation'), all entries."""
    root = Path(root)
    path = root / H36M_MULTIVIEW_ANNOTATIONS[split]
    entries = load_pickle(path, FIX_MULTIVIEW)
    if not isinstance(entries, list):
        raise DatasetError(
            f"expected a list of frame dicts, found {type(entries).__name__}", path, FIX_MULTIVIEW
        )
    return tuple(_multiview_sample(entry, index, root, path) for index, entry in enumerate(entries))


def _multiview_sample(entry: Any, index: int, root: Path, path: Path) -> MultiviewSample:
    what = f"entry {index}"
    require_keys(entry, _MULTIVIEW_KEYS, what, path, FIX_MULTIVIEW)
    camera = entry["camera"]
    require_keys(camera, ("R", "T", "fx", "fy", "cx", "cy"), f"{what} camera", path, FIX_MULTIVIEW)

    def array(key: str, shape: tuple[int, ...], source: Mapping = entry) -> np.ndarray:
        return require_array(source[key], shape, f"{what} {key}", path, FIX_MULTIVIEW)

    def integer(key: str) -> int:
        return require_number(entry[key], f"{what} {key}", path, FIX_MULTIVIEW, int)

    return MultiviewSample(
        image=root / H36M_IMAGES / str(entry["image"]),
        joints_2d=array("joints_2d", (NUM_JOINTS, 2)),
        joints_3d=array("joints_3d", (NUM_JOINTS, 3)),
        joints_3d_camera=array("joints_3d_camera", (NUM_JOINTS, 3)),
        joints_vis=array("joints_vis", (NUM_JOINTS, 3)),
        video_id=integer("video_id"),
        image_id=integer("image_id"),
        subject=integer("subject"),
        action=integer("action"),
        subaction=integer("subaction"),
        camera_id=integer("camera_id"),
        source=str(entry["source"]),
        camera=Camera(
            R=array("R", (3, 3), camera),
            t=array("T", (3, 1), camera).ravel(),
            f=require_array(
                np.ravel([camera["fx"], camera["fy"]]), (2,), f"{what} fx, fy", path, FIX_MULTIVIEW
            ),
            c=require_array(
                np.ravel([camera["cx"], camera["cy"]]), (2,), f"{what} cx, cy", path, FIX_MULTIVIEW
            ),
            k=None if "k" not in camera else np.asarray(camera["k"], dtype=np.float64).ravel(),
            p=None if "p" not in camera else np.asarray(camera["p"], dtype=np.float64).ravel(),
        ),
        center=array("center", (2,)),
        scale=array("scale", (2,)),
        box=array("box", (4,)),
    )


# mmpose's npz files (tools/dataset_converters/preprocess_h36m.py and the SPIN-style mesh file).


@dataclass(frozen=True, eq=False)
class MmposeAnnotations:
    """mmpose's body3d npz (17 joints) or SPIN-style mesh npz (24 joints with SMPL pose and shape)."""

    imgnames: tuple[str, ...]
    centers: np.ndarray  # (N, 2) px
    scales: np.ndarray  # (N,) box size / 200
    keypoints_2d: np.ndarray  # (N, J, 3) x, y, visibility
    keypoints_3d: np.ndarray  # (N, J, 4) camera frame, metres, and confidence
    pose: np.ndarray | None  # (N, 72) SMPL axis-angle
    shape: np.ndarray | None  # (N, 10) SMPL betas


def parse_mmpose_name(imgname: str, path: Path | None = None) -> tuple[str, str, str, int]:
    """(subject, action, camera id, frame) from a name like S1/S1_Directions_1.54138969/..._000001.jpg."""
    match = _MMPOSE_NAME.fullmatch(Path(imgname).name)
    if match is None:
        raise DatasetError(
            f"image name {imgname!r} is not like S1_Directions_1.54138969_000001.jpg", path, FIX_MMPOSE
        )
    subject, action, camera_id, frame = match.groups()
    return subject, action, camera_id, int(frame)


def read_mmpose_npz(path: str | Path) -> MmposeAnnotations:
    path = Path(path)
    data = load_npz(path, FIX_MMPOSE)
    require_keys(data, ("imgname", "center", "scale", "part", "S"), "the npz", path, FIX_MMPOSE)
    names = require_array(data["imgname"], (None,), "imgname", path, FIX_MMPOSE, dtype=str)
    n = len(names)
    part = require_array(data["part"], (n, None, 3), "part", path, FIX_MMPOSE)
    joints = part.shape[1]
    mesh = "pose" in data or "shape" in data
    if mesh:
        require_keys(data, ("pose", "shape"), "the mesh npz", path, FIX_MMPOSE)
    for name in names:
        parse_mmpose_name(str(name), path)
    return MmposeAnnotations(
        imgnames=tuple(str(name) for name in names),
        centers=require_array(data["center"], (n, 2), "center", path, FIX_MMPOSE),
        scales=require_array(data["scale"], (n,), "scale", path, FIX_MMPOSE),
        keypoints_2d=part,
        keypoints_3d=require_array(data["S"], (n, joints, 4), "S", path, FIX_MMPOSE),
        pose=require_array(data["pose"], (n, 72), "pose", path, FIX_MMPOSE) if mesh else None,
        shape=require_array(data["shape"], (n, 10), "shape", path, FIX_MMPOSE) if mesh else None,
    )


def read_detections(path: str | Path) -> np.ndarray:
    """A bare (N, 17, 3) array of detected 2D joints [x, y, score] (mmpose's lifting input)."""
    path = Path(path)
    return require_array(load_npy(path, FIX_MMPOSE), (None, NUM_JOINTS, 3), "detections", path, FIX_MMPOSE)


# `data check h36m`.


def check(root: Path) -> str:
    """Validate whichever of the RLE and multiview layouts are at root, and their images."""
    root = Path(root)
    parts, images = [], []
    for split, relative in H36M_RLE_ANNOTATIONS.items():
        if (root / relative).is_file():
            rle = read_rle(root, split)
            parts.append(f"RLE {split} {len(rle.samples)} samples ({sum(rle.skipped.values())} blocked)")
            images += [sample.image for sample in rle.samples]
    for split, relative in H36M_MULTIVIEW_ANNOTATIONS.items():
        if (root / relative).is_file():
            samples = read_multiview(root, split)
            parts.append(f"multiview {split} {len(samples)} samples")
            images += [sample.image for sample in samples]
    if not parts:
        expected = ", ".join([*H36M_RLE_ANNOTATIONS.values(), *H36M_MULTIVIEW_ANNOTATIONS.values()])
        raise DatasetError(f"no annotation file found; expected any of {expected}", root, FIX_RLE)
    decoded = verify_images(images, FIX_IMAGES)
    return f"{', '.join(parts)}; {len(set(images))} images present, {decoded} decoded"
