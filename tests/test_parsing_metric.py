"""Human parsing mIoU / mACC (suite/evaluate/parsing.py) against a confusion matrix counted pixel by pixel
and against mmsegmentation's IoUMetric formulas (total_intersect_and_union, written here with
np.bincount), on random label maps with ignored pixels and on real LIP label maps; `eval parsing`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from suite.cli import main
from suite.data.images import read_label_map
from suite.errors import SuiteError
from suite.evaluate.parsing import NUM_CLASSES, confusion_matrix, evaluate_files, parsing_scores

C = NUM_CLASSES


def random_maps(rng: np.random.Generator, n: int, classes: int = C) -> list[tuple[np.ndarray, np.ndarray]]:
    """n (prediction, ground truth) pairs of assorted sizes, about 10% of the ground truth ignored (255)."""
    pairs = []
    for _ in range(n):
        shape = tuple(rng.integers(5, 30, size=2))
        gt = rng.integers(0, classes, size=shape).astype(np.uint8)
        gt[rng.random(shape) < 0.1] = 255
        pred = np.where(rng.random(shape) < 0.5, gt, rng.integers(0, classes, size=shape)).astype(np.uint8)
        pred[pred == 255] = 0  # a prediction is always a class
        pairs.append((pred, gt))
    return pairs


def hand_confusion(pairs) -> np.ndarray:
    counts = np.zeros((C, C), dtype=np.int64)
    for pred, gt in pairs:
        for p, g in zip(pred.ravel(), gt.ravel(), strict=True):
            if g != 255:
                counts[g, p] += 1
    return counts


def mmseg(pairs) -> dict[str, float]:
    """mmsegmentation's IoUMetric: areas summed over the images, then nanmean over the classes."""
    intersect, area_pred, area_label = np.zeros(C), np.zeros(C), np.zeros(C)
    for pred, gt in pairs:
        mask = gt != 255
        p, g = pred[mask].astype(int), gt[mask].astype(int)
        intersect += np.bincount(p[p == g], minlength=C)
        area_pred += np.bincount(p, minlength=C)
        area_label += np.bincount(g, minlength=C)
    union = area_pred + area_label - intersect
    with np.errstate(divide="ignore", invalid="ignore"):
        iou, acc = intersect / union, intersect / area_label
    return {
        "aAcc": 100 * intersect.sum() / area_label.sum(),
        "mIoU": 100 * np.nanmean(iou),
        "mAcc": 100 * np.nanmean(acc),
        "iou_sum": 100 * np.nansum(iou),
        "acc_sum": 100 * np.nansum(acc),
        "classes_with_gt": int((area_label > 0).sum()),
        "classes_seen": int((union > 0).sum()),
    }


def test_the_confusion_matrix_counts_every_pixel_but_the_ignored():
    pairs = random_maps(np.random.default_rng(0), 6)
    total = sum(confusion_matrix(pred, gt) for pred, gt in pairs)
    assert np.array_equal(total, hand_confusion(pairs))
    assert total.sum() == sum((gt != 255).sum() for _, gt in pairs)


def test_scores_equal_mmsegmentations_when_every_class_occurs():
    pairs = random_maps(np.random.default_rng(1), 8)
    ours, theirs = parsing_scores(pairs), mmseg(pairs)
    assert theirs["classes_with_gt"] == C
    assert ours["miou"] == pytest.approx(theirs["mIoU"], abs=1e-10)
    assert ours["macc"] == pytest.approx(theirs["mAcc"], abs=1e-10)
    assert ours["pixel_acc"] == pytest.approx(theirs["aAcc"], abs=1e-10)


def test_absent_classes_count_as_zero_where_mmsegmentation_skips_them():
    # SCHP's max(1, ·): a class in neither map scores 0 and stays in the mean over all 20 classes;
    # mmsegmentation's nanmean leaves it out (mAcc: also a class predicted but not in the ground truth)
    pairs = random_maps(np.random.default_rng(2), 5, classes=12)
    ours, theirs = parsing_scores(pairs), mmseg(pairs)
    assert theirs["classes_seen"] == theirs["classes_with_gt"] == 12
    assert ours["miou"] == pytest.approx(theirs["iou_sum"] / C, abs=1e-10)
    assert ours["miou"] == pytest.approx(theirs["mIoU"] * 12 / C, abs=1e-10)
    assert ours["macc"] == pytest.approx(theirs["acc_sum"] / C, abs=1e-10)
    assert ours["pixel_acc"] == pytest.approx(theirs["aAcc"], abs=1e-10)
    assert all(ours[f"iou/{name}"] == 0 for name in ("Left-leg", "Right-leg", "Left-shoe", "Right-shoe"))


def test_real_lip_maps_scored_against_themselves(fixtures):
    root = fixtures / "mmsegmentation" / "tests" / "data" / "pseudo_lip_dataset"
    gts = [
        read_label_map(root / f)
        for f in ("train_segmentations/684_2150041.png", "val_segmentations/86_185913.png")
    ]
    present = len(set(np.unique(np.concatenate([g.ravel() for g in gts]))) - {255})
    perfect = parsing_scores([(g, g) for g in gts])
    assert perfect["pixel_acc"] == 100.0
    assert perfect["miou"] == pytest.approx(100 * present / C) and perfect["macc"] == perfect["miou"]
    background = parsing_scores([(np.zeros_like(g), g) for g in gts])
    share = sum((g == 0).sum() for g in gts) / sum((g != 255).sum() for g in gts)
    assert background["pixel_acc"] == pytest.approx(100 * share)
    assert background["miou"] == pytest.approx(100 * share / C) and background["macc"] == pytest.approx(
        100 / C
    )


def _write(folder, pairs, which: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, pair in enumerate(pairs):
        Image.fromarray(pair[which], mode="L").save(folder / f"{index:03d}_1.png")


def test_eval_parsing_reads_png_folders(tmp_path, capsys):
    pairs = random_maps(np.random.default_rng(3), 4)
    _write(tmp_path / "pred", pairs, 0)
    _write(tmp_path / "gt", pairs, 1)
    result = evaluate_files(tmp_path / "pred", tmp_path / "gt")
    assert result == pytest.approx(parsing_scores(pairs), abs=1e-12)
    args = ["eval", "parsing", "--pred", str(tmp_path / "pred"), "--gt", str(tmp_path / "gt")]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["miou"] == pytest.approx(result["miou"])
    (tmp_path / "pred" / "002_1.png").unlink()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "002_1.png" in err and "Traceback" not in err
    Image.fromarray(pairs[2][0][:-1], mode="L").save(tmp_path / "pred" / "002_1.png")
    with pytest.raises(SuiteError, match=r"002_1\.png: is"):
        evaluate_files(tmp_path / "pred", tmp_path / "gt")
    Image.fromarray(np.full_like(pairs[2][0], 20), mode="L").save(tmp_path / "pred" / "002_1.png")
    with pytest.raises(SuiteError, match="class id 20"):
        evaluate_files(tmp_path / "pred", tmp_path / "gt")
    Image.fromarray(np.full_like(pairs[2][1], 77), mode="L").save(tmp_path / "gt" / "002_1.png")
    with pytest.raises(SuiteError, match=r"values \[77\]"):
        evaluate_files(tmp_path / "pred", tmp_path / "gt")
