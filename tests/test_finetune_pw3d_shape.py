"""pw3d-shape: the protocol's settings and scale, the 6D rotations, ground-truth joints that project onto
3DPW's 2D keypoints, augmentation that keeps pose and joints together, a test protocol that gives the
ground truth zero error, the mean-parameter baseline, and a fine-tuning that resumes bit-identically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from finetune_resume import assert_resumes_bit_identically
from samples_check import assert_samples_reproduce_the_metrics
from scipy.spatial.transform import Rotation

from suite.data.layouts import SMPL_MODEL
from suite.data.pw3d import read_split
from suite.data.synth import body_model, pw3d
from suite.data.synth.pw3d import FACE, OPENPOSE
from suite.errors import DatasetError
from suite.evaluate.reconstruction import BodyModels, evaluate_files, rodrigues, smpl_vertices
from suite.finetune.catalog import TASKS
from suite.finetune.pw3d_shape import (
    MEAN_PARAMS,
    Pw3dShape,
    Pw3dShapeDataset,
    camera_loss,
    estimate_translation,
    evaluate_predictions,
    flip_pose,
    persons,
)
from suite.finetune.pw3d_shape_settings import Pw3dShapeConfig
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.models.backbone import ResNetTrunk
from suite.models.hmr import rot6d_to_rotmat, rotmat_to_rot6d
from suite.profiles import finetune_profile
from suite.tables import TABLES

SMALL = {"input_size": 32, "batch_size": 4, "epochs": 2, "milestones": (1,), "mean_params": "training"}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman's body models and 3DPW: 12 training frames, 4 test frames."""
    root = tmp_path_factory.mktemp("synth")
    body_model.write_body_models(root / "body_models", np.random.default_rng(0))
    pw3d.write(root / "3dpw", 12, np.random.default_rng(1), root / "body_models")
    return {"pw3d": root / "3dpw", "smpl": root / "body_models"}


def test_settings_are_the_protocols_and_profiles_change_only_the_scale():
    config = Pw3dShapeConfig()
    assert (config.input_size, config.batch_size, config.epochs, config.lr) == (224, 32, 4, 5e-5)
    assert (config.iterations, config.focal_length) == (3, 5000.0)
    weights = (config.keypoint_2d_weight, config.keypoint_3d_weight, config.pose_weight, config.betas_weight)
    assert weights == (5.0, 5.0, 1.0, 0.001) and config.vertex_weight == 0 and config.loss_scale == 60
    # RSC-Net's regressor and camera term (SPIN's are options)
    assert config.regressor_relu and (config.camera_loss, config.cam_t_weight) == ("rsc-net", 1e-4)
    assert config.cam_scale_weight == 1.0  # SPIN's
    assert (config.flip_p, config.noise_factor, config.rotation_factor, config.scale_factor) == (
        0.5,
        0.4,
        0,
        0,
    )
    assert config.mean_params == "file" and config.normalisation == "rgb"
    spec = Pw3dShape(config, {"pw3d": Path("-"), "smpl": Path("-")}).optimizer()
    assert (spec.kind, spec.weight_decay, spec.lr_at(100, 10, 4)) == ("adam", 0.0, 5e-5)
    entry = TASKS.get("pw3d-shape")
    assert entry.metrics[0] == TABLES[5].columns[0].metric == "reconstruction_error"
    assert all(entry.lower_is_better.values()) and entry.baseline
    # sizes and budgets, and the demo's mean parameters (SynthHuman has no smpl_mean_params.npz)
    scale = {"input_size", "batch_size", "epochs", "milestones", "mean_params"}
    assert all(set(changes) <= scale for changes in entry.profiles.values())
    assert {"demo", "smoke", "paper"} <= set(entry.hours)


def test_6d_rotations_round_trip_and_are_zhou_et_als():
    rotations = Rotation.random(50, random_state=0).as_matrix()
    six = rotmat_to_rot6d(torch.as_tensor(rotations))
    assert torch.allclose(rot6d_to_rotmat(six), torch.as_tensor(rotations), atol=1e-12)
    # any 6 numbers: the first column is a1 normalised, the second in the plane of a1, a2
    x = torch.randn(20, 6, dtype=torch.float64)
    matrix = rot6d_to_rotmat(x)
    a1, a2 = x.reshape(20, 3, 2)[..., 0], x.reshape(20, 3, 2)[..., 1]
    assert torch.allclose(matrix[..., 0], a1 / a1.norm(dim=1, keepdim=True))
    assert torch.allclose(torch.linalg.det(matrix), torch.ones(20, dtype=torch.float64))
    assert torch.allclose(
        torch.linalg.det(torch.stack([a1, a2, matrix[..., 1]], 1)),
        torch.zeros(20, dtype=torch.float64),
        atol=1e-12,
    )


@pytest.mark.fixtures
def test_the_official_mean_parameters_start_the_regressor(fixtures, roots, tmp_path):
    smpl = tmp_path / "smpl_root"
    shutil.copytree(roots["smpl"], smpl)
    shutil.copy(fixtures / "mmpose/tests/data/smpl/smpl_mean_params.npz", smpl / MEAN_PARAMS)
    task = build_task("pw3d-shape", {"pw3d": roots["pw3d"], "smpl": smpl}, finetune_profile("paper"))
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18")).eval()
    with np.load(smpl / MEAN_PARAMS) as mean:
        assert np.allclose(model.init_pose.numpy(), mean["pose"]) and np.allclose(
            model.init_cam.numpy(), mean["cam"]
        )
        rotations = rot6d_to_rotmat(torch.as_tensor(mean["pose"]).reshape(24, 6))
    assert torch.allclose(
        rotations @ rotations.transpose(1, 2), torch.eye(3, dtype=rotations.dtype).expand(24, 3, 3), atol=1e-6
    )
    # upright in the camera frame (y down): the mean global orientation turns SMPL's y-up body over
    assert rotations[0, 1, 1] < -0.9


def test_ground_truth_joints_project_onto_3dpws_2d_keypoints(roots):
    body = BodyModels(roots["smpl"])
    people = persons(roots["pw3d"], body, "train")
    sequences = {sequence.name: sequence for sequence in read_split(roots["pw3d"], "train")}
    checked = 0
    for person in people:
        sample = person.sample
        keypoints = sequences[sample.sequence].people[sample.person].poses2d[sample.frame]
        for k, (joint, face) in enumerate(zip(OPENPOSE, FACE, strict=True)):
            if not face and keypoints[2, k] > 0:  # the synthetic OpenPose keypoints of H36M joints
                assert np.allclose(person.joints_2d[joint], keypoints[:2, k], atol=1e-3)
                checked += 1
    assert checked > 100


def test_augmented_items_keep_pose_and_joints_together(roots):
    config = Pw3dShapeConfig(input_size=32, rotation_factor=30.0, rotation_p=1.0, scale_factor=0.25)
    body = BodyModels(roots["smpl"])
    people = persons(roots["pw3d"], body, "train")
    data = Pw3dShapeDataset(people, config, seed=5)
    flips = 0
    for epoch in range(3):
        data.set_epoch(epoch)
        for index, person in enumerate(people[:4]):
            item = data[index]
            model = body.models["MALE" if person.sample.gender == "m" else "FEMALE"]
            pose, betas = item["pose"].double().numpy(), item["betas"].double().numpy()[None]
            joints = item["joints"].double().numpy()
            # the item's pose, flipped or not (the shape space is mirror-symmetric), gives its joints
            posed = body.regressor @ smpl_vertices(model, pose[None], betas)[0]
            np.testing.assert_allclose(posed - posed[0], joints - joints[0], atol=1e-5)
            # its cam_t puts those joints, where SMPL puts them (RSC-Net's gt_model_joints), on the keypoints
            pixels = 112 * (item["keypoints"][:, :2].double().numpy() + 1)
            cam_t = estimate_translation(posed, pixels, 5000.0, 224)
            np.testing.assert_allclose(item["cam_t"].double().numpy(), cam_t, rtol=1e-5)
            # a flip is SPIN's flip_pose of the body's pose (the global orientation is also rotated)
            flipped = np.allclose(pose[1:], rodrigues(flip_pose(person.sample.pose).reshape(24, 3))[1:])
            if not flipped:
                np.testing.assert_allclose(pose[1:], rodrigues(person.sample.pose.reshape(24, 3))[1:])
            flips += flipped
            assert torch.equal(data[index]["image"], item["image"])  # drawn from (seed, epoch, index)
    assert 0 < flips < 12
    assert np.allclose(flip_pose(flip_pose(people[0].sample.pose)), people[0].sample.pose)


def test_ground_truth_parameters_score_zero_and_the_baseline_does_not(roots, tmp_path):
    # a tree whose three models are the neutral one: the ground truth through the neutral model is exact
    smpl = tmp_path / "same"
    shutil.copytree(roots["smpl"], smpl)
    for gender in ("MALE", "FEMALE"):
        shutil.copy(smpl / SMPL_MODEL.format(gender="NEUTRAL"), smpl / SMPL_MODEL.format(gender=gender))
    body = BodyModels(smpl)
    test = [person.sample for person in persons(roots["pw3d"], body, "test")]
    truth = {
        "pose": rodrigues(np.stack([s.pose for s in test]).reshape(-1, 24, 3)),
        "betas": np.stack([s.betas for s in test]),
        "cam": np.zeros((len(test), 3)),
    }
    result = evaluate_predictions(truth, test, body, roots["pw3d"])
    assert result.metrics["reconstruction_error"] < 1e-9 and result.metrics["mpjpe"] < 1e-9
    assert result.predictions["joints"].shape == (len(test), 14, 3)
    (tmp_path / "3dpw_test.npz").write_bytes(result.files["3dpw_test.npz"])
    np.savez(tmp_path / "pred.npz", **result.predictions)
    again = evaluate_files(tmp_path / "pred.npz", tmp_path / "3dpw_test.npz", smpl)
    assert again["reconstruction_error"] < 1e-9
    # the regressor's starting point, untrained, is the baseline
    task = build_task("pw3d-shape", {"pw3d": roots["pw3d"], "smpl": smpl}, finetune_profile("smoke"), SMALL)
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    for decoder in (model.decpose, model.decshape, model.deccam):  # error feedback that adds nothing
        torch.nn.init.zeros_(decoder.weight)
        torch.nn.init.zeros_(decoder.bias)
    evaluation = task.evaluate(model, torch.device("cpu"), batch_size=3, workers=0)
    assert evaluation.metrics["reconstruction_error"] == pytest.approx(
        evaluation.metrics["baseline/reconstruction_error"]
    )
    assert evaluation.metrics["baseline/reconstruction_error"] > 10


def test_training_items_and_loss(roots):
    task = build_task("pw3d-shape", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    item = data[0]
    assert item["image"].shape == (3, 32, 32) and item["keypoints"].shape == (17, 3)
    assert item["pose"].shape == (24, 3, 3) and item["betas"].shape == (10,)
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    batch = torch.utils.data.default_collate([data[i] for i in range(2)])
    loss, logs = task.loss(model, batch)
    assert loss.ndim == 0 and loss.item() > 0 and logs["loss"] == loss.detach()
    loss.backward()
    assert model.trunk.conv1.weight.grad.abs().sum() > 0
    # the camera term: RSC-Net's (cam_t against the estimated translation) x 1e-4, or SPIN's x 1
    model.eval()  # no dropout: the same output each time
    cam = model(batch["image"]).cam.detach()
    for kind, weight in (("rsc-net", 1e-4), ("spin", 1.0)):
        task = build_task("pw3d-shape", roots, finetune_profile("smoke"), {**SMALL, "camera_loss": kind})
        with torch.no_grad():
            loss, logs = task.loss(model, batch)
        assert logs["loss_cam"] == pytest.approx(camera_loss(cam, batch["cam_t"], kind, 5000.0).item())
        terms = 5 * logs["loss_2d"] + 5 * logs["loss_3d"] + logs["loss_pose"] + 0.001 * logs["loss_betas"]
        assert loss.item() == pytest.approx(60 * (terms + weight * logs["loss_cam"]).item(), rel=1e-5)


def test_a_fine_tuning_cut_short_resumes_bit_identically(roots, tmp_path):
    # 12 training person-frames or more: 3+ steps of 4 per epoch; cut mid-epoch 0 of 2
    profile = finetune_profile("smoke")
    steps = len(build_task("pw3d-shape", roots, profile, SMALL).train_set(0)) // 4
    lrs = [5e-5] * steps + [5e-5 * 0.95] * steps
    assert_resumes_bit_identically("pw3d-shape", roots, SMALL, profile, tmp_path, cut_at=2, lrs=lrs)


def test_finetune_writes_a_model_the_metrics_and_files_eval_reads(roots, tmp_path, monkeypatch):
    changes = {**SMALL, "epochs": 1}
    model = train_task("pw3d-shape", roots, "smoke", tmp_path, init=None, changes=changes)
    metrics = evaluate_task("pw3d-shape", roots, "smoke", model, tmp_path, changes=changes)
    names = ("reconstruction_error", "mpjpe")
    assert set(names) | {f"baseline/{name}" for name in names} <= set(metrics)
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(metrics)
    assert_samples_reproduce_the_metrics(tmp_path, names)
    monkeypatch.setenv("SUITE_SMPL_ROOT", str(roots["smpl"]))
    again = evaluate_files(tmp_path / "predictions.npz", tmp_path / "3dpw_test.npz")
    assert again["reconstruction_error"] == pytest.approx(metrics["reconstruction_error"], abs=1e-9)


def test_missing_mean_parameters_name_the_file_and_the_demos_alternative(roots):
    task = build_task("pw3d-shape", roots, finetune_profile("paper"))
    with pytest.raises(DatasetError, match="mean_params=training") as error:
        task.build_model(ResNetTrunk("resnet18"))
    assert MEAN_PARAMS in str(error.value)
