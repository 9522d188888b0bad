"""3DPW's reconstruction error (Table 5): PA-MPJPE in mm on the 14 LSP joints regressed from SMPL meshes.

Source: SPIN's eval.py for 3DPW (RSC-Net's is the same), downstream-protocols.md §5.3:

1. the predicted mesh from the neutral SMPL, the ground-truth mesh from the male or female SMPL as the
   person's gender says (SPIN's npz: 0 or 'm' male, anything else female);
2. SPIN's J_regressor_h36m (17 x V) applied to both meshes;
3. the pelvis, Human3.6M joint 0, subtracted from every joint;
4. the 14 LSP joints taken by H36M_TO_J14, in metres x 1000;
5. MPJPE, and the reconstruction error: the same after each predicted pose is aligned to its ground
   truth by a similarity Procrustes (scale, rotation, translation: suite.evaluate.mpjpe).

SMPL is evaluated here in numpy, float64, as smplx's `lbs` computes it (the axis-angle -> matrix of
its batch_rodrigues with its 1e-8, pose blend shapes, the kinematic chain, linear blend skinning), so
that `python -m suite eval` needs no torch. Translation does not move root-relative joints and is left
out. Body models: <root>/smpl/SMPL_{NEUTRAL,MALE,FEMALE}.pkl and <root>/J_regressor_h36m.npy (SPIN's
layout, suite.data.smpl), the root the `smpl` dataset of suite.toml or SUITE_SMPL_ROOT.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from suite.data.layouts import SMPL_J_REGRESSOR_H36M, SMPL_MODEL
from suite.data.smpl import SmplModel, read_j_regressor_h36m, read_model
from suite.errors import SuiteError
from suite.evaluate.arrays import finite_numbers, load_npy
from suite.evaluate.mpjpe import mpjpe, pa_mpjpe

PELVIS = 0  # Human3.6M joint 0
# R ankle, knee, hip; L hip, knee, ankle; R wrist, elbow, shoulder; L shoulder, elbow, wrist; neck; head
H36M_TO_J14 = (6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10)
NUM_BETAS = 10
CHUNK = 512  # persons per numpy forward pass (memory: CHUNK x V x 4 x 4 floats)


def rodrigues(rotvecs: np.ndarray) -> np.ndarray:
    """(..., 3) axis-angle -> (..., 3, 3) rotations as smplx's batch_rodrigues (angle: |v + 1e-8|)."""
    rotvecs = np.asarray(rotvecs, dtype=np.float64)
    angle = np.linalg.norm(rotvecs + 1e-8, axis=-1, keepdims=True)
    axis = rotvecs / angle
    cos, sin = np.cos(angle)[..., None], np.sin(angle)[..., None]
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*axis.shape[:-1], 3, 3)
    return np.eye(3) + sin * k + (1 - cos) * (k @ k)


def smpl_vertices(model: SmplModel, rotations: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """(N, V, 3) vertices, m, of rotations (N, 24, 3, 3) (global orientation first) and betas (N, 10):
    shape and pose blend shapes, the kinematic chain of kintree_table, linear blend skinning."""
    rotations, betas = np.asarray(rotations, np.float64), np.asarray(betas, np.float64)
    v_shaped = model.v_template + np.einsum("nb,vcb->nvc", betas, model.shapedirs[:, :, : betas.shape[1]])
    joints = np.einsum("jv,nvc->njc", model.J_regressor, v_shaped)
    pose_feature = (rotations[:, 1:] - np.eye(3)).reshape(len(rotations), -1)
    v_posed = v_shaped + np.einsum("nk,vck->nvc", pose_feature, model.posedirs)
    parents = model.kintree_table[0]
    relative = joints.copy()
    relative[:, 1:] -= joints[:, parents[1:]]
    local = np.zeros((*rotations.shape[:2], 4, 4))
    local[..., :3, :3], local[..., :3, 3], local[..., 3, 3] = rotations, relative, 1.0
    chain = [local[:, 0]]
    for i in range(1, local.shape[1]):
        chain.append(chain[parents[i]] @ local[:, i])
    world = np.stack(chain, axis=1)
    # each joint's transform of rest-pose points: its world transform after moving the joint to the origin
    world[..., :3, 3] -= np.einsum("njab,njb->nja", world[..., :3, :3], joints)
    skinning = np.einsum("vj,njab->nvab", model.weights, world)
    return np.einsum("nvab,nvb->nva", skinning[..., :3, :3], v_posed) + skinning[..., :3, 3]


def lsp_joints(
    model: SmplModel, regressor: np.ndarray, rotations: np.ndarray, betas: np.ndarray
) -> np.ndarray:
    """(N, 14, 3) pelvis-relative LSP joints in mm of SMPL parameters (the protocol's steps 2-4)."""
    parts = []
    for start in range(0, len(rotations), CHUNK):
        vertices = smpl_vertices(model, rotations[start : start + CHUNK], betas[start : start + CHUNK])
        h36m = np.einsum("jv,nvc->njc", regressor, vertices)
        parts.append(1000.0 * (h36m - h36m[:, PELVIS : PELVIS + 1])[:, list(H36M_TO_J14)])
    return np.concatenate(parts) if parts else np.zeros((0, len(H36M_TO_J14), 3))


def as_rotations(pose: np.ndarray) -> np.ndarray:
    """(N, 24, 3, 3) rotation matrices of a pose given as (N, 72) axis-angle or (N, 24, 3, 3) matrices."""
    pose = np.asarray(pose, dtype=np.float64)
    if pose.ndim == 4 and pose.shape[1:] == (24, 3, 3):
        return pose
    if pose.ndim == 2 and pose.shape[1] == 72:
        return rodrigues(pose.reshape(len(pose), 24, 3))
    raise ValueError(f"pose has shape {pose.shape}, expected (N, 72) axis-angle or (N, 24, 3, 3) matrices")


def is_male(genders: Sequence) -> np.ndarray:
    """SPIN's gender test: 0 or 'm' is male, anything else female."""
    return np.array([str(g).strip().lower() in ("0", "m", "male") for g in genders], dtype=bool)


class BodyModels:
    """The neutral, male and female SMPL and J_regressor_h36m under a root (SPIN's layout)."""

    def __init__(self, root: str | Path) -> None:
        root = Path(root)
        self.root = root
        self.models = {
            gender: read_model(root / SMPL_MODEL.format(gender=gender))
            for gender in ("NEUTRAL", "MALE", "FEMALE")
        }
        vertices = self.models["NEUTRAL"].num_vertices
        for gender, model in self.models.items():
            if model.num_vertices != vertices:
                raise SuiteError(
                    f"SMPL_{gender} has {model.num_vertices} vertices, SMPL_NEUTRAL {vertices}",
                    root / "smpl",
                    "use the three models of one SMPL release",
                )
        self.regressor = read_j_regressor_h36m(root / SMPL_J_REGRESSOR_H36M, vertices)

    def predicted_joints(self, pose: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """(N, 14, 3) mm from the neutral model."""
        return lsp_joints(self.models["NEUTRAL"], self.regressor, as_rotations(pose), betas)

    def ground_truth_joints(self, pose: np.ndarray, betas: np.ndarray, genders: Sequence) -> np.ndarray:
        """(N, 14, 3) mm from the male or female model, per person."""
        rotations, betas = as_rotations(pose), np.asarray(betas, dtype=np.float64)
        male = is_male(genders)
        joints = np.zeros((len(rotations), len(H36M_TO_J14), 3))
        for chosen, gender in ((male, "MALE"), (~male, "FEMALE")):
            if chosen.any():
                joints[chosen] = lsp_joints(
                    self.models[gender], self.regressor, rotations[chosen], betas[chosen]
                )
        return joints


def reconstruction_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """PA-MPJPE (mm) of (N, 14, 3) predicted and ground-truth LSP joints."""
    return pa_mpjpe(pred, gt)


def evaluate_joints(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return {"reconstruction_error": reconstruction_error(pred, gt), "mpjpe": mpjpe(pred, gt)}


# `python -m suite eval reconstruction-error --pred P --gt G`.

FIX_PRED = (
    "save the predictions with numpy.savez: pose (N, 72) axis-angle or (N, 24, 3, 3) rotation matrices and "
    "betas (N, 10), one per ground-truth person in its order; or save (N, 14, 3) LSP joints in mm as .npy"
)
FIX_GT = (
    "pass SPIN's 3dpw_test.npz (pose (N, 72), shape (N, 10), gender), the 3dpw_test.npz a pw3d-shape run "
    "writes, or (N, 14, 3) LSP joints in mm as .npy"
)
FIX_ROOT = "set smpl = DIR under [datasets] in suite.toml, or SUITE_SMPL_ROOT=DIR (DIR/smpl/SMPL_*.pkl)"


def _load(path: Path, fix: str) -> np.ndarray | dict[str, np.ndarray]:
    """An .npy array, or the arrays of an .npz by name; no pickles."""
    if path.suffix == ".npy":
        return load_npy(path, fix)
    if not path.is_file():
        raise SuiteError("is a folder, not an .npz file" if path.is_dir() else "file not found", path, fix)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.ndarray):
            return loaded
        with loaded as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise SuiteError(f"not a readable .npz or .npy file ({error})", path, fix) from error


def _field(data: dict, names: tuple[str, ...], path: Path, fix: str) -> np.ndarray:
    for name in names:
        if name in data:
            return data[name]
    raise SuiteError(f"has none of the keys {list(names)} (it has {sorted(data)})", path, fix)


def _joints(data, path: Path, fix: str, body: BodyModels | None, truth: bool) -> np.ndarray:
    if isinstance(data, np.ndarray):
        if data.ndim != 3 or data.shape[1:] != (len(H36M_TO_J14), 3) or not len(data):
            raise SuiteError(f"has shape {data.shape}, expected (N, 14, 3) LSP joints in mm", path, fix)
        return finite_numbers(data, path, fix)
    assert body is not None
    pose = finite_numbers(_field(data, ("pose",), path, fix), path, fix, "pose")
    betas = finite_numbers(_field(data, ("betas", "shape"), path, fix), path, fix, "betas")
    if len(pose) != len(betas) or betas.ndim != 2 or betas.shape[1] < NUM_BETAS:
        raise SuiteError(f"pose {pose.shape} and betas {betas.shape} do not match", path, fix)
    try:
        if truth:
            genders = _field(data, ("gender",), path, fix)
            if len(genders) != len(pose):
                raise SuiteError(f"has {len(genders)} genders for {len(pose)} poses", path, fix)
            return body.ground_truth_joints(pose, betas[:, :NUM_BETAS], genders)
        return body.predicted_joints(pose, betas[:, :NUM_BETAS])
    except ValueError as error:
        raise SuiteError(str(error), path, fix) from error


def evaluate_files(
    pred: str | Path, gt: str | Path, body_models: str | Path | None = None
) -> dict[str, float]:
    """Reconstruction error and MPJPE (mm) of SMPL parameters (npz) or LSP joints (.npy) against 3DPW's
    ground truth; SMPL parameters need the body models (`body_models`, else the configured smpl root)."""
    pred, gt = Path(pred), Path(gt)
    predicted, truth = _load(pred, FIX_PRED), _load(gt, FIX_GT)
    body = None
    if isinstance(predicted, dict) or isinstance(truth, dict):
        if body_models is None:
            from suite.config import dataset_roots

            body_models = dataset_roots()["smpl"]
            if body_models is None:
                raise SuiteError(
                    "holds SMPL parameters, which need the SMPL body models, whose root is not configured",
                    pred if isinstance(predicted, dict) else gt,
                    FIX_ROOT,
                )
        body = BodyModels(body_models)
    pred_joints = _joints(predicted, pred, FIX_PRED, body, truth=False)
    gt_joints = _joints(truth, gt, FIX_GT, body, truth=True)
    if pred_joints.shape != gt_joints.shape:
        raise SuiteError(
            f"{len(pred_joints)} predictions for {len(gt_joints)} ground-truth persons", pred, FIX_PRED
        )
    return evaluate_joints(pred_joints, gt_joints)
