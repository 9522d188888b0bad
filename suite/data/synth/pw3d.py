"""SynthHuman 3DPW: one or two people moving in front of a hand-held camera, in 3DPW's own files.

Each person of a sequence has a gender, betas and a motion that eases between random key poses
(inside POSE_RANGES) every KEY_FRAMES frames while the person turns and walks, forwarded through
the SMPL-format models under `body_models` (body_model.py writes them). The world is y up with the
floor at y = 0, where each person's lowest vertex stands. The camera, 3DPW's phone at a quarter of
its 1080 x 1920 resolution, looks at the people from a few metres, follows them and orbits a little;
cam_poses map world to camera (x right, y down, z forward, m), as in 3DPW.

Images are rendered from the Human3.6M joints of J_regressor_h36m. poses2d are OpenPose's 18
keypoints, projected from those joints and smplx's eye and ear keypoints, with confidence 1 where
the renderer sees the joint and 0 (at x = y = 0, as OpenPose leaves missed joints) elsewhere.
Motions are sampled at 60 Hz (poses_60Hz, trans_60Hz) and every other sample is an image frame.
texture_maps are None; betas_clothed are the betas with a little noise and v_template_clothed is
the template shaped by them. Pickles are protocol 2, like 3DPW's Python 2 files.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import smplx
import torch

from suite.data.images import write_image
from suite.data.layouts import PW3D_IMAGES, PW3D_SEQUENCES
from suite.data.skeleton import JOINTS
from suite.data.synth.body_model import NUM_BETAS, SMPL_JOINTS, h36m_joints, load_smpl, twin
from suite.data.synth.camera import look_at
from suite.data.synth.figure import dress
from suite.data.synth.render import random_background, render
from suite.io import atomic_write_bytes

SIZE = (270, 480)  # width, height
FOCAL = 1962.0 / 4  # px; 3DPW's intrinsics have fx ~ fy ~ 1962 px at 1080 x 1920
INTRINSICS = np.array([[FOCAL, 0.0, SIZE[0] / 2], [0.0, FOCAL, SIZE[1] / 2], [0.0, 0.0, 1.0]])
FPS = 30.0  # image frames per second
SAMPLES_PER_FRAME = 2  # the 60 Hz motion has two samples per image frame
PICKLE_PROTOCOL = 2

EVAL_FRACTION = 0.25  # validation and test frames per training frame
MIN_EVAL_FRAMES = 4
FRAMES_PER_SEQUENCE = 24
MIN_SEQUENCES = 2  # per split
PLACES = {"train": "courtyard", "validation": "outdoors", "test": "downtown"}
ACTIVITIES = ("walking", "arguing", "basketball", "dancing", "jumping", "stairs", "shopping", "talking")

TWO_PEOPLE_PROBABILITY = 0.5
MALE_PROBABILITY = 0.5
BETA_STD = 1.0
BETA_LIMIT = 2.5
CLOTHED_BETA_STD = 0.1
KEY_FRAMES = 12  # image frames between two key poses
TURN_RATE = np.radians(40.0)  # rad/s at most
WALK_SPEED = (0.0, 0.6)  # m/s
SPACING = (0.8, 1.5)  # m between two people, across the camera's view
DEPTH_JITTER = 0.5  # m, of the second person along the camera's view
CAMERA_DISTANCE = (3.5, 5.0)  # m from the people
CAMERA_HEIGHT = (1.2, 1.8)  # m above the floor
LOOK_HEIGHT = 0.9  # m; the camera aims at this height above the people's mean position
ORBIT = np.radians(15.0)  # the camera turns around the people by at most this over a sequence
WORLD_UP = np.array([0.0, 1.0, 0.0])
INVALID_PROBABILITY = 0.25  # of a person having a run of frames without a valid camera pose
INVALID_FRACTION = 0.25  # longest such run, as a fraction of the sequence

# Ranges (radians) of each body joint's axis-angle components about SMPL's x (bending forward or
# back), y (twist) and z (sideways), for the spine and left side; right joints mirror them.
POSE_RANGES = {
    "l_hip": ((-1.0, 0.3), (-0.3, 0.3), (-0.1, 0.5)),
    "spine1": ((-0.1, 0.3), (-0.2, 0.2), (-0.1, 0.1)),
    "l_knee": ((0.0, 1.6), (-0.1, 0.1), (-0.05, 0.05)),
    "spine2": ((-0.1, 0.2), (-0.2, 0.2), (-0.1, 0.1)),
    "l_ankle": ((-0.3, 0.3), (-0.15, 0.15), (-0.15, 0.15)),
    "spine3": ((-0.1, 0.2), (-0.2, 0.2), (-0.1, 0.1)),
    "l_foot": ((-0.2, 0.2), (-0.05, 0.05), (-0.05, 0.05)),
    "neck": ((-0.3, 0.4), (-0.5, 0.5), (-0.2, 0.2)),
    "l_collar": ((-0.1, 0.1), (-0.15, 0.15), (-0.1, 0.2)),
    "head": ((-0.2, 0.3), (-0.4, 0.4), (-0.2, 0.2)),
    "l_shoulder": ((-0.5, 0.5), (-0.9, 0.5), (-1.5, 0.0)),  # z < 0 lowers the arm, y < 0 swings it forward
    "l_elbow": ((-0.2, 0.2), (-2.0, 0.0), (-0.1, 0.1)),  # y < 0 bends the forearm forward
    "l_wrist": ((-0.4, 0.4), (-0.3, 0.3), (-0.5, 0.5)),
    "l_hand": ((-0.2, 0.2), (-0.1, 0.1), (-0.3, 0.3)),
}

# OpenPose's 18 keypoints (poses2d order: nose, neck, right shoulder, elbow, wrist, left shoulder,
# elbow, wrist, right hip, knee, ankle, left hip, knee, ankle, right eye, left eye, right ear, left
# ear) as indices into the H36M joints followed by smplx's face keypoints (nose, reye, leye, rear, lear).
_H36M = {name: index for index, name in enumerate(JOINTS)}
_FACE = {name: len(JOINTS) + k for k, name in enumerate(("nose", "r_eye", "l_eye", "r_ear", "l_ear"))}
OPENPOSE = tuple(
    [_H36M["neck_nose"], _H36M["thorax"]]
    + [_H36M[side + part] for side in ("r_", "l_") for part in ("shoulder", "elbow", "wrist")]
    + [_H36M[side + part] for side in ("r_", "l_") for part in ("hip", "knee", "ankle")]
    + [_FACE[name] for name in ("r_eye", "l_eye", "r_ear", "l_ear")]
)
FACE = np.array([index >= len(JOINTS) for index in OPENPOSE])
# The H36M joint whose visibility each keypoint takes: its own, or the neck/nose for the face.
SEEN_BY = tuple(_H36M["neck_nose"] if face else index for index, face in zip(OPENPOSE, FACE, strict=True))
SMPLX_FACE = slice(24, 29)  # smplx's nose, reye, leye, rear, lear follow SMPL's 24 joints


def pose_limits() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds (69,) of SMPL's body pose from POSE_RANGES."""
    low, high = np.zeros((len(SMPL_JOINTS) - 1, 3)), np.zeros((len(SMPL_JOINTS) - 1, 3))
    for name, ((x0, x1), (y0, y1), (z0, z1)) in POSE_RANGES.items():
        low[SMPL_JOINTS.index(name) - 1], high[SMPL_JOINTS.index(name) - 1] = (x0, y0, z0), (x1, y1, z1)
        if name.startswith("l_"):
            right = SMPL_JOINTS.index(twin(name)) - 1
            low[right], high[right] = (x0, -y1, -z1), (x1, -y0, -z0)
    return low.reshape(-1), high.reshape(-1)


def body_motion(samples: int, rng: np.random.Generator) -> np.ndarray:
    """(samples, 69) body poses easing (cosine) from one random key pose to the next."""
    low, high = pose_limits()
    interval = KEY_FRAMES * SAMPLES_PER_FRAME
    keys = rng.uniform(low, high, size=(samples // interval + 2, len(low)))
    position = np.arange(samples) / interval
    k = position.astype(int)
    ease = (1.0 - np.cos(np.pi * (position - k))) / 2
    return keys[k] + ease[:, None] * (keys[k + 1] - keys[k])


def track(samples: int, start: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Global orientations (samples, 3), turning about the vertical, and floor positions (samples, 2)
    x, z of a person walking the way it faces."""
    dt = 1.0 / (FPS * SAMPLES_PER_FRAME)
    yaw = rng.uniform(0, 2 * np.pi) + rng.uniform(-TURN_RATE, TURN_RATE) * dt * np.arange(samples)
    speed = rng.uniform(*WALK_SPEED)
    steps = speed * dt * np.stack([np.sin(yaw), np.cos(yaw)], axis=1)  # SMPL faces +z at yaw 0
    orient = np.stack([np.zeros(samples), yaw, np.zeros(samples)], axis=1)
    return orient, start + np.cumsum(steps, axis=0) - steps[0]


@dataclass(frozen=True)
class Person:
    gender: str  # 'm' or 'f'
    betas: np.ndarray  # (10,)
    poses: np.ndarray  # (T, 72) at 60 Hz, global orientation in the world
    trans: np.ndarray  # (T, 3) at 60 Hz, m
    joints: np.ndarray  # (T, 24, 3) SMPL's joints in the world
    keypoints: np.ndarray  # (T, 22, 3) what OPENPOSE indexes (H36M joints, smplx's face keypoints), world
    looks: int  # the seed of the renderer's clothes and colours


def make_person(models: dict, start: np.ndarray, samples: int, rng: np.random.Generator) -> Person:
    """A person moving from a floor position (2,) x, z, the lowest vertex on the floor at every sample."""
    gender = "m" if rng.random() < MALE_PROBABILITY else "f"
    model = models[gender]
    betas = np.clip(rng.normal(0.0, BETA_STD, NUM_BETAS), -BETA_LIMIT, BETA_LIMIT)
    orient, floor = track(samples, start, rng)
    poses = np.concatenate([orient, body_motion(samples, rng)], axis=1)
    dtype = model.v_template.dtype
    with torch.no_grad():
        output = model(
            betas=torch.as_tensor(betas[None], dtype=dtype),
            body_pose=torch.as_tensor(poses[:, 3:], dtype=dtype),
            global_orient=torch.as_tensor(poses[:, :3], dtype=dtype),
            transl=torch.zeros(samples, 3, dtype=dtype),
        )
        keypoints = torch.cat([h36m_joints(model, output.vertices), output.joints[:, SMPLX_FACE]], dim=1)
    lowest = output.vertices[..., 1].amin(dim=1).double().numpy()
    trans = np.stack([floor[:, 0], -lowest, floor[:, 1]], axis=1)
    return Person(
        gender=gender,
        betas=betas,
        poses=poses,
        trans=trans,
        joints=output.joints[:, :24].double().numpy() + trans[:, None],
        keypoints=keypoints.double().numpy() + trans[:, None],
        looks=int(rng.integers(2**32)),
    )


def make_people(models: dict, samples: int, rng: np.random.Generator) -> tuple[list[Person], float]:
    """One or two people, side by side as seen from a random azimuth (radians), which is returned too."""
    azimuth = rng.uniform(0, 2 * np.pi)
    starts = [np.zeros(2)]
    if rng.random() < TWO_PEOPLE_PROBABILITY:
        across = np.array([-np.sin(azimuth), np.cos(azimuth)])  # on the floor, square to the view
        along = np.array([np.cos(azimuth), np.sin(azimuth)])
        starts.append(rng.uniform(*SPACING) * across + rng.uniform(-DEPTH_JITTER, DEPTH_JITTER) * along)
    return [make_person(models, start, samples, rng) for start in starts], azimuth


def camera_poses(centres: np.ndarray, rng: np.random.Generator, azimuth: float) -> np.ndarray:
    """World -> camera extrinsics (F, 4, 4) of a camera following the people's mean floor positions (F, 2)."""
    frames = len(centres)
    distance, height = rng.uniform(*CAMERA_DISTANCE), rng.uniform(*CAMERA_HEIGHT)
    angles = azimuth + rng.uniform(-ORBIT, ORBIT) * np.arange(frames) / max(frames - 1, 1)
    poses = np.tile(np.eye(4), (frames, 1, 1))
    for f, (angle, (x, z)) in enumerate(zip(angles, centres, strict=True)):
        target = np.array([x, LOOK_HEIGHT, z])
        eye = np.array([x + distance * np.cos(angle), height, z + distance * np.sin(angle)])
        rotation = look_at(eye, target, WORLD_UP)
        poses[f, :3, :3], poses[f, :3, 3] = rotation, -rotation @ eye
    return poses


def campose_valid(frames: int, rng: np.random.Generator) -> np.ndarray:
    """campose_valid (frames,): true but, for some people, along one run of frames."""
    valid = np.ones(frames, dtype=bool)
    longest = int(frames * INVALID_FRACTION)
    if longest and rng.random() < INVALID_PROBABILITY:
        length = int(rng.integers(1, longest + 1))
        start = int(rng.integers(frames - length + 1))
        valid[start : start + length] = False
    return valid


def poses2d(keypoints_cam: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """OpenPose's (3, 18) x, y, confidence of one person from its keypoints (22, 3) in the camera frame
    (m) and the renderer's visibility (17,) of its H36M joints. A face keypoint counts as seen when
    the neck/nose is seen, it lies in the image and nearer the camera than the H36M head joint."""
    points = keypoints_cam[list(OPENPOSE)]
    projected = points @ INTRINSICS.T
    xy = projected[:, :2] / projected[:, 2:]
    inside = ((xy >= -0.5) & (xy < np.array(SIZE) - 0.5)).all(axis=1)
    near = points[:, 2] < keypoints_cam[_H36M["head"], 2]
    confident = seen[list(SEEN_BY)] & (~FACE | (inside & near))
    return np.concatenate([np.where(confident[:, None], xy, 0.0), confident[:, None]], axis=1).T


def shaped_template(model: smplx.SMPL, betas: np.ndarray) -> np.ndarray:
    """The model's template (V, 3) shaped by betas, m."""
    shaped = model.v_template + torch.einsum(
        "vck,k->vc", model.shapedirs, torch.as_tensor(betas, dtype=model.v_template.dtype)
    )
    return shaped.double().numpy()


def render_frames(folder: Path, people: list[Person], cam_poses: np.ndarray, rng: np.random.Generator):
    """Render and write every frame of a sequence; returns poses2d (P, F, 3, 18)."""
    frames = len(cam_poses)
    background = random_background(SIZE, rng)
    keypoints = np.stack([person.keypoints[::SAMPLES_PER_FRAME] for person in people], axis=1)
    result = np.zeros((len(people), frames, 3, len(OPENPOSE)))
    for f in range(frames):
        camera = keypoints[f] @ cam_poses[f, :3, :3].T + cam_poses[f, :3, 3]
        figures = [
            dress(1000.0 * points[: len(JOINTS)], np.random.default_rng(person.looks))
            for points, person in zip(camera, people, strict=True)
        ]
        scene = render(figures, (FOCAL, FOCAL), INTRINSICS[:2, 2], SIZE, rng, background).scene
        write_image(folder / f"image_{f:05d}.jpg", scene.image)
        for p in range(len(people)):
            result[p, f] = poses2d(camera[p], scene.visible[p])
    return result


def write_sequence(root: Path, name: str, frames: int, models: dict, rng: np.random.Generator) -> dict:
    """Render one sequence's images; returns its pickle's dict."""
    people, azimuth = make_people(models, frames * SAMPLES_PER_FRAME, rng)
    frame = slice(None, None, SAMPLES_PER_FRAME)
    cam_poses = camera_poses(
        np.mean([person.trans[frame][:, [0, 2]] for person in people], axis=0), rng, azimuth
    )
    keypoints2d = render_frames(root / PW3D_IMAGES / name, people, cam_poses, rng)
    clothed = [person.betas + rng.normal(0.0, CLOTHED_BETA_STD, NUM_BETAS) for person in people]
    return {
        "sequence": name,
        "betas": [person.betas for person in people],
        "betas_clothed": clothed,
        "v_template_clothed": [
            shaped_template(models[person.gender], betas)
            for person, betas in zip(people, clothed, strict=True)
        ],
        "genders": [person.gender for person in people],
        "texture_maps": [None for _ in people],
        "poses": [person.poses[frame] for person in people],
        "poses_60Hz": [person.poses for person in people],
        "trans": [person.trans[frame] for person in people],
        "trans_60Hz": [person.trans for person in people],
        "poses2d": list(keypoints2d),
        "jointPositions": [person.joints[frame].reshape(frames, -1) for person in people],
        "cam_poses": cam_poses,
        "cam_intrinsics": INTRINSICS.copy(),
        "img_frame_ids": np.arange(frames),
        "campose_valid": [campose_valid(frames, rng) for _ in people],
    }


def write(root: Path, n: int, rng: np.random.Generator, body_models: Path) -> None:
    """Write SynthHuman 3DPW under root: about n training frames, n/4 validation and n/4 test frames."""
    root = Path(root)
    models = {gender: load_smpl(body_models, gender) for gender in ("m", "f")}
    evaluation = max(round(n * EVAL_FRACTION), MIN_EVAL_FRAMES)
    for split, total in (("train", n), ("validation", evaluation), ("test", evaluation)):
        count = min(total, max(MIN_SEQUENCES, round(total / FRAMES_PER_SEQUENCE)))
        for index, chunk in enumerate(np.array_split(np.arange(total), count)):
            name = f"{PLACES[split]}_{ACTIVITIES[rng.integers(len(ACTIVITIES))]}_{index:02d}"
            data = write_sequence(root, name, len(chunk), models, rng)
            path = root / PW3D_SEQUENCES.format(split=split) / f"{name}.pkl"
            atomic_write_bytes(path, pickle.dumps(data, protocol=PICKLE_PROTOCOL))
