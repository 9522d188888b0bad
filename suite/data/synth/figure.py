"""A person as the renderer draws it: tapered capsules between the 17 joints, with LIP labels and looks.

Radii are in mm and scale with a random build; the head is a sphere whose back and top are hair
and whose front is face. Left and right are the person's own, as in LIP ("Left-arm" is the
person's left arm).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.data.layouts import LIP_CLASSES
from suite.data.skeleton import JOINTS

J = {name: index for index, name in enumerate(JOINTS)}
LIP = {name: index for index, name in enumerate(LIP_CLASSES)}
SIDES = (("l", "Left"), ("r", "Right"))  # joint-name prefix, LIP class prefix

# Radii (mm) at the two ends of each part, and the lengths of the parts that end in no joint.
TORSO = (115.0, 125.0)
HIP = 85.0
CLAVICLE = 60.0
NECK = 50.0
HEAD = 100.0
UPPER_ARM = (50.0, 40.0)
FOREARM = (40.0, 30.0)
HAND = (38.0, 30.0)
THIGH = (80.0, 55.0)
SHIN = (55.0, 40.0)
FOOT = (45.0, 40.0)
HAND_LENGTH = 80.0
FOOT_LENGTH = 140.0
FOOT_DROP = 40.0
HEAD_BACK = 25.0  # the head's centre lies this far behind the nose-head midpoint
TORSO_TOP_INSET = 0.8  # the upper torso ends this many torso radii below the thorax
BUILD_RANGE = (0.85, 1.15)

# Looks: skin and hair tones (RGB), how likely sleeves cover the upper arm, stripes on clothes.
SKIN_TONES = np.array([[255, 219, 172], [241, 194, 125], [224, 172, 105], [198, 134, 66], [141, 85, 36]])
HAIR_TONES = np.array([[20, 15, 10], [70, 45, 25], [140, 95, 50], [200, 170, 110], [120, 120, 120]])
TONE_JITTER = 15.0
SHOE_MAX = 120  # shoes are dark
SLEEVE_PROBABILITY = 0.5
STRIPES_PROBABILITY = 0.5
STRIPES_RANGE = (3, 9)


@dataclass(frozen=True)
class Hair:
    """Which side of a sphere is hair: where its normal turns away from the face or up."""

    forward: np.ndarray
    up: np.ndarray
    colour: np.ndarray


@dataclass(frozen=True)
class Part:
    """One capsule from start to end (camera frame, mm), its LIP class and its look."""

    start: np.ndarray
    end: np.ndarray
    radii: tuple[float, float]
    label: int
    colour: np.ndarray
    stripes: int = 0  # stripe count along the part; 0 is plain
    hair: Hair | None = None


@dataclass(frozen=True)
class Figure:
    """A dressed person: its joints (17, 3), the limb radius at each joint, parts and head frame."""

    joints: np.ndarray
    joint_radii: np.ndarray
    parts: tuple[Part, ...]
    head_centre: np.ndarray
    head_radius: float
    head_axes: np.ndarray  # rows: forward (face), up, left, unit vectors in the camera frame

    def head_points(self, directions: np.ndarray) -> np.ndarray:
        """Points on the head sphere (k, 3) along directions (k, 3) given as (forward, up, left)."""
        directions = directions / np.linalg.norm(directions, axis=-1, keepdims=True)
        return self.head_centre + self.head_radius * directions @ self.head_axes


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def body_axes(joints: np.ndarray) -> np.ndarray:
    """The person's forward, up and left directions (3, 3) from hips, shoulders and spine."""
    left = joints[J["l_hip"]] - joints[J["r_hip"]] + joints[J["l_shoulder"]] - joints[J["r_shoulder"]]
    up = _unit(joints[J["thorax"]] - joints[J["root"]])
    forward = _unit(np.cross(left, up))
    return np.stack([forward, up, np.cross(up, forward)])


def _tone(palette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    colour = palette[rng.integers(len(palette))] + rng.uniform(-TONE_JITTER, TONE_JITTER, 3)
    return np.clip(colour, 0, 255)


def dress(joints: np.ndarray, rng: np.random.Generator) -> Figure:
    """Build the parts of one person from its joints (17, 3) in the camera frame, mm."""
    joints = np.asarray(joints, dtype=np.float64)
    build = rng.uniform(*BUILD_RANGE)
    skin, hair = _tone(SKIN_TONES, rng), _tone(HAIR_TONES, rng)
    top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    shoes = rng.uniform(0, SHOE_MAX, 3)
    top_stripes, bottom_stripes = (
        int(rng.integers(*STRIPES_RANGE)) if rng.random() < STRIPES_PROBABILITY else 0 for _ in range(2)
    )
    sleeves = rng.random() < SLEEVE_PROBABILITY

    def radii(pair: tuple[float, float] | float) -> tuple[float, float]:
        low, high = (pair, pair) if isinstance(pair, float) else pair
        return low * build, high * build

    forward = body_axes(joints)[0]
    head_up = _unit(joints[J["head"]] - joints[J["neck_nose"]])
    head_forward = _unit(forward - np.dot(forward, head_up) * head_up)
    head_axes = np.stack([head_forward, head_up, np.cross(head_up, head_forward)])
    head_centre = (joints[J["head"]] + joints[J["neck_nose"]]) / 2 - HEAD_BACK * build * head_forward
    head_radius = HEAD * build

    thorax, spine = joints[J["thorax"]], joints[J["spine"]]
    torso_top = thorax + _unit(spine - thorax) * TORSO[1] * build * TORSO_TOP_INSET
    parts = [
        Part(joints[J["root"]], spine, radii((TORSO[0], TORSO[0])), LIP["UpperClothes"], top, top_stripes),
        Part(spine, torso_top, radii(TORSO), LIP["UpperClothes"], top, top_stripes),
        Part(thorax, head_centre, radii(NECK), LIP["Face"], skin),
        Part(
            head_centre, head_centre, radii(HEAD), LIP["Face"], skin, hair=Hair(head_forward, head_up, hair)
        ),
    ]
    for side, name in SIDES:
        arm, leg, shoe = LIP[f"{name}-arm"], LIP[f"{name}-leg"], LIP[f"{name}-shoe"]
        shoulder, elbow, wrist = (joints[J[f"{side}_{name}"]] for name in ("shoulder", "elbow", "wrist"))
        hip, knee, ankle = (joints[J[f"{side}_{name}"]] for name in ("hip", "knee", "ankle"))
        hand = wrist + _unit(wrist - elbow) * HAND_LENGTH * build
        toe = ankle + (forward * FOOT_LENGTH + _unit(ankle - knee) * FOOT_DROP) * build
        sleeve = (LIP["UpperClothes"], top) if sleeves else (arm, skin)
        parts += [
            Part(joints[J["root"]], hip, radii(HIP), LIP["Pants"], bottom, bottom_stripes),
            Part(thorax, shoulder, radii(CLAVICLE), LIP["UpperClothes"], top, top_stripes),
            Part(shoulder, elbow, radii(UPPER_ARM), *sleeve),
            Part(elbow, wrist, radii(FOREARM), arm, skin),
            Part(wrist, hand, radii(HAND), arm, skin),
            Part(hip, knee, radii(THIGH), LIP["Pants"], bottom, bottom_stripes),
            Part(knee, ankle, radii(SHIN), leg, skin),
            Part(ankle, toe, radii(FOOT), shoe, shoes),
        ]

    joint_radii = build * np.array(
        [TORSO[0], THIGH[0], THIGH[1], SHIN[1], THIGH[0], THIGH[1], SHIN[1], TORSO[0], TORSO[1], HEAD, HEAD]
        + [UPPER_ARM[0], UPPER_ARM[1], FOREARM[1]] * 2
    )
    return Figure(joints, joint_radii, tuple(parts), head_centre, head_radius, head_axes)
