"""Joint detection rate (Human3.6M 2D pose), as the multiview repo's MultiViewH36M.evaluate computes it.

shared/reference/downstream-protocols.md §3.3. A joint is detected when its predicted position lies
within half a head size of the ground truth, ‖pred − gt‖ ≤ 0.5 · headsize, in full-frame image
pixels; the code's head size is not measured per person but fixed at image_size / 10 for the
network's input size, 25.6 px at 256 × 256, so the threshold is 12.8 px. Every joint of every sample
counts (no visibility mask). JDR_k = 100 · detected_k / N, one per joint of suite.data.skeleton.JOINTS
(root, r_hip, r_knee, …, r_wrist: the repo's root, rhip, rkne, …, rwri), and total = their plain mean.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.data.skeleton import JOINTS
from suite.errors import SuiteError
from suite.evaluate.arrays import finite_numbers, load_npy

IMAGE_SIZE = 256  # the network input the multiview repo's head size is derived from
HEAD_FRACTION = 0.5  # detected within half a head size


def jdr_threshold(image_size: int = IMAGE_SIZE) -> float:
    """The detection radius in pixels: 0.5 × headsize, headsize = image_size / 10 (12.8 at 256)."""
    return HEAD_FRACTION * image_size / 10.0


THRESHOLD_PX = jdr_threshold()  # 12.8
PRED_FIX = "save (N, 17, 2) full-frame pixel coordinates in the Human3.6M joint order with numpy.save"


def jdr(pred: np.ndarray, gt: np.ndarray, threshold_px: float = THRESHOLD_PX) -> dict[str, float]:
    """JDR in % of (N, 17, 2) predictions against (N, 17, 2) ground truth: one key per joint name of
    skeleton.JOINTS and total (the mean over the 17 joints); detected means distance ≤ threshold_px."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    expected = (len(JOINTS), 2)
    if pred.shape != gt.shape or pred.shape[1:] != expected or len(pred) == 0:
        raise ValueError(f"expected two (N, 17, 2) arrays of the same shape, got {pred.shape} and {gt.shape}")
    detected = np.linalg.norm(pred - gt, axis=-1) <= threshold_px
    rates = 100.0 * detected.mean(axis=0)
    return {
        **{name: float(rate) for name, rate in zip(JOINTS, rates, strict=True)},
        "total": float(rates.mean()),
    }


def jdr_per_sample(
    pred: np.ndarray, gt: np.ndarray, threshold_px: float = THRESHOLD_PX
) -> dict[str, np.ndarray]:
    """The keys of jdr, each as (N,) per-frame values whose mean is the key's JDR: 100 · detected for
    a joint, 100 · the frame's detected fraction for total."""
    pred, gt = np.asarray(pred, dtype=np.float64), np.asarray(gt, dtype=np.float64)
    jdr(pred, gt, threshold_px)  # the same checks
    detected = np.linalg.norm(pred - gt, axis=-1) <= threshold_px
    return {
        **{name: 100.0 * detected[:, k] for k, name in enumerate(JOINTS)},
        "total": 100.0 * detected.mean(axis=1),
    }


def read_points(path: str | Path) -> np.ndarray:
    """(N, 17, 2) finite pixel coordinates from a .npy file, or an error naming the file."""
    points = load_npy(path, PRED_FIX)
    if points.ndim != 3 or points.shape[1:] != (len(JOINTS), 2) or len(points) == 0:
        raise SuiteError(f"has shape {points.shape}, expected (N, {len(JOINTS)}, 2)", path, PRED_FIX)
    return finite_numbers(points, path, PRED_FIX)


def evaluate_files(pred: str | Path, gt: str | Path, threshold_px: float = THRESHOLD_PX) -> dict[str, float]:
    """`python -m suite eval jdr`: jdr of two .npy files of (N, 17, 2) full-frame pixels."""
    predicted, truth = read_points(pred), read_points(gt)
    if predicted.shape != truth.shape:
        what = f"holds {len(predicted)} poses, the ground truth {len(truth)}"
        raise SuiteError(what, pred, "pass one prediction per ground-truth pose, in the same order")
    return jdr(predicted, truth, threshold_px)
