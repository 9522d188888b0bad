"""SynthHuman Human3.6M: people moving slowly in a room with 4 fixed cameras, in both layouts.

Each subject has its own cameras (about 1.5 m high, 4-5 m away, looking at the capture area),
bone lengths, clothes and backdrops. A sequence (subject, action, subaction) blends between two
poses of the kinematic prior while the person turns and walks a little; the world is z up with
the feet on the floor. The same frames are written as the RLE / PoseNet json
(annotations/Sample_*_Human36M_protocol_2.json) and as H36M-Toolbox pickles (annot/h36m_*.pkl).
Every 2D joint is the projection of its 3D joint through its camera, exactly.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from suite.data.camera import Camera
from suite.data.images import write_image
from suite.data.kinematic_prior import euler, sample_skeletons
from suite.data.layouts import (
    H36M_IMAGES,
    H36M_MULTIVIEW_ANNOTATIONS,
    H36M_RLE_ANNOTATIONS,
    H36M_TEST_SUBJECTS,
    H36M_TRAIN_SUBJECTS,
    h36m_image,
)
from suite.data.skeleton import BONES, JOINTS, NUM_JOINTS, ROOT
from suite.data.synth.camera import SKELETON_TO_WORLD, orbit_camera
from suite.data.synth.figure import dress
from suite.data.synth.render import random_background, render
from suite.io import atomic_write_bytes

SIZE = (256, 256)
FOCAL_PER_WIDTH = 1.15  # Human3.6M's cameras: about 1145 px focal length for 1000 px images
CAMERA_JITTER = 0.02  # relative spread of focal lengths and principal points
CAMERA_AZIMUTHS = np.radians([45.0, 135.0, 225.0, 315.0])
AZIMUTH_JITTER = np.radians(10.0)
CAMERA_DISTANCE = (4000.0, 5000.0)  # mm from the capture area's centre
CAMERA_HEIGHT = (1300.0, 1700.0)  # mm above the floor
LOOK_AT_HEIGHT = 1000.0  # mm; the cameras aim at this height above the capture area's centre
CAPTURE_RADIUS = 600.0  # mm; sequences start within this distance of the centre
WALK = 300.0  # mm walked at most over a sequence
TURN = np.radians(30.0)  # turned at most over a sequence
ANKLE_HEIGHT = 80.0  # mm; the lowest joint is this high above the floor
ACTIONS = tuple(range(2, 17))
SUBACTIONS = (1, 2)
# As few frames per sequence as the subjects' sequences allow: at SynthHuman's sizes distinct poses
# matter more than motion (n=256: 64 training sequences of one frame rather than 16 of four; h36m-2d's
# random init then beats the mean pose by JDR 60.9 vs 47.2 rather than 63.5 vs 55.8, on a test set of 16
# sequences rather than 4). Larger trees get longer sequences (sequences() below).
FRAMES_PER_SEQUENCE = 1
FRAME_STEP = 5  # PoseNet's training files keep every 5th video frame
# RLE skips these (subject, action, subaction) of S9 for bad ground truth; never write them.
BLOCKED = {(9, 5, 2), (9, 10, 2), (9, 13, 1)}
TEST_FRACTION = 0.25
MIN_TEST = 8
# H36M-Toolbox's crop: a square around the root in camera coordinates, mm.
BOX_X = (-1000.0, 1000.0)
BOX_Y = (-900.0, 1100.0)
PICKLE_PROTOCOL = 4
LEFT_HIP, RIGHT_HIP = JOINTS.index("l_hip"), JOINTS.index("r_hip")


@dataclass(frozen=True)
class Subject:
    """What stays fixed for one subject: cameras, backdrops, bone lengths (16,) and looks."""

    number: int
    cameras: list[Camera]
    backgrounds: list[np.ndarray]
    bone_lengths: np.ndarray
    looks_seed: int


def make_subject(number: int, rng: np.random.Generator) -> Subject:
    focal = FOCAL_PER_WIDTH * SIZE[0]
    target = np.array([0.0, 0.0, LOOK_AT_HEIGHT])
    cameras = [
        orbit_camera(
            rng,
            azimuth + rng.uniform(-AZIMUTH_JITTER, AZIMUTH_JITTER),
            rng.uniform(*CAMERA_DISTANCE),
            rng.uniform(*CAMERA_HEIGHT),
            target,
            focal,
            SIZE,
            CAMERA_JITTER,
        )
        for azimuth in CAMERA_AZIMUTHS
    ]
    backgrounds = [random_background(SIZE, rng) for _ in cameras]
    reference = sample_skeletons(1, rng=rng, normalize=False)[0].astype(np.float64)
    lengths = np.array([np.linalg.norm(reference[child] - reference[parent]) for parent, child in BONES])
    return Subject(number, cameras, backgrounds, lengths, int(rng.integers(2**32)))


def facing_forward(joints: np.ndarray) -> np.ndarray:
    """Turn a skeleton about the vertical (y) so its hips point along +x, i.e. it faces the camera."""
    hips = joints[LEFT_HIP] - joints[RIGHT_HIP]
    yaw = np.arctan2(-hips[2], hips[0])
    return joints @ euler(np.zeros(()), np.array(yaw), np.zeros(()))


def blend(start: np.ndarray, end: np.ndarray, weight: float, lengths: np.ndarray) -> np.ndarray:
    """A pose between two skeletons: bone directions blended, bone lengths the subject's."""
    joints = np.zeros((NUM_JOINTS, 3))
    for k, (parent, child) in enumerate(BONES):
        direction = (1 - weight) * (start[child] - start[parent]) + weight * (end[child] - end[parent])
        joints[child] = joints[parent] + lengths[k] * direction / np.linalg.norm(direction)
    return joints


def sequence_world(subject: Subject, frames: int, rng: np.random.Generator) -> np.ndarray:
    """World joints (frames, 17, 3) mm of a sequence, z up, the lowest joint ANKLE_HEIGHT above the floor."""
    start, end = (facing_forward(joints) for joints in sample_skeletons(2, rng=rng, normalize=False))
    yaw, turn = rng.uniform(-np.pi, np.pi), rng.uniform(-TURN, TURN)
    position = rng.uniform(-CAPTURE_RADIUS, CAPTURE_RADIUS, 2)
    walk = rng.uniform(-WALK, WALK, 2)
    world = []
    for weight in np.linspace(0.0, 1.0, frames):
        joints = blend(start, end, weight, subject.bone_lengths)
        zero = np.zeros(())
        joints = joints @ euler(zero, np.array(yaw + weight * turn), zero).T @ SKELETON_TO_WORLD.T
        joints[:, :2] += position + weight * walk
        joints[:, 2] += ANKLE_HEIGHT - joints[:, 2].min()
        world.append(joints)
    return np.array(world)


def toolbox_box(root_camera: np.ndarray, camera: Camera) -> np.ndarray:
    """[x1, y1, x2, y2]: H36M-Toolbox's square around the root, projected at the root's depth."""
    corners = np.array([[BOX_X[0], BOX_Y[0], 0.0], [BOX_X[1], BOX_Y[1], 0.0]]) + root_camera
    return camera.project(corners).reshape(-1)


def sequences(
    subjects: tuple[int, ...], frames: int, rng: np.random.Generator
) -> list[tuple[int, int, int, int]]:
    """(subject, action, subaction, frame count) covering `frames` time steps, subjects in turn.

    Sequences have FRAMES_PER_SEQUENCE frames, more when the subjects' sequences would run out."""
    choices = {
        subject: [
            (action, subaction)
            for action, subaction in rng.permutation([(a, s) for a in ACTIONS for s in SUBACTIONS]).tolist()
            if (subject, action, subaction) not in BLOCKED
        ]
        for subject in subjects
    }
    capacity = len(subjects) * min(len(pairs) for pairs in choices.values())
    length = max(FRAMES_PER_SEQUENCE, -(-frames // capacity))
    result = []
    for index, start in enumerate(range(0, frames, length)):
        subject = subjects[index % len(subjects)]
        action, subaction = choices[subject].pop(0)
        result.append((subject, action, subaction, min(length, frames - start)))
    return result


def write_split(root: Path, subjects: tuple[int, ...], images: int, rng: np.random.Generator):
    """Render one split; returns the RLE json and the H36M-Toolbox list."""
    people = {number: make_subject(number, rng) for number in subjects}
    frames = -(-images // len(CAMERA_AZIMUTHS))
    rle = {"images": [], "annotations": []}
    toolbox = []
    video_id = 0
    progress = tqdm(total=frames * len(CAMERA_AZIMUTHS), desc=f"h36m S{subjects}", unit="image", disable=None)
    for number, action, subaction, count in sequences(subjects, frames, rng):
        subject = people[number]
        world = sequence_world(subject, count, rng)
        for camera_index, (camera, background) in enumerate(
            zip(subject.cameras, subject.backgrounds, strict=True)
        ):
            video_id += 1
            for step, joints_world in enumerate(world):
                frame = 1 + step * FRAME_STEP
                name = h36m_image(number, action, subaction, camera_index + 1, frame)
                joints_camera = camera.world_to_camera(joints_world)
                figure = dress(joints_camera, np.random.default_rng(subject.looks_seed))
                scene = render([figure], camera.f, camera.c, SIZE, rng, background).scene
                write_image(root / H36M_IMAGES / name, scene.image)
                box = toolbox_box(joints_camera[ROOT], camera)
                image_id = len(rle["images"])
                rle["images"].append(
                    {
                        "id": image_id,
                        "file_name": name,
                        "width": SIZE[0],
                        "height": SIZE[1],
                        "subject": number,
                        "action_idx": action,
                        "subaction_idx": subaction,
                        "cam_idx": camera_index + 1,
                        "frame_idx": frame - 1,
                        "cam_param": {
                            "R": camera.R.tolist(),
                            "t": camera.t.tolist(),
                            "f": camera.f.tolist(),
                            "c": camera.c.tolist(),
                        },
                    }
                )
                rle["annotations"].append(
                    {
                        "id": image_id,
                        "image_id": image_id,
                        "bbox": [*box[:2].tolist(), *(box[2:] - box[:2]).tolist()],
                        "keypoints_world": joints_world.tolist(),
                        "keypoints_vis": [1] * NUM_JOINTS,
                    }
                )
                toolbox.append(
                    {
                        "image": name,
                        "joints_2d": scene.joints_2d[0],
                        "joints_3d": joints_world,
                        "joints_3d_camera": joints_camera,
                        "joints_vis": np.ones((NUM_JOINTS, 3)),
                        "video_id": video_id,
                        "image_id": frame,
                        "subject": number,
                        "action": action,
                        "subaction": subaction,
                        "camera_id": camera_index,
                        "source": "h36m",
                        "camera": {
                            "R": camera.R,
                            "T": camera.t.reshape(3, 1),
                            "fx": float(camera.f[0]),
                            "fy": float(camera.f[1]),
                            "cx": float(camera.c[0]),
                            "cy": float(camera.c[1]),
                            "k": np.zeros((3, 1)),
                            "p": np.zeros((2, 1)),
                        },
                        "center": (box[:2] + box[2:]) / 2,
                        "scale": (box[2:] - box[:2]) / 200,
                        "box": box,
                    }
                )
                progress.update()
    progress.close()
    return rle, toolbox


def write(root: Path, n: int, rng: np.random.Generator) -> None:
    """Write SynthHuman Human3.6M under root: n training images (n/4 frames x 4 cameras), about n/4 test."""
    root = Path(root)
    splits = (
        ("train", "train", H36M_TRAIN_SUBJECTS, n),
        ("test", "validation", H36M_TEST_SUBJECTS, max(round(n * TEST_FRACTION), MIN_TEST)),
    )
    for rle_split, toolbox_split, subjects, images in splits:
        rle, toolbox = write_split(root, subjects, images, rng)
        atomic_write_bytes(root / H36M_RLE_ANNOTATIONS[rle_split], json.dumps(rle).encode())
        data = pickle.dumps(toolbox, protocol=PICKLE_PROTOCOL)
        atomic_write_bytes(root / H36M_MULTIVIEW_ANNOTATIONS[toolbox_split], data)
