"""MPII PCKh (Table 1's MPII column) as HRNet's MPIIDataset.evaluate computes it, a pure function.

shared/reference/downstream-protocols.md §2. The ground truth is gt_valid.mat (suite.data.mpii's
GroundTruth: 1-based MATLAB pixels, jnt_missing, head boxes). A joint is correct when it is annotated
(jnt_missing 0) and ‖pred − gt‖ / headsize ≤ threshold, inclusive, with headsize = the head-box
diagonal × 0.6. Per joint, PCKh = 100 · correct / annotated. The reported numbers:

- head: the head top (gt_valid.mat's "head", index 9); shoulder … ankle: the mean of left and right;
- total: the mean over the 14 joints other than pelvis and thorax, each weighted by its count of
  annotated joints (the upper neck is in it though not reported alone) — the paper's "Mean";
- total@0.11: the same at threshold 0.11. HRNet labels it "Mean@0.1" but takes rng[11] of
  arange(0, 0.51, 0.01), which is 0.11 (an off-by-one); the number the papers print as Mean@0.1 is
  this one. mmpose's 'PCK@0.1' uses 0.10 and is not comparable.
- joint/<name>: every joint's PCKh at `threshold`, names as suite.data.skeleton.MPII_JOINTS (pelvis
  and thorax included, though out of the mean).

mmpose's MpiiPCKAccuracy differs in taking `<` for `≤` and the json's joints_vis for jnt_missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.data.mpii import GroundTruth, read_ground_truth
from suite.data.skeleton import MPII_JOINTS
from suite.errors import SuiteError
from suite.evaluate.arrays import finite_numbers, load_npy

NUM_JOINTS = len(MPII_JOINTS)
THRESHOLD = 0.5
QUIRK_THRESHOLD = 11 * 0.01  # HRNet's rng[11] of np.arange(0, 0.5 + 0.01, 0.01), bit for bit
MEAN_EXCLUDED = (MPII_JOINTS.index("pelvis"), MPII_JOINTS.index("thorax"))  # HRNet's mask [6:8]
PARTS = {  # reported name -> (left, right) joints; "head" is the head top alone
    "head": ("head_top",),
    "shoulder": ("l_shoulder", "r_shoulder"),
    "elbow": ("l_elbow", "r_elbow"),
    "wrist": ("l_wrist", "r_wrist"),
    "hip": ("l_hip", "r_hip"),
    "knee": ("l_knee", "r_knee"),
    "ankle": ("l_ankle", "r_ankle"),
}
PRED_FIX = (
    "pass HRNet's pred.mat (preds: (N, 16, 2), 1-based) or an .npy of (N, 16, 2) 0-based pixels, "
    "one pose per person of gt_valid.mat, in its order"
)


def joint_hits(
    pred: np.ndarray, gt: GroundTruth, threshold: float = THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """(correct (N, 16), annotated (N, 16)) booleans per person and joint of (N, 16, 2) 0-based
    predictions: annotated (jnt_missing 0) and within threshold × headsize, inclusive."""
    pred = np.asarray(pred, dtype=np.float64)
    if pred.shape != (len(gt), NUM_JOINTS, 2):
        raise ValueError(f"expected predictions of shape ({len(gt)}, {NUM_JOINTS}, 2), got {pred.shape}")
    visible = np.asarray(gt.jnt_missing).T == 0  # (N, 16)
    errors = np.linalg.norm(pred.transpose(1, 2, 0) + 1 - gt.pos_gt_src, axis=1).T  # 1-based, as gt_valid.mat
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = errors / gt.head_sizes()[:, None]
    return (scaled <= threshold) & visible, visible


def pckh(pred: np.ndarray, gt: GroundTruth, threshold: float = THRESHOLD) -> dict[str, float]:
    """PCKh of (N, 16, 2) predictions in 0-based image pixels (MPII_JOINTS order, the persons of
    gt_valid.mat in its order) against gt_valid.mat: head, shoulder, elbow, wrist, hip, knee, ankle,
    total, total@0.11 and joint/<name> (module docstring), in %. A joint no person has annotated is
    NaN and weighs 0 in the totals (HRNet's totals would be NaN then)."""
    correct, visible = joint_hits(pred, gt, threshold)
    quirk, _ = joint_hits(pred, gt, QUIRK_THRESHOLD)
    return pckh_from_counts(correct.sum(axis=0), visible.sum(axis=0), quirk.sum(axis=0))


def pckh_from_counts(correct: np.ndarray, count: np.ndarray, quirk_correct: np.ndarray) -> dict[str, float]:
    """The numbers of `pckh` from per-joint (16,) counts of correct joints (at the threshold and at
    0.11) and of annotated ones; weighted counts (a bootstrap resample's) work as well."""
    correct, count = np.asarray(correct, np.float64), np.asarray(count, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_joint = 100.0 * correct / count
        quirk = 100.0 * np.asarray(quirk_correct, np.float64) / count
    weights = count.copy()
    weights[list(MEAN_EXCLUDED)] = 0
    weights = weights / weights.sum()
    used = weights > 0  # a joint nobody annotated weighs 0 and its NaN stays out of the mean
    index = {name: MPII_JOINTS.index(name) for name in MPII_JOINTS}
    result = {part: float(np.mean([per_joint[index[j]] for j in joints])) for part, joints in PARTS.items()}
    result["total"] = float((per_joint[used] * weights[used]).sum())
    result["total@0.11"] = float((quirk[used] * weights[used]).sum())
    result.update({f"joint/{name}": float(per_joint[i]) for i, name in enumerate(MPII_JOINTS)})
    return result


def read_predictions(path: str | Path) -> np.ndarray:
    """(N, 16, 2) 0-based predictions: HRNet's pred.mat ("preds", 1-based: 1 is taken off) or an .npy
    (0-based, as is)."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise SuiteError("file not found", path, PRED_FIX)
    if path.suffix.lower() == ".mat":
        try:
            mat = scipy.io.loadmat(path)
        except Exception as error:  # scipy raises many kinds on a corrupt file
            raise SuiteError(f"not a readable MATLAB file ({error})", path, PRED_FIX) from error
        if "preds" not in mat:
            found = sorted(key for key in mat if not key.startswith("__"))
            raise SuiteError(f"has no 'preds' variable (found {found})", path, PRED_FIX)
        preds, offset = mat["preds"], 1.0
    else:
        preds, offset = load_npy(path, PRED_FIX), 0.0
    if preds.ndim != 3 or preds.shape[1:] != (NUM_JOINTS, 2) or not np.issubdtype(preds.dtype, np.number):
        raise SuiteError(
            f"has {preds.dtype} of shape {preds.shape}, expected (N, {NUM_JOINTS}, 2)", path, PRED_FIX
        )
    return finite_numbers(preds, path, PRED_FIX) - offset


def evaluate_files(pred: str | Path, gt_valid_mat: str | Path) -> dict[str, float]:
    """`python -m suite eval pckh`: pckh of pred.mat (1-based) or an .npy (0-based) against gt_valid.mat."""
    truth = read_ground_truth(gt_valid_mat)
    predictions = read_predictions(pred)
    if len(predictions) != len(truth):
        what = f"holds {len(predictions)} poses, {Path(gt_valid_mat).name} {len(truth)} persons"
        raise SuiteError(what, pred, PRED_FIX)
    return pckh(predictions, truth)
