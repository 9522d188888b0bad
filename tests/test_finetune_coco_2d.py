"""coco-2d: the protocol's settings and scale at every profile, the official loader's persons, a test
protocol that gives a model knowing the answers full marks, the mean-pose baseline, a fine-tuning cut
by max_steps that resumes bit-identically, and a result json that `eval coco-ap` scores the same."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from finetune_resume import assert_resumes_bit_identically
from samples_check import assert_samples_reproduce_the_metrics
from test_topdown import Oracle

from suite.cli import main
from suite.data import coco
from suite.data.synth import coco as synth_coco
from suite.errors import SuiteError
from suite.finetune.catalog import TASKS
from suite.finetune.coco_2d import (
    RESULTS_FILE,
    Coco2d,
    annotated_persons,
    detected_persons,
    results,
    sanitised_box,
)
from suite.finetune.coco_2d_settings import METRICS, Coco2dConfig
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.finetune.topdown import TopdownDataset
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline
from suite.profiles import FINETUNE_PROFILES, finetune_profile
from suite.tables import COCO

SMALL = {"input_size": (32, 32), "heatmap_size": (8, 8), "batch_size": 8, "epochs": 2, "milestones": (1,)}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman COCO: 16 training persons, 4 test persons and their jittered detections."""
    root = tmp_path_factory.mktemp("synth") / "coco"
    synth_coco.write(root, 16, np.random.default_rng(1))
    return {"coco": root}


def test_settings_are_the_protocols_and_profiles_change_only_the_scale():
    config = Coco2dConfig()
    assert (config.input_size, config.heatmap_size, config.sigma) == ((192, 256), (48, 64), 2.0)
    assert (config.batch_size, config.epochs, config.lr) == (128, 140, 1e-3)
    augmentation = (config.scale_factor, config.rotation_factor, config.rotation_p, config.flip_p)
    assert augmentation == (0.3, 40.0, 0.6, 0.5)
    assert config.half_body_p == 0 and config.half_body_joints == 8
    assert (config.boxes, config.detection_threshold) == ("detections", 0.0)
    assert config.flip_test and config.shift_heatmap and config.post_process
    spec = Coco2d(config, {"coco": Path("-")}).optimizer()
    lrs = [spec.lr_at(epoch, 1, 140) for epoch in (0, 88, 89, 118, 119, 139)]
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])  # MultiStepLR [90, 120] at epoch start
    assert (spec.kind, spec.weight_decay) == ("adam", 0.0)
    entry = TASKS.get("coco-2d")
    assert entry.metrics == METRICS == tuple(column.metric for column in COCO)
    assert not any(entry.lower_is_better.values()) and entry.datasets == ("coco",)
    scale = {"input_size", "heatmap_size", "deconv_channels", "batch_size", "epochs", "milestones"}
    assert all(set(changes) <= scale for changes in entry.profiles.values())
    assert {"demo", "smoke", "paper"} <= set(entry.hours)
    assert {"boxes", "flip_test"} <= set(entry.evaluation_settings) <= {f.name for f in fields(Coco2dConfig)}
    for profile in FINETUNE_PROFILES:  # every profile's settings resolve and build the task
        task = build_task("coco-2d", {"coco": Path("-")}, finetune_profile(profile))
        assert isinstance(task, Coco2d)
        assert tuple(task.config.heatmap_size) == tuple(s // 4 for s in task.config.input_size)
    with pytest.raises(SuiteError, match="multiples of 32"):
        TASKS.settings("coco-2d", changes={"input_size": (48, 64), "heatmap_size": (12, 16)})
    with pytest.raises(SuiteError, match="boxes must be one of"):
        TASKS.settings("coco-2d", changes={"boxes": "detected"})


def _annotation(bbox, keypoints, area=100.0, iscrowd=False) -> coco.Person:
    return coco.Person(1, 7, bbox, area, iscrowd, 0, np.asarray(keypoints, dtype=float).reshape(17, 3))


def test_the_official_loader_sanitises_boxes_and_skips_what_it_skips():
    image = coco.CocoImage(7, "a.jpg", 100, 80, Path("a.jpg"))
    labelled = np.zeros((17, 3))
    labelled[5] = (30, 40, 1)
    assert sanitised_box(_annotation((-5, 10, 50, 200), labelled), image) == (0.0, 10.0, 49.0, 69.0)
    assert sanitised_box(_annotation((90, 10, 50, 20), labelled), image) == (90.0, 10.0, 9.0, 19.0)
    assert sanitised_box(_annotation((10, 10, 0.5, 0.5), labelled), image) == (10.0, 10.0, 0.0, 0.0)
    assert sanitised_box(_annotation((10, 10, 5, 5), labelled, area=0.0), image) is None
    assert sanitised_box(_annotation((120, 10, 5, 5), labelled), image) is None  # x1 > x2 = W − 1
    persons = (
        _annotation((10, 20, 30, 40), labelled),
        _annotation((10, 20, 30, 40), labelled, iscrowd=True),
        _annotation((10, 20, 30, 40), np.zeros((17, 3))),
        _annotation((120, 10, 5, 5), labelled),
    )
    found = annotated_persons(coco.CocoKeypoints(Path("k.json"), (), 17, {7: image}, persons), 0.75)
    assert len(found) == 1
    image_id, person = found[0]
    assert image_id == 7 and person.image == Path("a.jpg")
    np.testing.assert_allclose(person.center, (10 + 29 / 2, 20 + 39 / 2))
    np.testing.assert_allclose(person.scale, np.array([39 * 0.75, 39]) * 1.25)  # aspect fixed, x1.25
    assert person.visible[5] == 1 and person.visible.sum() == 1  # v = 1 or 2 -> 1


def test_detections_of_persons_only_and_above_the_threshold():
    images = {3: coco.CocoImage(3, "b.jpg", 10, 10, Path("b.jpg"))}
    detections = [
        coco.Detection(3, 1, (0, 0, 30, 40), 0.9),
        coco.Detection(3, 2, (0, 0, 30, 40), 0.9),  # not a person
        coco.Detection(3, 1, (10, 10, 60, 40), 0.05),
    ]
    found = detected_persons(detections, images, 0.75, 0.0, Path("d.json"))
    assert [(image_id, score) for image_id, score, _ in found] == [(3, 0.9), (3, 0.05)]
    np.testing.assert_allclose(found[1][2].scale, (75.0, 100.0))  # 60 x 40 -> 60 x 80, x1.25
    assert len(detected_persons(detections, images, 0.75, 0.1, Path("d.json"))) == 1
    with pytest.raises(SuiteError, match="image 4"):
        detected_persons([coco.Detection(4, 1, (0, 0, 1, 1), 1.0)], images, 0.75, 0.0, Path("d.json"))


def test_training_items_and_loss(roots):
    task = build_task("coco-2d", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    assert len(data) == 16
    item = data[0]
    assert item["image"].shape == (3, 32, 32) and item["target"].shape == (17, 8, 8)
    assert item["weight"].shape == (17,) and item["target"].max() == 1.0
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    assert isinstance(model, SimpleBaseline) and model.final_layer.out_channels == 17
    batch = {key: torch.stack([data[i][key] for i in range(2)]) for key in ("image", "target", "weight")}
    loss, logs = task.loss(model, batch)
    assert loss.ndim == 0 and loss.item() > 0 and logs["loss"] == loss.detach()
    # HRNet-W32's half-body augmentation (here on every person with more than 8 visible joints)
    half = build_task("coco-2d", roots, finetune_profile("smoke"), {**SMALL, "half_body_p": 1.0})
    assert half.pipeline().upper_body == tuple(range(11))
    halves = half.train_set(seed=0)
    moved = [not torch.equal(halves[i]["center"], data[i]["center"]) for i in range(len(data))]
    many = [(person.visible > 0).sum() > 8 for person in data.persons]
    assert any(moved) and not any(m and not v for m, v in zip(moved, many, strict=True))


def test_a_model_that_knows_the_answers_scores_full_marks(roots):
    changes = {"input_size": (128, 128), "heatmap_size": (32, 32), "boxes": "gt"}
    task = build_task("coco-2d", roots, finetune_profile("smoke"), changes)
    _, _, persons = task.test_persons()
    data = TopdownDataset(persons, task.pipeline(), None)
    result = task.evaluate(Oracle(data), torch.device("cpu"), batch_size=3, workers=0)
    assert list(result.metrics)[: len(METRICS)] == list(METRICS)
    assert {"ar50", "ar75", "ar_m", "ar_l"} <= set(result.metrics)
    assert result.metrics["ap50"] == pytest.approx(100.0) and result.metrics["ap"] > 80
    assert {f"baseline/{name}" for name in METRICS} <= set(result.metrics)
    assert result.metrics["baseline/ap"] < result.metrics["ap"]
    assert result.predictions["joints"].shape == (len(persons), 17, 2)
    np.testing.assert_array_equal(result.predictions["box_score"], 1.0)


def test_a_fine_tuning_cut_short_resumes_bit_identically(roots, tmp_path):
    # cut mid-epoch 1 of 2
    profile = finetune_profile("smoke")
    lrs = [1e-3] * 2 + [1e-4] * 2
    assert_resumes_bit_identically("coco-2d", roots, SMALL, profile, tmp_path, cut_at=3, lrs=lrs)


def test_smoke_finetune_writes_every_metric_and_eval_coco_ap_agrees(roots, tmp_path, capsys):
    model = train_task("coco-2d", roots, "smoke", tmp_path, init=None)
    metrics = evaluate_task("coco-2d", roots, "smoke", model, tmp_path)
    keys = ("ap", "ap50", "ap75", "ap_m", "ap_l", "ar", "ar50", "ar75", "ar_m", "ar_l")
    assert list(metrics)[: len(keys)] == list(keys)
    assert {f"baseline/{name}" for name in METRICS} <= set(metrics)
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(metrics, nan_ok=True)
    assert_samples_reproduce_the_metrics(tmp_path, METRICS)
    with np.load(tmp_path / "predictions.npz") as predictions:
        detections = json.loads(coco.detections_file(roots["coco"]).read_text())
        assert predictions["joints"].shape == (len(detections), 17, 2)
        found = results(predictions)
    assert found and {"image_id", "category_id", "keypoints", "score"} == set(found[0])
    pred = tmp_path / RESULTS_FILE  # the official code's result file, written by the evaluation
    assert json.loads(pred.read_text()) == found
    gt = coco.keypoints_file(roots["coco"], "val2017")
    assert main(["eval", "coco-ap", "--pred", str(pred), "--gt", str(gt), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {key: None if math.isnan(metrics[key]) else metrics[key] for key in keys}
    # an evaluation with the ground-truth boxes and without the flip test needs no new training
    changed = {"boxes": "gt", "flip_test": False}
    again = evaluate_task("coco-2d", roots, "smoke", model, tmp_path / "gt", changes=changed)
    with np.load(tmp_path / "gt" / "predictions.npz") as predictions:
        assert len(predictions["joints"]) == 4 and set(predictions["box_score"]) == {1.0}
    assert set(METRICS) <= set(again)
