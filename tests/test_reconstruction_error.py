"""3DPW's reconstruction error: the numpy SMPL against smplx in float64, the metric against scipy's
Procrustes on smplx's joints, zero for the ground truth, and `eval reconstruction-error` on files."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import smplx
import torch
from scipy.spatial.transform import Rotation

from suite.cli import main
from suite.data.layouts import SMPL_MODEL
from suite.data.smpl import read_j_regressor_h36m, read_model
from suite.data.synth.body_model import VERTEX_IDS, smplx_struct, write_body_models
from suite.evaluate.reconstruction import (
    BodyModels,
    evaluate_files,
    evaluate_joints,
    rodrigues,
    smpl_vertices,
)

N = 12
J14 = [6, 5, 4, 1, 2, 3, 16, 15, 14, 11, 12, 13, 8, 10]  # SPIN's constants.H36M_TO_J14


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("body_models")
    write_body_models(root, np.random.default_rng(0))
    return root


def smplx_float64(root: Path, gender: str) -> smplx.SMPL:
    """smplx's SMPL of a model file in float64 throughout (smplx reads its arrays through float32, so
    they are set again from the file)."""
    model = read_model(root / SMPL_MODEL.format(gender=gender))
    data = smplx_struct(model)
    with contextlib.redirect_stdout(io.StringIO()):
        smpl = smplx.SMPL(model_path=str(root), data_struct=data, vertex_ids=VERTEX_IDS, dtype=torch.float64)
    as_tensor = lambda array: torch.as_tensor(np.asarray(array), dtype=torch.float64)  # noqa: E731
    smpl.v_template, smpl.shapedirs = as_tensor(model.v_template), as_tensor(model.shapedirs)
    smpl.posedirs = as_tensor(model.posedirs.reshape(-1, model.posedirs.shape[-1]).T)
    smpl.J_regressor, smpl.lbs_weights = as_tensor(model.J_regressor), as_tensor(model.weights)
    return smpl


def smplx_lsp_joints(root: Path, gender: str, pose: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """SPIN's eval.py steps with smplx: vertices, J_regressor_h36m, pelvis (joint 0), H36M_TO_J14, mm."""
    smpl = smplx_float64(root, gender)
    with torch.no_grad():
        vertices = smpl(
            betas=torch.as_tensor(betas),
            body_pose=torch.as_tensor(pose[:, 3:]),
            global_orient=torch.as_tensor(pose[:, :3]),
        ).vertices.numpy()
    regressor = read_j_regressor_h36m(root / "J_regressor_h36m.npy")
    joints = np.einsum("jv,nvc->njc", regressor, vertices)
    return 1000 * (joints - joints[:, :1])[:, J14]


def scipy_pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Procrustes with scale by scipy.linalg.orthogonal_procrustes, per pose."""
    errors = []
    for x, y in zip(pred, gt, strict=True):
        x0, y0 = x - x.mean(0), y - y.mean(0)
        rotation, trace = scipy.linalg.orthogonal_procrustes(x0, y0)
        assert np.linalg.det(rotation) > 0  # the protocol's Procrustes allows no reflection
        aligned = trace / (x0**2).sum() * x0 @ rotation + y.mean(0)
        errors.append(np.linalg.norm(aligned - y, axis=1).mean())
    return float(np.mean(errors))


def random_people(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pose = rng.normal(0.0, 0.35, (N, 72))
    pose[:, :3] = rng.normal(0.0, 1.5, (N, 3))
    return pose, rng.normal(0.0, 1.0, (N, 10)), np.array(["m", "f"] * (N // 2))


def test_numpy_smpl_is_smplx_in_float64(models):
    pose, betas, _ = random_people()
    model = read_model(models / SMPL_MODEL.format(gender="MALE"))
    ours = smpl_vertices(model, rodrigues(pose.reshape(N, 24, 3)), betas)
    smpl = smplx_float64(models, "MALE")
    with torch.no_grad():
        theirs = smpl(
            betas=torch.as_tensor(betas),
            body_pose=torch.as_tensor(pose[:, 3:]),
            global_orient=torch.as_tensor(pose[:, :3]),
        ).vertices.numpy()
    assert np.abs(ours - theirs).max() < 1e-12  # metres


def test_reconstruction_error_is_scipy_procrustes_on_smplx_joints(models, tmp_path):
    gt_pose, gt_betas, genders = random_people(0)
    rng = np.random.default_rng(1)  # a prediction near enough that no reflection fits it better
    pred_pose, pred_betas = gt_pose + rng.normal(0.0, 0.2, gt_pose.shape), rng.normal(0.0, 1.0, (N, 10))
    truth = np.concatenate(
        [
            smplx_lsp_joints(models, "MALE" if g == "m" else "FEMALE", gt_pose[[i]], gt_betas[[i]])
            for i, g in enumerate(genders)
        ]
    )
    predicted = smplx_lsp_joints(models, "NEUTRAL", pred_pose, pred_betas)
    expected = scipy_pa_mpjpe(predicted, truth)
    np.savez(tmp_path / "pred.npz", pose=pred_pose, betas=pred_betas)
    np.savez(tmp_path / "gt.npz", pose=gt_pose, shape=gt_betas, gender=genders)
    result = evaluate_files(tmp_path / "pred.npz", tmp_path / "gt.npz", models)
    assert expected > 5  # the poses differ
    assert result["reconstruction_error"] == pytest.approx(expected, abs=1e-6)
    assert result["mpjpe"] == pytest.approx(np.linalg.norm(predicted - truth, axis=-1).mean(), abs=1e-6)
    # rotation matrices in place of axis-angle, and (N, 14, 3) joints in place of parameters
    np.savez(tmp_path / "rotmat.npz", pose=rodrigues(pred_pose.reshape(N, 24, 3)), betas=pred_betas)
    np.save(tmp_path / "gt.npy", truth)
    assert evaluate_files(tmp_path / "rotmat.npz", tmp_path / "gt.npy", models)["reconstruction_error"] == (
        pytest.approx(expected, abs=1e-6)
    )


def test_ground_truth_parameters_score_zero(models, tmp_path):
    pose, betas, genders = random_people(2)
    np.savez(tmp_path / "gt.npz", pose=pose, shape=betas, gender=genders)
    body = BodyModels(models)
    np.save(tmp_path / "gt.npy", body.ground_truth_joints(pose, betas, genders))
    assert evaluate_files(tmp_path / "gt.npy", tmp_path / "gt.npz", models)["reconstruction_error"] < 1e-9
    # the neutral model differs from the gendered ones, so the parameters score zero only on a tree whose
    # three models are one
    np.savez(tmp_path / "pred.npz", pose=pose, betas=betas)
    assert evaluate_files(tmp_path / "pred.npz", tmp_path / "gt.npz", models)["reconstruction_error"] > 1.0
    same = tmp_path / "same"
    shutil.copytree(models, same)
    for gender in ("MALE", "FEMALE"):
        shutil.copy(same / SMPL_MODEL.format(gender="NEUTRAL"), same / SMPL_MODEL.format(gender=gender))
    result = evaluate_files(tmp_path / "pred.npz", tmp_path / "gt.npz", same)
    assert result["reconstruction_error"] < 1e-9 and result["mpjpe"] < 1e-9


def test_the_error_ignores_a_similarity_transform_of_the_prediction(models):
    pose, betas, genders = random_people(3)
    body = BodyModels(models)
    truth = body.ground_truth_joints(pose, betas, genders)
    rotation = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    moved = 1.7 * truth @ rotation.T + np.array([100.0, -20.0, 3.0])
    result = evaluate_joints(moved, truth)
    assert result["reconstruction_error"] < 1e-9 and result["mpjpe"] > 100


def test_eval_verb_prints_json_and_names_bad_files(models, tmp_path, capsys, monkeypatch):
    pose, betas, genders = random_people(4)
    np.savez(tmp_path / "pred.npz", pose=pose, betas=betas)
    np.savez(tmp_path / "gt.npz", pose=pose, shape=betas, gender=genders)
    args = [
        "eval",
        "reconstruction-error",
        "--pred",
        str(tmp_path / "pred.npz"),
        "--gt",
        str(tmp_path / "gt.npz"),
    ]
    monkeypatch.delenv("SUITE_SMPL_ROOT", raising=False)
    monkeypatch.setenv("SUITE_CONFIG", str(tmp_path / "suite.toml"))
    (tmp_path / "suite.toml").write_text("")
    assert main(args) == 2
    assert "SUITE_SMPL_ROOT" in capsys.readouterr().err
    monkeypatch.setenv("SUITE_SMPL_ROOT", str(models))
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == pytest.approx(evaluate_files(tmp_path / "pred.npz", tmp_path / "gt.npz", models))
    np.savez(tmp_path / "nobetas.npz", pose=pose)
    assert main([*args[:3], str(tmp_path / "nobetas.npz"), *args[4:]]) == 2
    error = capsys.readouterr().err
    assert "nobetas.npz" in error and "betas" in error and "Traceback" not in error
    np.savez(tmp_path / "short.npz", pose=pose[:3], betas=betas[:3])
    assert main([*args[:3], str(tmp_path / "short.npz"), *args[4:]]) == 2
    assert "3 predictions for 12" in capsys.readouterr().err
