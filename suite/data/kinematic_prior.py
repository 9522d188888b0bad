"""Real 3D skeletons sampled from a human kinematic prior (paper appendix B, eq. 10).

Each child joint is placed from its parent by a template bone vector b, a length ratio alpha and
a rotation R = euler(a, b, c):

    j_child = j_parent + R . alpha . b_parent_child                                  (eq. 10)

R is the bone's own rotation composed with its parent bone's (forward kinematics), so a range
reads as a joint limit relative to the parent limb: a knee bends relative to its thigh, a hand
follows its forearm. euler(a, b, c) = Rz(c) Rx(a) Ry(b): first b about the vertical axis (the
twist of a limb hanging at rest), then a about the left-right axis (flexion, negative =
forward), then c about the depth axis (sideways).
alpha ~ U[0.9, 1.1] per bone, angles uniform in the ranges of PRIOR below. The root sits at the
origin, each skeleton is divided by its Frobenius norm, and a uniform rotation about the
vertical axis (y in our y-down camera frame) simulates camera views. The paper says "around Z
axis", but its template puts the leg along y (b_pelvis_knee = (0, 45, 0)), so its Z is the depth
axis and that rotation would only roll the image; the official skeleton file's poses cover all
360° of yaw (pretraining-methods.md §1.7), which this follows.

Template bone lengths are the Human3.6M skeleton (mm) that the official skeleton file is built
on (shared/reference/pretraining-methods.md §1.7).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from suite.data.skeleton import BONES, NUM_JOINTS, ROOT

ALPHA_RANGE = (0.9, 1.1)


class BonePrior(NamedTuple):
    """One bone of the template: rest direction, length in mm, Euler ranges in degrees."""

    direction: tuple[float, float, float]
    length: float
    a: tuple[float, float]
    b: tuple[float, float]
    c: tuple[float, float]


def _mirror(bone: BonePrior) -> BonePrior:
    """The right-side twin of a left-side bone: x flips, so rotations about y and z flip sign."""
    x, y, z = bone.direction
    return bone._replace(
        direction=(-x, y, z),
        b=(-bone.b[1], -bone.b[0]),
        c=(-bone.c[1], -bone.c[0]),
    )


# Left-side bones; the right side is their mirror image.
_HIP = BonePrior((1.0, 0.0, 0.0), 132.949, (-10, 10), (-10, 10), (-10, 10))
# The paper's example: b_pelvis_knee = (0, 45, 0), a in [-90, 90], b in [-180, 180], c in [-90, 90].
# Deviation: the twist b is limited to the hip's rotation range [-45, 45]. In the paper's eq. 10 the
# twist of a bone about its own axis does not move it, so any range is harmless there; once rotations
# compose down the chain, a full turn would make the knee bend in any plane.
_THIGH = BonePrior((0.0, 1.0, 0.0), 442.894, (-90, 90), (-45, 45), (-90, 90))
_SHIN = BonePrior((0.0, 1.0, 0.0), 454.206, (0, 150), (-10, 10), (-5, 5))  # knee bends back
_CLAVICLE = BonePrior((1.0, 0.0, 0.0), 151.034, (-10, 10), (-15, 15), (-15, 15))
_UPPER_ARM = BonePrior((0.0, 1.0, 0.0), 278.883, (-180, 60), (-90, 90), (-150, 30))
_FOREARM = BonePrior((0.0, 1.0, 0.0), 251.733, (-150, 0), (-20, 20), (-10, 10))  # elbow bends forward

# One entry per bone, in the order of skeleton.BONES (bone k ends at joint k + 1).
PRIOR: tuple[BonePrior, ...] = (
    _mirror(_HIP),  # root -> r_hip
    _mirror(_THIGH),  # r_hip -> r_knee
    _mirror(_SHIN),  # r_knee -> r_ankle
    _HIP,  # root -> l_hip
    _THIGH,  # l_hip -> l_knee
    _SHIN,  # l_knee -> l_ankle
    BonePrior((0.0, -1.0, 0.0), 233.483, (-20, 45), (-30, 30), (-20, 20)),  # root -> spine
    BonePrior((0.0, -1.0, 0.0), 257.078, (-10, 30), (-20, 20), (-15, 15)),  # spine -> thorax
    BonePrior((0.0, -0.94, -0.34), 121.135, (-30, 40), (-40, 40), (-20, 20)),  # thorax -> neck/nose
    BonePrior((0.0, -1.0, 0.0), 115.002, (-30, 30), (-60, 60), (-30, 30)),  # neck/nose -> head
    _CLAVICLE,  # thorax -> l_shoulder
    _UPPER_ARM,  # l_shoulder -> l_elbow
    _FOREARM,  # l_elbow -> l_wrist
    _mirror(_CLAVICLE),  # thorax -> r_shoulder
    _mirror(_UPPER_ARM),  # r_shoulder -> r_elbow
    _mirror(_FOREARM),  # r_elbow -> r_wrist
)
YAW_RANGE = (-180.0, 180.0)


def template_bones() -> np.ndarray:
    """The default bone vectors b (16, 3) in mm."""
    directions = np.array([bone.direction for bone in PRIOR], dtype=np.float64)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    return directions * np.array([bone.length for bone in PRIOR])[:, None]


def template_skeleton() -> np.ndarray:
    """The rest pose (17, 3) in mm: every bone at its template vector."""
    joints = np.zeros((NUM_JOINTS, 3))
    for (parent, child), bone in zip(BONES, template_bones(), strict=True):
        joints[child] = joints[parent] + bone
    return joints


def euler(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Rz(c) @ Rx(a) @ Ry(b) for angle arrays in radians, shape (..., 3, 3)."""
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    one, zero = np.ones_like(a), np.zeros_like(a)
    rx = np.stack([one, zero, zero, zero, ca, -sa, zero, sa, ca], -1)
    ry = np.stack([cb, zero, sb, zero, one, zero, -sb, zero, cb], -1)
    rz = np.stack([cc, -sc, zero, sc, cc, zero, zero, zero, one], -1)
    shape = (*a.shape, 3, 3)
    return rz.reshape(shape) @ rx.reshape(shape) @ ry.reshape(shape)


def sample_skeletons(
    n: int, seed: int | None = None, *, normalize: bool = True, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Sample n skeletons (n, 17, 3) float32 from the prior (eq. 10).

    normalize=False keeps millimetres (for rendering and for checking bone-length ratios);
    normalize=True divides each skeleton by its Frobenius norm, as the paper does.
    """
    rng = np.random.default_rng(seed) if rng is None else rng
    low = np.radians([[bone.a[0], bone.b[0], bone.c[0]] for bone in PRIOR])
    high = np.radians([[bone.a[1], bone.b[1], bone.c[1]] for bone in PRIOR])
    angles = rng.uniform(low, high, size=(n, len(PRIOR), 3))
    alpha = rng.uniform(*ALPHA_RANGE, size=(n, len(PRIOR), 1))
    yaw = np.radians(rng.uniform(*YAW_RANGE, size=n))

    local = euler(angles[..., 0], angles[..., 1], angles[..., 2])  # (n, 16, 3, 3)
    bones = alpha * template_bones()  # (n, 16, 3)
    rotation = np.empty((n, NUM_JOINTS, 3, 3))  # accumulated rotation of the bone ending at j
    rotation[:, ROOT] = np.eye(3)
    joints = np.zeros((n, NUM_JOINTS, 3))
    for k, (parent, child) in enumerate(BONES):
        rotation[:, child] = rotation[:, parent] @ local[:, k]
        joints[:, child] = joints[:, parent] + np.einsum("nij,nj->ni", rotation[:, child], bones[:, k])

    zero = np.zeros(n)
    joints = joints @ euler(zero, yaw, zero).transpose(0, 2, 1)
    if normalize:
        joints /= np.linalg.norm(joints.reshape(n, -1), axis=1)[:, None, None]
    return joints.astype(np.float32)
