"""MPJPE and PA-MPJPE (Table 4's columns): pure functions on (N, J, 3) joints in millimetres.

MPJPE is the mean Euclidean distance between predicted and ground-truth joints; both are root-
aligned by the protocol before they come here (RLE keeps all 17 joints, the pelvis included).
PA-MPJPE first aligns each predicted pose to its ground truth by the similarity transform
(scale s, rotation R, translation t) minimising Σ‖s R x + t − y‖², with R a proper rotation
(reflections excluded), as RLE's reconstruction_error and mmpose's 'procrustes' alignment do
(shared/reference/downstream-protocols.md §4.3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.errors import SuiteError
from suite.evaluate.arrays import finite_numbers, load_npy


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean per-joint position error over all frames and joints."""
    pred, gt = _checked(pred, gt)
    return float(np.linalg.norm(pred - gt, axis=-1).mean())


def procrustes_align(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Each predicted pose (N, J, 3) moved onto its ground truth by the best similarity transform."""
    pred, gt = _checked(pred, gt)
    mu_pred, mu_gt = pred.mean(axis=1, keepdims=True), gt.mean(axis=1, keepdims=True)
    x, y = pred - mu_pred, gt - mu_gt
    # Kabsch: R maximises tr(R Σ) with Σ = Σ_j x_j y_jᵀ; a det fix keeps R a proper rotation
    u, sigma, vt = np.linalg.svd(np.einsum("nji,njk->nik", x, y))
    d = np.sign(np.linalg.det(np.einsum("nij,njk->nik", u, vt)))
    signs = np.stack([np.ones_like(d), np.ones_like(d), d], axis=-1)
    rotation = np.einsum("nji,nj,nkj->nik", vt, signs, u)  # R = V diag(1, 1, d) Uᵀ
    scale = (sigma * signs).sum(axis=-1) / (x**2).sum(axis=(1, 2))
    return scale[:, None, None] * np.einsum("nik,njk->nji", rotation, x) + mu_gt


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """MPJPE after Procrustes alignment (similarity transform, proper rotation)."""
    return mpjpe(procrustes_align(pred, gt), gt)


def mpjpe_per_sample(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) each pose's mean joint error: their mean is mpjpe (suite.evaluate.samples, kind mean)."""
    pred, gt = _checked(pred, gt)
    return np.linalg.norm(pred - gt, axis=-1).mean(axis=1)


def pa_mpjpe_per_sample(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """(N,) each pose's error after its Procrustes alignment: their mean is pa_mpjpe."""
    return mpjpe_per_sample(procrustes_align(pred, gt), gt)


def _checked(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3 or len(pred) == 0:
        raise ValueError(f"expected two (N, J, 3) arrays of the same shape, got {pred.shape} and {gt.shape}")
    if not (np.isfinite(pred).all() and np.isfinite(gt).all()):
        raise ValueError("the joints hold NaN or infinite values")
    return pred, gt


METRICS = {"mpjpe": mpjpe, "pa-mpjpe": pa_mpjpe}


def read_joints(path: str | Path) -> np.ndarray:
    """(N, J, 3) finite joints in millimetres from a .npy file, or an error naming the file."""
    fix = "save an (N, J, 3) float array in millimetres with numpy.save"
    joints = load_npy(path, fix)
    if joints.ndim != 3 or joints.shape[-1] != 3 or len(joints) == 0:
        raise SuiteError(f"has shape {joints.shape}, expected (N, J, 3) joints", path, fix)
    return finite_numbers(joints, path, fix)


def evaluate_files(metric: str, pred: str | Path, gt: str | Path) -> dict[str, float]:
    """`python -m suite eval`: {"mpjpe": …} or {"pa_mpjpe": …} of two .npy files."""
    predicted, truth = read_joints(pred), read_joints(gt)
    if predicted.shape != truth.shape:
        what = f"predictions {predicted.shape} and ground truth {truth.shape} differ in shape"
        raise SuiteError(what, pred, "pass one prediction per ground-truth pose, joints in the same order")
    return {metric.replace("-", "_"): METRICS[metric](predicted, truth)}
