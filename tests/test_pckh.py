"""MPII PCKh as HRNet computes it: agrees with mmpose's MPII metric away from its deviations, and a
hand-computed case on the inclusive boundary, the count weighting and the 0.11 quirk."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.io

from suite.cli import main
from suite.data.mpii import read_ground_truth
from suite.data.skeleton import MPII_JOINTS
from suite.data.synth.mpii import gt_valid
from suite.errors import SuiteError
from suite.evaluate.pckh import PARTS, QUIRK_THRESHOLD, evaluate_files, pckh

J = len(MPII_JOINTS)
PART_KEYS = ("head", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def write_gt(path, joints: np.ndarray, visible: np.ndarray, head_boxes: np.ndarray):
    """gt_valid.mat as SynthHuman writes it: joints (N, 16, 2) 1-based, head boxes (N, 2, 2)."""
    entries = [
        {"joints": np.where(v[:, None] > 0, j, -1.0).tolist(), "joints_vis": v.astype(int).tolist()}
        for j, v in zip(joints, visible, strict=True)
    ]
    path.write_bytes(gt_valid(entries, list(head_boxes)))
    return read_ground_truth(path)


def random_case(tmp_path, seed: int, n: int = 60):
    """Persons with 1-based joints, head boxes of 20-60 px, ~10% joints missing; 0-based predictions
    off by up to about one head size."""
    rng = np.random.default_rng(seed)
    joints = rng.uniform(1, 400, size=(n, J, 2))
    corner = rng.uniform(1, 300, size=(n, 1, 2))
    head_boxes = np.round(np.concatenate([corner, corner + rng.uniform(20, 60, size=(n, 1, 2))], axis=1), 2)
    visible = rng.uniform(size=(n, J)) > 0.1
    gt = write_gt(tmp_path / "gt_valid.mat", joints, visible, head_boxes)
    spread = gt.head_sizes()[:, None, None] * rng.uniform(0.05, 0.6, size=(n, J, 1))
    pred = joints - 1 + rng.normal(size=joints.shape) * spread
    return pred, gt


def mmpose_mpii(pred: np.ndarray, gt, threshold: float) -> dict:
    """mmpose's MpiiPCKAccuracy on the same persons, its mask taken from jnt_missing."""
    from mmpose.evaluation.metrics import MpiiPCKAccuracy

    metric = MpiiPCKAccuracy(thr=threshold, norm_item="head")
    head_sizes = gt.head_sizes()
    samples = [
        {
            "pred_instances": {"keypoints": pred[n][None]},
            "gt_instances": {
                "keypoints": gt.pos_gt_src[:, :, n][None],
                "keypoints_visible": (1 - gt.jnt_missing[:, n])[None],
                "head_size": np.array([head_sizes[n]]),
            },
        }
        for n in range(len(gt))
    ]
    metric.process([], samples)
    return {key.split("/")[-1]: value for key, value in metric.evaluate(len(samples)).items()}


@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_mmpose(tmp_path, seed):
    from mmpose.evaluation.functional import keypoint_pck_accuracy

    pred, gt = random_case(tmp_path, seed)
    ours = pckh(pred, gt)
    assert 30 < ours["total"] < 95
    theirs = mmpose_mpii(pred, gt, 0.5)
    names = {part: f"{part.capitalize()} PCK" for part in PART_KEYS}
    for part, name in names.items():
        assert ours[part] == pytest.approx(theirs[name], abs=1e-9)
    assert ours["total"] == pytest.approx(theirs["PCK"], abs=1e-9)
    # HRNet's Mean@0.1 is at 0.11; mmpose's PCK at thr=0.11 is the same number
    assert ours["total@0.11"] == pytest.approx(mmpose_mpii(pred, gt, QUIRK_THRESHOLD)["PCK"], abs=1e-9)
    mask = (1 - gt.jnt_missing.T).astype(bool)
    norm = np.repeat(gt.head_sizes()[:, None], 2, axis=1)
    per_joint, _, _ = keypoint_pck_accuracy(pred + 1, gt.pos_gt_src.transpose(2, 0, 1), mask, 0.5, norm)
    np.testing.assert_allclose([ours[f"joint/{name}"] for name in MPII_JOINTS], 100 * per_joint, atol=1e-9)


def offsets(errors: dict[str, float]) -> np.ndarray:
    """(16, 2) offsets along x of the given size per joint, 0 elsewhere."""
    result = np.zeros((J, 2))
    for name, error in errors.items():
        result[MPII_JOINTS.index(name), 0] = error
    return result


def test_by_hand_boundary_weights_and_quirk(tmp_path):
    """Person A: head box 30 x 40 (diagonal 50, head size 30, threshold 15 px, 3.3 px at 0.11);
    person B: 60 x 80 (head size 60, 30 px, 6.6 px), with l_ankle and pelvis missing."""
    joints = np.stack([np.arange(J) * 10.0 + 100] * 2, axis=-1)[None].repeat(2, axis=0)  # (2, 16, 2)
    head_boxes = np.array([[[0.0, 0.0], [30.0, 40.0]], [[0.0, 0.0], [60.0, 80.0]]])
    visible = np.ones((2, J), dtype=bool)
    visible[1, [MPII_JOINTS.index("l_ankle"), MPII_JOINTS.index("pelvis")]] = False
    gt = write_gt(tmp_path / "gt_valid.mat", joints, visible, head_boxes)
    errors_a = {"head_top": 15.0, "l_shoulder": 15.5, "l_elbow": 3.0, "r_elbow": 4.0, "r_ankle": 20.0}
    errors_b = {"head_top": 30.0, "l_shoulder": 31.0, "r_ankle": 20.0}
    pred = joints - 1 + np.stack([offsets(errors_a), offsets(errors_b)])
    result = pckh(pred, gt)
    # head_top lies exactly on the threshold for both: correct (≤)
    assert result["head"] == 100.0 and result["joint/head_top"] == 100.0
    assert result["shoulder"] == 50.0  # l_shoulder wrong for both, r_shoulder right
    assert result["elbow"] == 100.0 and result["wrist"] == 100.0
    assert result["hip"] == 100.0 and result["knee"] == 100.0
    assert result["ankle"] == 75.0  # r_ankle 1/2, l_ankle 1/1 (B's is missing)
    # 14 joints, 27 annotated (B lacks l_ankle; pelvis and thorax are out): 24 correct
    assert result["total"] == pytest.approx(100 * 24 / 27, abs=1e-12)
    # at 0.11: A's l_elbow (3 px) yes, r_elbow (4 px) no; B's r_elbow yes, r_ankle (20 px) no;
    # head_top and l_shoulder no; the 8 joints with no error twice; A's l_ankle: 20 of 27
    assert result["total@0.11"] == pytest.approx(100 * 20 / 27, abs=1e-12)
    assert result["joint/pelvis"] == 100.0 and set(result) == {
        *PARTS,
        "total",
        "total@0.11",
        *(f"joint/{name}" for name in MPII_JOINTS),
    }
    # mmpose's strict < counts the boundary as wrong
    assert mmpose_mpii(pred, gt, 0.5)["Head PCK"] == 0.0


def test_evaluate_files_takes_pred_mat_and_npy(tmp_path):
    pred, gt = random_case(tmp_path, 2, n=12)
    expected = pckh(pred, gt)
    scipy.io.savemat(tmp_path / "pred.mat", {"preds": pred + 1})  # HRNet saves 1-based
    np.save(tmp_path / "pred.npy", pred)
    assert evaluate_files(tmp_path / "pred.mat", tmp_path / "gt_valid.mat") == pytest.approx(expected)
    assert evaluate_files(tmp_path / "pred.npy", tmp_path / "gt_valid.mat") == pytest.approx(expected)
    np.save(tmp_path / "flat.npy", pred.reshape(len(pred), -1))
    np.save(tmp_path / "fewer.npy", pred[:-1])
    scipy.io.savemat(tmp_path / "other.mat", {"predictions": pred})
    for name in ("flat.npy", "fewer.npy", "other.mat", "absent.npy"):
        with pytest.raises(SuiteError, match=name):
            evaluate_files(tmp_path / name, tmp_path / "gt_valid.mat")
    with pytest.raises(SuiteError, match=r"absent\.mat"):
        evaluate_files(tmp_path / "pred.npy", tmp_path / "absent.mat")


def test_eval_verb(tmp_path, capsys):
    pred, gt = random_case(tmp_path, 3, n=12)
    np.save(tmp_path / "pred.npy", pred)
    args = ["eval", "pckh", "--pred", str(tmp_path / "pred.npy"), "--gt", str(tmp_path / "gt_valid.mat")]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pytest.approx(pckh(pred, gt), abs=1e-12)
    assert main(args) == 0
    assert "total@0.11" in capsys.readouterr().out
    np.save(tmp_path / "pred.npy", pred[:, :15])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "pred.npy" in err and "Traceback" not in err
