"""A small body model in SMPL's file format, standing in for SMPL and SPIN's J_regressor_h36m.npy.

SMPL's 24 joints stand in a T-pose (metres; y up, x to the body's left, z forward, as in SMPL).
Tubes of elliptical rings run along the bones (torso, head, legs with feet, arms with hands), each
a closed surface with domed ends. A ring centred on a joint is that joint's J_regressor row, so
J_regressor @ v_template gives the T-pose joints. Each tube segment is skinned to the joint that
rotates it, blended half and half with its neighbour at every node and smoothly over BLEND of the
segment; since a ring's vertices share one weight and skinning is linear, the mean of a joint's
ring stays on the posed joint.

Shape space: beta 0 scales the body about the origin (height), beta 1 widens every ring (girth),
betas 2-9 are small smooth random fields. Pose blend shapes bulge a joint's ring outward as the
joint bends. The male, female and neutral models differ in height, shoulder and hip width and
girth, and share one topology: one J_regressor_h36m and one VERTEX_IDS serve all three.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
import smplx
import torch
from smplx.utils import Struct

from suite.data.layouts import SMPL_GENDERS, SMPL_J_REGRESSOR_H36M, SMPL_MODEL
from suite.data.skeleton import JOINTS
from suite.data.smpl import NUM_POSE_BASIS, NUM_SMPL_JOINTS, read_j_regressor_h36m, read_model
from suite.io import atomic_write_bytes

SMPL_JOINTS = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle",
    "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder",
    "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hand", "r_hand",
)  # fmt: skip
PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21)
ROOT_PARENT = 2**32 - 1  # how SMPL's kintree_table marks the root's missing parent
NUM_BETAS = 10
SMPL_VERTICES = 6890  # the real SMPL mesh, whose vertex ids smplx knows
PICKLE_PROTOCOL = 2  # SMPL's files are Python 2 pickles

RING_VERTICES = 16
RINGS_PER_SEGMENT = 2  # rings between two nodes of a tube
BLEND = 0.35  # fraction of a segment, at each end, over which its skinning blends into the neighbour's
CAP_DEPTH = 0.5  # how far a tube's end domes out, in its end ring's smaller radius
HEIGHT_PER_BETA = 0.03  # relative scale per unit of beta 0
GIRTH_PER_BETA = 0.08  # relative ring width per unit of beta 1
FIELD_AMPLITUDE = 0.004  # m per unit of betas 2-9
FIELD_FREQUENCY = 4.0  # rad/m of their fields
FIELD_WAVES = 3  # plane waves summed in each field
MIRROR_X = np.array([-1.0, 1.0, 1.0])  # the mirror that swaps the left and right sides
BULGE = 0.01  # m a joint's ring swells per unit of (1 - cos bend angle)
H36M_HIP_OUTSIDE = 0.5  # weight of the hip ring's outermost vertex: H36M's hips sit wider than SMPL's
H36M_NOSE_FRONT = 0.5  # weight of the head ring's front vertex in H36M's neck/nose
H36M_THORAX_NECK = 0.75  # H36M's thorax between SMPL's spine3 (0) and neck (1)

# The neutral T-pose, m: the centre line and the left side; right joints mirror left ones in x.
_T_POSE = {
    "pelvis": (0.0, -0.22, 0.02),
    "l_hip": (0.07, -0.31, 0.02),
    "spine1": (0.0, -0.11, 0.0),
    "l_knee": (0.10, -0.68, 0.01),
    "spine2": (0.0, 0.03, 0.01),
    "l_ankle": (0.09, -1.11, -0.02),
    "spine3": (0.0, 0.09, 0.03),
    "l_foot": (0.12, -1.17, 0.10),
    "neck": (0.0, 0.29, -0.01),
    "l_collar": (0.08, 0.20, -0.01),
    "head": (0.0, 0.35, 0.04),
    "l_shoulder": (0.17, 0.22, -0.02),
    "l_elbow": (0.43, 0.21, -0.03),
    "l_wrist": (0.69, 0.22, -0.03),
    "l_hand": (0.77, 0.21, -0.04),
}
ARM = ("collar", "shoulder", "elbow", "wrist", "hand")
LEG = ("hip", "knee", "ankle", "foot")


@dataclass(frozen=True)
class Proportions:
    scale: float  # of the whole body
    shoulders: float  # m added to each arm's distance from the midline
    hips: float  # m added to each leg's distance from the midline
    girth: float  # factor on every ring's radii


PROPORTIONS = {
    "NEUTRAL": Proportions(1.0, 0.0, 0.0, 1.0),
    "MALE": Proportions(1.04, 0.012, -0.004, 1.04),
    "FEMALE": Proportions(0.95, -0.012, 0.008, 0.96),
}


def twin(name: str) -> str:
    """The right-side name of a left-side joint or ring (others are their own twin)."""
    return "r_" + name[2:] if name.startswith("l_") else name


def t_pose(proportions: Proportions) -> np.ndarray:
    """The (24, 3) T-pose joints of a model, m."""
    joints = {**_T_POSE}
    joints |= {twin(name): (-x, y, z) for name, (x, y, z) in _T_POSE.items() if name.startswith("l_")}
    result = np.array([joints[name] for name in SMPL_JOINTS])
    for parts, shift in ((ARM, proportions.shoulders), (LEG, proportions.hips)):
        for side, sign in (("l_", 1.0), ("r_", -1.0)):
            result[[SMPL_JOINTS.index(side + part) for part in parts], 0] += sign * shift
    return result * proportions.scale


# The tubes, as nodes along their axis.


@dataclass(frozen=True)
class Node:
    """A ring of a tube: on a joint (the joint's own ring) or at an offset from it (m, before scaling).

    The segment from this node to the next is skinned to the node's joint."""

    joint: str
    radii: tuple[float, float]  # along the tube's reference direction and across it, m
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    name: str = ""  # names an offset ring that a regressor uses

    @property
    def key(self) -> str:
        """What the ring is looked up by: its name, or its joint's for a joint's own ring."""
        return self.name or ("" if any(self.offset) else self.joint)


@dataclass(frozen=True)
class Tube:
    nodes: tuple[Node, ...]
    reference: tuple[float, float, float]  # where each ring's first vertex points, made square to the axis
    attach: str | None  # the joint the tube hangs from, which its first ring blends into


TORSO = Tube(
    (
        Node("pelvis", (0.12, 0.09), (0.0, -0.12, 0.0)),
        Node("pelvis", (0.165, 0.105)),
        Node("spine1", (0.145, 0.10)),
        Node("spine2", (0.15, 0.105)),
        Node("spine3", (0.165, 0.11)),
        Node("spine3", (0.15, 0.10), (0.0, 0.12, -0.02)),
        Node("neck", (0.065, 0.06)),
    ),
    (1.0, 0.0, 0.0),
    None,
)
HEAD = Tube(
    (
        Node("neck", (0.055, 0.055)),
        Node("head", (0.06, 0.065)),
        Node("head", (0.08, 0.095), (0.0, 0.07, 0.01), "cranium"),
        Node("head", (0.07, 0.08), (0.0, 0.16, 0.0), "crown"),
        Node("head", (0.03, 0.035), (0.0, 0.21, -0.01)),
    ),
    (1.0, 0.0, 0.0),
    "spine3",
)
LEFT_LEG = Tube(
    (
        Node("l_hip", (0.08, 0.08)),
        Node("l_knee", (0.055, 0.055)),
        Node("l_ankle", (0.04, 0.04)),
        Node("l_foot", (0.045, 0.025)),
        Node("l_foot", (0.035, 0.015), (0.0, -0.01, 0.07)),
    ),
    (1.0, 0.0, 0.0),
    "pelvis",
)
LEFT_ARM = Tube(
    (
        Node("l_collar", (0.05, 0.05)),
        Node("l_shoulder", (0.05, 0.05)),
        Node("l_elbow", (0.04, 0.04)),
        Node("l_wrist", (0.03, 0.025)),
        Node("l_hand", (0.045, 0.015)),  # flat and wide: the palm faces down in the T-pose
        Node("l_hand", (0.035, 0.01), (0.10, 0.0, 0.0)),
    ),
    (0.0, 0.0, 1.0),
    "spine3",
)


def mirror(tube: Tube) -> Tube:
    """The right-side twin of a left-side tube."""
    x, y, z = tube.reference
    nodes = tuple(
        Node(twin(node.joint), node.radii, (-node.offset[0], *node.offset[1:]), twin(node.name))
        for node in tube.nodes
    )
    return Tube(nodes, (-x, y, z), tube.attach)


TUBES = (TORSO, HEAD, LEFT_LEG, mirror(LEFT_LEG), LEFT_ARM, mirror(LEFT_ARM))


# The mesh.

_ANGLES = 2 * np.pi * np.arange(RING_VERTICES) / RING_VERTICES
_CIRCLE = np.stack([np.cos(_ANGLES), np.sin(_ANGLES)], axis=1)


@dataclass(frozen=True)
class Ring:
    """RING_VERTICES points on an ellipse square to a tube's axis, all skinned alike."""

    centre: np.ndarray  # (3,)
    axis: np.ndarray  # (3,) unit, along the tube
    across: np.ndarray  # (2, 3) unit directions of the two radii
    radii: np.ndarray  # (2,)
    weights: np.ndarray  # (24,)
    key: str  # the key of the node it sits on, "" between nodes

    def outward(self) -> np.ndarray:
        """(RING_VERTICES, 3) unit directions from the centre at the angles of the ring's vertices."""
        return _CIRCLE @ self.across

    def points(self) -> np.ndarray:
        return self.centre + (_CIRCLE * self.radii) @ self.across


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _ring_weights(owner: int, before: int | None, after: int, t: float) -> np.ndarray:
    """Skinning weights (24,) at fraction t along a segment skinned to `owner`, between `before`
    (the segment or joint before it; None at a free end) and `after` (the next node's joint)."""
    weights = np.zeros(NUM_SMPL_JOINTS)
    into_before = 0.0 if before is None else 0.5 * (1.0 - _smoothstep(t / BLEND))
    into_after = 0.5 * _smoothstep((t - 1.0 + BLEND) / BLEND)
    weights[owner] += 1.0 - into_before - into_after
    if before is not None:
        weights[before] += into_before
    weights[after] += into_after
    return weights


def tube_rings(tube: Tube, joints: np.ndarray, proportions: Proportions) -> list[Ring]:
    """The rings of a tube: one on each node and RINGS_PER_SEGMENT between two nodes."""
    owners = [SMPL_JOINTS.index(node.joint) for node in tube.nodes]
    positions = joints[owners] + proportions.scale * np.array([node.offset for node in tube.nodes])
    radii = proportions.girth * np.array([node.radii for node in tube.nodes])
    segments = _unit(np.diff(positions, axis=0))
    node_axes = _unit(np.concatenate([segments[:1], segments[:-1] + segments[1:], segments[-1:]]))
    attach = None if tube.attach is None else SMPL_JOINTS.index(tube.attach)
    steps = np.linspace(0.0, 1.0, RINGS_PER_SEGMENT + 2)
    stations = [(i, t) for i in range(len(segments)) for t in steps[:-1]] + [(len(segments) - 1, 1.0)]
    rings = []
    for i, t in stations:
        node = {0.0: i, 1.0: i + 1}.get(t)
        axis = segments[i] if node is None else node_axes[node]
        u = _unit(np.asarray(tube.reference) - np.dot(tube.reference, axis) * axis)
        before = attach if i == 0 else owners[i - 1]
        rings.append(
            Ring(
                centre=(1 - t) * positions[i] + t * positions[i + 1],
                axis=axis,
                across=np.stack([u, np.cross(axis, u)]),
                radii=(1 - t) * radii[i] + t * radii[i + 1],
                weights=_ring_weights(owners[i], before, owners[i + 1], t),
                key="" if node is None else tube.nodes[node].key,
            )
        )
    return rings


def tube_faces(rings: int) -> np.ndarray:
    """Triangles of a tube whose vertices are its rings in order, then its start and end tips.

    Each ring runs counter-clockwise seen from the tube's end, so these face outward."""
    a = np.arange(rings - 1)[:, None] * RING_VERTICES + np.arange(RING_VERTICES)
    a1 = np.arange(rings - 1)[:, None] * RING_VERTICES + (np.arange(RING_VERTICES) + 1) % RING_VERTICES
    b, b1 = a + RING_VERTICES, a1 + RING_VERTICES
    tip = rings * RING_VERTICES
    start, end = np.full(RING_VERTICES, tip), np.full(RING_VERTICES, tip + 1)
    sides = np.concatenate([np.stack([a, a1, b], -1), np.stack([a1, b1, b], -1)], axis=1).reshape(-1, 3)
    caps = [np.stack([start, a1[0], a[0]], -1), np.stack([end, b[-1], b1[-1]], -1)]
    return np.concatenate([sides, *caps])


@dataclass(frozen=True)
class Mesh:
    joints: np.ndarray  # (24, 3) T-pose
    vertices: np.ndarray  # (V, 3)
    faces: np.ndarray  # (F, 3), counter-clockwise seen from outside
    weights: np.ndarray  # (V, 24) skinning weights
    centres: np.ndarray  # (V, 3) the centre of each vertex's ring
    outward: np.ndarray  # (V, 3) unit outward direction of each ring vertex, zero on the tips
    rings: dict[str, list[np.ndarray]]  # ring key -> vertex indices of every ring with that key

    def ring(self, key: str) -> np.ndarray:
        """The vertex indices of the first ring with this key."""
        return self.rings[key][0]


def _per_vertex(rings: list[Ring], field: str) -> np.ndarray:
    """A ring attribute for each vertex of a tube: its rings' vertices, then its two tips."""
    values = np.array([getattr(ring, field) for ring in rings])
    return np.concatenate([np.repeat(values, RING_VERTICES, axis=0), values[[0, -1]]])


def build_mesh(proportions: Proportions) -> Mesh:
    """The T-pose mesh of a model with these proportions: every tube's rings, then its two tips."""
    joints = t_pose(proportions)
    vertices, faces, weights, centres, outward = [], [], [], [], []
    rings: dict[str, list[np.ndarray]] = {}
    for tube in TUBES:
        base = sum(map(len, vertices))
        sections = tube_rings(tube, joints, proportions)
        first, last = sections[0], sections[-1]
        tips = (
            first.centre - CAP_DEPTH * first.radii.min() * first.axis,
            last.centre + CAP_DEPTH * last.radii.min() * last.axis,
        )
        vertices.append(np.concatenate([*(ring.points() for ring in sections), tips]))
        faces.append(base + tube_faces(len(sections)))
        weights.append(_per_vertex(sections, "weights"))
        centres.append(_per_vertex(sections, "centre"))
        outward.append(np.concatenate([*(ring.outward() for ring in sections), np.zeros((2, 3))]))
        for k, ring in enumerate(sections):
            if ring.key:
                rings.setdefault(ring.key, []).append(base + k * RING_VERTICES + np.arange(RING_VERTICES))
    return Mesh(
        joints=joints,
        vertices=np.concatenate(vertices),
        faces=np.concatenate(faces),
        weights=np.concatenate(weights),
        centres=np.concatenate(centres),
        outward=np.concatenate(outward),
        rings=rings,
    )


# Regressors and blend shapes.


def joint_regressor(mesh: Mesh) -> np.ndarray:
    """SMPL's (24, V) J_regressor: each joint the mean of its rings."""
    regressor = np.zeros((NUM_SMPL_JOINTS, len(mesh.vertices)))
    for joint, name in enumerate(SMPL_JOINTS):
        members = np.concatenate(mesh.rings[name])
        regressor[joint, members] = 1.0 / len(members)
    return regressor


def h36m_regressor(mesh: Mesh) -> np.ndarray:
    """A (17, V) J_regressor_h36m in the order of skeleton.JOINTS, rows summing to 1.

    Knees, ankles, shoulders, elbows and wrists are SMPL's. Hips lean to the outer side of SMPL's
    (H36M's sit wider), the root is their midpoint, the spine lies between spine1 and spine2, the
    thorax low on the neck, the neck/nose in front of SMPL's head joint, the head mid-cranium."""
    smpl = dict(zip(SMPL_JOINTS, joint_regressor(mesh), strict=True))

    def vertex(index: int) -> np.ndarray:
        return np.eye(len(mesh.vertices))[index]

    def ring_mean(key: str) -> np.ndarray:
        return vertex(mesh.ring(key)).mean(axis=0)

    rows = {}
    for side in ("l_", "r_"):
        hip = mesh.ring(side + "hip")
        outermost = hip[np.argmax(np.abs(mesh.vertices[hip, 0]))]
        rows[side + "hip"] = (1 - H36M_HIP_OUTSIDE) * smpl[side + "hip"] + H36M_HIP_OUTSIDE * vertex(
            outermost
        )
        for part in ("knee", "ankle", "shoulder", "elbow", "wrist"):
            rows[side + part] = smpl[side + part]
    rows["root"] = (rows["l_hip"] + rows["r_hip"]) / 2
    rows["spine"] = (smpl["spine1"] + smpl["spine2"]) / 2
    rows["thorax"] = H36M_THORAX_NECK * smpl["neck"] + (1 - H36M_THORAX_NECK) * smpl["spine3"]
    head = mesh.ring("head")
    front = head[np.argmax(mesh.vertices[head, 2])]
    rows["neck_nose"] = (1 - H36M_NOSE_FRONT) * smpl["head"] + H36M_NOSE_FRONT * vertex(front)
    rows["head"] = (ring_mean("cranium") + ring_mean("crown")) / 2
    return np.stack([rows[name] for name in JOINTS])


def shape_blend_shapes(mesh: Mesh, rng: np.random.Generator) -> np.ndarray:
    """shapedirs (V, 3, 10): height, girth, then smooth random fields (sums of plane waves).

    Each field is made mirror-symmetric, f(p) + M f(M p) with M the mirror in x, as SMPL's shape space
    nearly is: a mirrored person keeps its betas (SPIN's flip keeps them), so a body with any betas,
    posed by the mirrored pose, is the mirror image of the body posed by the pose."""
    shapedirs = np.zeros((len(mesh.vertices), 3, NUM_BETAS))
    shapedirs[:, :, 0] = HEIGHT_PER_BETA * mesh.vertices
    shapedirs[:, :, 1] = GIRTH_PER_BETA * (mesh.vertices - mesh.centres)
    for k in range(2, NUM_BETAS):
        waves = FIELD_FREQUENCY * _unit(rng.normal(size=(FIELD_WAVES, 3)))
        phases = rng.uniform(0, 2 * np.pi, FIELD_WAVES)
        amplitudes = _unit(rng.normal(size=(FIELD_WAVES, 3)))
        shapedirs[:, :, k] = _mirror_symmetric_field(mesh.vertices, waves, phases, amplitudes)
    return shapedirs


def _mirror_symmetric_field(
    points: np.ndarray, waves: np.ndarray, phases: np.ndarray, amplitudes: np.ndarray
) -> np.ndarray:
    """(N, 3) displacements, m, at (N, 3) points: f(p) + M f(M p), f a sum of plane waves."""

    def field(at: np.ndarray) -> np.ndarray:
        return FIELD_AMPLITUDE * np.sin(at @ waves.T + phases) @ amplitudes

    return field(points) + field(points * MIRROR_X) * MIRROR_X


def pose_blend_shapes(mesh: Mesh) -> np.ndarray:
    """posedirs (V, 3, 207): a joint's ring swells by BULGE (1 - cos angle) as the joint bends.

    SMPL multiplies posedirs by the entries of R_j - I for joints 1-23; the trace of R_j - I is
    -2 (1 - cos angle), so the bulge sits on the diagonal entries. It is weighted by the product of
    the joint's and its parent's skinning weights, 1/4 on the joint's ring and 0 away from it."""
    posedirs = np.zeros((len(mesh.vertices), 3, NUM_POSE_BASIS))
    for joint in range(1, NUM_SMPL_JOINTS):
        near = 4.0 * mesh.weights[:, joint] * mesh.weights[:, PARENTS[joint]]
        for entry in (0, 4, 8):
            posedirs[:, :, 9 * (joint - 1) + entry] = -BULGE / 2 * near[:, None] * mesh.outward
    return posedirs


# smplx's extra keypoints (the keys SMPL's VertexJointSelector reads): the vertex of the neutral
# mesh nearest a target, a T-pose joint plus an offset (m); left targets are mirrored for the right.
_NOSE_TARGET = ("head", (0.0, 0.06, 0.12))
_PAIRED_TARGETS = (
    ("leye", "reye", "head", (0.035, 0.09, 0.10)),
    ("lear", "rear", "head", (0.09, 0.07, 0.0)),
    ("LBigToe", "RBigToe", "l_foot", (-0.02, -0.02, 0.08)),
    ("LSmallToe", "RSmallToe", "l_foot", (0.03, -0.02, 0.06)),
    ("LHeel", "RHeel", "l_ankle", (0.0, -0.06, -0.05)),
    ("lthumb", "rthumb", "l_hand", (0.0, 0.0, 0.06)),
    ("lindex", "rindex", "l_hand", (0.10, 0.0, 0.03)),
    ("lmiddle", "rmiddle", "l_hand", (0.10, 0.0, 0.01)),
    ("lring", "rring", "l_hand", (0.10, 0.0, -0.01)),
    ("lpinky", "rpinky", "l_hand", (0.10, 0.0, -0.03)),
)


def vertex_ids(mesh: Mesh) -> dict[str, int]:
    """smplx's vertex_ids for this topology."""
    targets = {"nose": _NOSE_TARGET}
    for left, right, joint, (x, y, z) in _PAIRED_TARGETS:
        targets |= {left: (joint, (x, y, z)), right: (twin(joint), (-x, y, z))}
    return {
        name: int(
            np.argmin(np.linalg.norm(mesh.vertices - mesh.joints[SMPL_JOINTS.index(joint)] - offset, axis=1))
        )
        for name, (joint, offset) in targets.items()
    }


VERTEX_IDS = vertex_ids(build_mesh(PROPORTIONS["NEUTRAL"]))


# Files.


def smpl_file(mesh: Mesh, rng: np.random.Generator) -> dict:
    """The dict SMPL's pkl holds, plain numpy and scipy only (no chumpy)."""
    return {
        "v_template": mesh.vertices,
        "J": mesh.joints,
        "shapedirs": shape_blend_shapes(mesh, rng),
        "posedirs": pose_blend_shapes(mesh),
        "J_regressor": scipy.sparse.csc_matrix(joint_regressor(mesh)),
        "weights": mesh.weights,
        "kintree_table": np.array([[ROOT_PARENT, *PARENTS[1:]], range(NUM_SMPL_JOINTS)], dtype=np.int64),
        "f": mesh.faces.astype(np.uint32),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


def write_body_models(root: Path, rng: np.random.Generator) -> None:
    """Write root/smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl and root/J_regressor_h36m.npy."""
    root = Path(root)
    for gender in SMPL_GENDERS:
        data = smpl_file(build_mesh(PROPORTIONS[gender]), rng)
        atomic_write_bytes(
            root / SMPL_MODEL.format(gender=gender), pickle.dumps(data, protocol=PICKLE_PROTOCOL)
        )
    buffer = io.BytesIO()
    np.save(buffer, h36m_regressor(build_mesh(PROPORTIONS["NEUTRAL"])))
    atomic_write_bytes(root / SMPL_J_REGRESSOR_H36M, buffer.getvalue())


# Using a model (this one or the real SMPL) through smplx.

GENDERS = {"neutral": "NEUTRAL", "male": "MALE", "female": "FEMALE", "m": "MALE", "f": "FEMALE"}


def smplx_struct(model) -> Struct:
    """The arrays of a model read by suite.data.smpl.read_model, as smplx's data_struct."""
    return Struct(
        v_template=model.v_template,
        shapedirs=model.shapedirs,
        posedirs=model.posedirs,
        J_regressor=model.J_regressor,
        weights=model.weights,
        kintree_table=model.kintree_table,
        f=model.faces,
    )


def load_smpl(root: Path, gender: str) -> smplx.SMPL:
    """smplx's SMPL for root/smpl/SMPL_<gender>.pkl, read by the safe loader, with root's
    J_regressor_h36m.npy as its buffer `J_regressor_h36m`.

    gender: 'neutral', 'male', 'female' or 3DPW's 'm', 'f'. smplx finds its extra keypoints (nose,
    eyes, ears, toes, heels, finger tips) by SMPL's vertex ids; a smaller mesh gets VERTEX_IDS."""
    if gender.lower() not in GENDERS:
        raise ValueError(f"unknown SMPL gender {gender!r}; expected one of {sorted(GENDERS)}")
    path = Path(root) / SMPL_MODEL.format(gender=GENDERS[gender.lower()])
    model = read_model(path)
    regressor = read_j_regressor_h36m(Path(root) / SMPL_J_REGRESSOR_H36M, model.num_vertices)
    data = smplx_struct(model)
    # smplx prints a warning for any model with fewer than 300 shape components, as SMPL's own have.
    with contextlib.redirect_stdout(io.StringIO()):
        smpl = smplx.SMPL(
            model_path=str(path),
            data_struct=data,
            gender=GENDERS[gender.lower()].lower(),
            vertex_ids=VERTEX_IDS if model.num_vertices < SMPL_VERTICES else None,
        )
    smpl.register_buffer("J_regressor_h36m", torch.as_tensor(regressor, dtype=smpl.v_template.dtype))
    return smpl


def h36m_joints(model: smplx.SMPL, vertices: torch.Tensor) -> torch.Tensor:
    """(N, V, 3) vertices of a model from load_smpl -> (N, 17, 3) Human3.6M joints."""
    return torch.einsum("jv,nvc->njc", model.J_regressor_h36m, vertices)


def body_joints_h36m(model: smplx.SMPL, betas, body_pose, global_orient, transl) -> torch.Tensor:
    """(N, 17, 3) Human3.6M joints of SMPL parameters (N, 10), (N, 69), (N, 3), (N, 3), arrays or tensors."""
    dtype = model.v_template.dtype
    output = model(
        betas=torch.as_tensor(betas, dtype=dtype),
        body_pose=torch.as_tensor(body_pose, dtype=dtype),
        global_orient=torch.as_tensor(global_orient, dtype=dtype),
        transl=torch.as_tensor(transl, dtype=dtype),
    )
    return h36m_joints(model, output.vertices)
