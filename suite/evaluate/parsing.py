"""Human parsing (Table 6): mIoU and mACC from a confusion matrix, as SCHP's utils/miou.py computes them.

shared/reference/downstream-protocols.md §6.5. Over every pixel whose ground truth is not the ignore
value (255), at the ground truth's (the original image's) resolution, the C x C confusion matrix counts
ground-truth class (row) against predicted class (column); pos_c = its row sums, res_c = its column
sums, tp_c = its diagonal. Then, all x 100:

- pixel_acc = Σ tp / Σ pos
- macc (mean accuracy) = mean over the C classes of tp_c / max(1, pos_c)
- miou = mean over the C classes of tp_c / max(1, pos_c + res_c − tp_c)
- iou/<class>: each class's IoU, names as suite.data.layouts.LIP_CLASSES.

A class absent from both the ground truth and the predictions counts as 0 in SCHP's means (the
max(1, ·)); mmsegmentation's IoUMetric takes nanmean over the classes instead, so on a test set that
lacks a class its mIoU / mAcc are higher. On LIP's 10,000 val images every class occurs and the two
agree. A prediction outside 0 .. C − 1 on a counted pixel is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from suite.data.images import read_label_map
from suite.data.layouts import LIP_CLASSES, LIP_IGNORE
from suite.errors import DatasetError, SuiteError

NUM_CLASSES = len(LIP_CLASSES)
PRED_FIX = (
    "write one single-channel PNG of class ids 0-19 per ground-truth map, named <id>.png as it is and "
    "of its size (the original image's)"
)


def confusion_matrix(
    pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES, ignore: int = LIP_IGNORE
) -> np.ndarray:
    """(C, C) int64 counts, rows ground truth, columns prediction, over the pixels whose gt != ignore."""
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction of shape {pred.shape} for ground truth of shape {gt.shape}")
    counted = gt != ignore
    truth, guess = gt[counted].astype(np.int64), pred[counted].astype(np.int64)
    if truth.size and (truth.min() < 0 or truth.max() >= num_classes):
        raise ValueError(f"ground-truth classes outside 0-{num_classes - 1} and {ignore}")
    if guess.size and (guess.min() < 0 or guess.max() >= num_classes):
        raise ValueError(f"predicted classes outside 0-{num_classes - 1}")
    return np.bincount(truth * num_classes + guess, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


def accumulate(pairs: Iterable[tuple[np.ndarray, np.ndarray]], num_classes: int = NUM_CLASSES) -> np.ndarray:
    """The confusion matrix summed over (prediction, ground truth) label maps."""
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    for pred, gt in pairs:
        total += confusion_matrix(pred, gt, num_classes)
    return total


def scores(confusion: np.ndarray, names: tuple[str, ...] = LIP_CLASSES) -> dict[str, float]:
    """pixel_acc, macc, miou and iou/<name> (x 100) of a confusion matrix, SCHP's max(1, ·) convention."""
    confusion = np.asarray(confusion, dtype=np.float64)
    pos, res, tp = confusion.sum(axis=1), confusion.sum(axis=0), np.diag(confusion)
    accuracy = tp / np.maximum(1.0, pos)
    iou = tp / np.maximum(1.0, pos + res - tp)
    out = {
        "pixel_acc": 100.0 * tp.sum() / max(1.0, pos.sum()),
        "macc": 100.0 * accuracy.mean(),
        "miou": 100.0 * iou.mean(),
    }
    return out | {f"iou/{name}": 100.0 * value for name, value in zip(names, iou, strict=True)}


def parsing_scores(pairs: Iterable[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """scores of the LIP confusion matrix of (prediction, ground truth) label maps."""
    return scores(accumulate(pairs))


def evaluate_files(pred_dir: str | Path, gt_dir: str | Path) -> dict[str, float]:
    """`python -m suite eval parsing`: PNG label maps <id>.png in pred_dir against those of gt_dir (e.g.
    LIP's val_segmentations/), every ground-truth map needing its prediction."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    for folder in (pred_dir, gt_dir):
        if not folder.is_dir():
            raise SuiteError("is not a folder", folder, "pass folders of <id>.png label maps")
    truths = sorted(gt_dir.glob("*.png"))
    if not truths:
        raise DatasetError("holds no .png label maps", gt_dir, "pass LIP's val_segmentations/ folder")
    missing = [path.name for path in truths if not (pred_dir / path.name).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SuiteError(
            f"has no prediction for {len(missing)} ground-truth maps: {shown}", pred_dir, PRED_FIX
        )
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for truth in truths:
        pred_path = pred_dir / truth.name
        gt, pred = read_label_map(truth), read_label_map(pred_path)
        if pred.shape != gt.shape:
            what = f"is {pred.shape[1]}x{pred.shape[0]}, its ground truth {gt.shape[1]}x{gt.shape[0]}"
            raise SuiteError(what, pred_path, PRED_FIX)
        bad = np.setdiff1d(np.unique(gt), [*range(NUM_CLASSES), LIP_IGNORE])
        if bad.size:
            raise DatasetError(
                f"holds values {bad.tolist()}, not LIP class ids 0-{NUM_CLASSES - 1} or {LIP_IGNORE}",
                truth,
                "pass LIP's original class-id PNGs (not colourised visualisations)",
            )
        counted = pred[gt != LIP_IGNORE]
        if counted.size and counted.max() >= NUM_CLASSES:
            raise SuiteError(
                f"holds class id {int(counted.max())}, not one of 0-{NUM_CLASSES - 1}", pred_path, PRED_FIX
            )
        confusion += confusion_matrix(pred, gt)
    return scores(confusion)
