"""The 17-joint Human3.6M skeleton every part of the suite speaks (paper eq. 9, appendix B).

Coordinates are camera-like: x to the image right, y down, z away from the camera, so a
standing person has feet at positive y and head at negative y (the convention of the
official LiftedCL skeleton file, see shared/reference/pretraining-methods.md §1.7).
"""

from __future__ import annotations

import numpy as np

JOINTS = (
    "root",
    "r_hip",
    "r_knee",
    "r_ankle",
    "l_hip",
    "l_knee",
    "l_ankle",
    "spine",
    "thorax",
    "neck_nose",
    "head",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
)
NUM_JOINTS = len(JOINTS)
ROOT = 0

# PARENTS[j] is the parent of joint j (-1 for the root); every parent precedes its child.
PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)

# The 16 bones as (parent, child), in child order: bone k ends at joint k + 1.
BONES = tuple((PARENTS[child], child) for child in range(1, NUM_JOINTS))
NUM_BONES = len(BONES)

# Left/right joints swapped by a horizontal flip.
FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (11, 14), (12, 15), (13, 16))

# Human3.6M joint -> COCO-17 keypoint where the two correspond. COCO order: nose, l_eye, r_eye,
# l_ear, r_ear, l_shoulder, r_shoulder, l_elbow, r_elbow, l_wrist, r_wrist, l_hip, r_hip,
# l_knee, r_knee, l_ankle, r_ankle. H36M's neck/nose joint stands for COCO's nose.
H36M_TO_COCO = {
    9: 0,
    11: 5,
    14: 6,
    12: 7,
    15: 8,
    13: 9,
    16: 10,
    4: 11,
    1: 12,
    5: 13,
    2: 14,
    6: 15,
    3: 16,
}

# Human3.6M joint -> MPII-16 joint where the two correspond, as RLE maps them
# (s_mpii_2_hm36_jt): MPII's upper neck is H36M's thorax and MPII's head top is H36M's head.
# MPII order: r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle, pelvis, thorax, upper_neck,
# head_top, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow, l_wrist.
H36M_TO_MPII = {
    0: 6,
    1: 2,
    2: 1,
    3: 0,
    4: 3,
    5: 4,
    6: 5,
    8: 8,
    10: 9,
    11: 13,
    12: 14,
    13: 15,
    14: 12,
    15: 11,
    16: 10,
}

COCO_JOINTS = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
# 1-based limb pairs as COCO's categories[0]["skeleton"] lists them.
COCO_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip

MPII_JOINTS = (
    "r_ankle",
    "r_knee",
    "r_hip",
    "l_hip",
    "l_knee",
    "l_ankle",
    "pelvis",
    "thorax",
    "upper_neck",
    "head_top",
    "r_wrist",
    "r_elbow",
    "r_shoulder",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
)
MPII_FLIP_PAIRS = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))


def bone_matrix() -> np.ndarray:
    """C in B = X C (paper eq. 6): a (17, 16) matrix with +1 at the child and -1 at the parent.

    Each column is the c of eq. 5 for one bone, so X (3, 17) @ C gives the 16 bone vectors
    child - parent, and diag(B^T B) holds the squared bone lengths (eq. 7).
    """
    c = np.zeros((NUM_JOINTS, NUM_BONES), dtype=np.float32)
    for k, (parent, child) in enumerate(BONES):
        c[child, k] = 1.0
        c[parent, k] = -1.0
    return c


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """Lengths of the 16 bones of (..., 17, 3) joints, shape (..., 16)."""
    parents, children = np.array(BONES).T
    return np.linalg.norm(joints[..., children, :] - joints[..., parents, :], axis=-1)


def flip_joints(joints: np.ndarray) -> np.ndarray:
    """Mirror (..., 17, D) joints about x = 0 and swap left and right."""
    flipped = joints.copy()
    flipped[..., 0] = -flipped[..., 0]
    for left, right in FLIP_PAIRS:
        flipped[..., [left, right], :] = flipped[..., [right, left], :]
    return flipped
