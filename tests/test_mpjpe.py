"""MPJPE / PA-MPJPE agree with mmpose's keypoint_mpjpe and with a second, independent implementation."""

import json

import numpy as np
import pytest
from mmpose.evaluation.functional import keypoint_mpjpe
from scipy.spatial.transform import Rotation

from suite.cli import main
from suite.evaluate.mpjpe import mpjpe, pa_mpjpe, procrustes_align

N, J = 64, 17


def poses(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    gt = rng.normal(size=(N, J, 3)) * 300.0
    return gt + rng.normal(size=gt.shape) * 40.0, gt


def pa_mpjpe_by_hand(pred: np.ndarray, gt: np.ndarray) -> float:
    """Frame by frame with scipy's proper-rotation fit, scale and translation from the centroids."""
    errors = []
    for x, y in zip(pred, gt, strict=True):
        x0, y0 = x - x.mean(0), y - y.mean(0)
        rotation, _ = Rotation.align_vectors(y0, x0)  # argmin_R Σ‖y0 − R x0‖², det R = +1
        rotated = rotation.apply(x0)
        scale = (rotated * y0).sum() / (x0**2).sum()
        errors.append(np.linalg.norm(scale * rotated + y.mean(0) - y, axis=1))
    return float(np.mean(errors))


def mirrored(pred: np.ndarray) -> np.ndarray:
    return pred * np.array([-1.0, 1.0, 1.0])


def scaled_and_moved(gt: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rotations = Rotation.random(N, random_state=seed).as_matrix()
    scales = rng.uniform(0.5, 2.0, size=(N, 1, 1))
    return scales * np.einsum("nij,nkj->nki", rotations, gt) + rng.normal(size=(N, 1, 3)) * 500


@pytest.mark.parametrize("case", ["noisy", "mirrored", "scaled"])
def test_agrees_with_mmpose_and_a_second_implementation(case):
    pred, gt = poses(0)
    pred = {"noisy": pred, "mirrored": mirrored(pred), "scaled": scaled_and_moved(pred, 1)}[case]
    mask = np.ones((N, J), dtype=bool)
    assert mpjpe(pred, gt) == pytest.approx(keypoint_mpjpe(pred, gt, mask, "none"), abs=1e-6)
    assert pa_mpjpe(pred, gt) == pytest.approx(keypoint_mpjpe(pred, gt, mask, "procrustes"), abs=1e-6)
    assert pa_mpjpe(pred, gt) == pytest.approx(pa_mpjpe_by_hand(pred, gt), abs=1e-6)


def test_similarity_transform_is_undone_and_reflections_are_not():
    _, gt = poses(2)
    assert pa_mpjpe(scaled_and_moved(gt, 3), gt) < 1e-6
    # a mirror image is not a proper rotation: alignment cannot make it exact
    assert pa_mpjpe(mirrored(gt), gt) > 10.0
    aligned = procrustes_align(mirrored(gt), gt)
    assert np.all(np.isfinite(aligned)) and aligned.shape == gt.shape


def test_mpjpe_by_hand():
    gt = np.zeros((1, 2, 3))
    pred = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]]])
    assert mpjpe(pred, gt) == 3.0  # (5 + 1) / 2


def test_eval_verb_prints_json_and_names_bad_files(tmp_path, capsys):
    pred, gt = poses(4)
    np.save(tmp_path / "pred.npy", pred)
    np.save(tmp_path / "gt.npy", gt)
    for metric, key, value in (
        ("mpjpe", "mpjpe", mpjpe(pred, gt)),
        ("pa-mpjpe", "pa_mpjpe", pa_mpjpe(pred, gt)),
    ):
        args = [
            "eval",
            metric,
            "--pred",
            str(tmp_path / "pred.npy"),
            "--gt",
            str(tmp_path / "gt.npy"),
            "--json",
        ]
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out) == {key: pytest.approx(value, abs=1e-9)}
    np.save(tmp_path / "flat.npy", gt.reshape(N, -1))
    assert (
        main(["eval", "mpjpe", "--pred", str(tmp_path / "flat.npy"), "--gt", str(tmp_path / "gt.npy")]) == 2
    )
    assert "flat.npy" in capsys.readouterr().err
