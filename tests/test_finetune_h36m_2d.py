"""h36m-2d: the protocol's settings and scale, the union skeleton, the four-view groups, a training set
that never sees the test subjects, a test protocol that gives a model knowing the answers full marks,
the mean-pose baseline, and a fine-tuning cut by max_steps that resumes bit-identically."""

from __future__ import annotations

import json
import pickle
from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from finetune_resume import assert_resumes_bit_identically
from samples_check import assert_samples_reproduce_the_metrics
from test_topdown import Oracle

from suite.data.h36m import read_multiview
from suite.data.layouts import H36M_MULTIVIEW_ANNOTATIONS, H36M_TEST_SUBJECTS, H36M_TRAIN_SUBJECTS
from suite.data.skeleton import JOINTS, MPII_JOINTS
from suite.data.synth import h36m, mpii
from suite.errors import DatasetError
from suite.finetune.catalog import TASKS
from suite.finetune.h36m_2d import (
    H36M_TO_UNION,
    MPII_TO_UNION,
    UNION_FLIP_PAIRS,
    UNION_JOINTS,
    Human36m2d,
    four_view_groups,
    h36m_person,
)
from suite.finetune.h36m_2d_settings import METRICS, H36m2dConfig
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.finetune.topdown import TopdownDataset
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline
from suite.profiles import finetune_profile
from suite.tables import H36M_2D

SMALL = {"input_size": 64, "heatmap_size": 16, "batch_size": 4, "epochs": 2, "milestones": (1,)}
# The repo's names of skeleton.JOINTS and MPII_JOINTS where they differ.
REPO_H36M = {"spine": "belly", "thorax": "neck", "neck_nose": "nose"}
REPO_MPII = {"pelvis": "root"}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman: 2 four-view training groups (S1-8), 2 test groups (S9, S11), 8 MPII persons."""
    root = tmp_path_factory.mktemp("synth")
    h36m.write(root / "h36m", 8, np.random.default_rng(0))
    mpii.write(root / "mpii", 8, np.random.default_rng(1))
    return {"h36m": root / "h36m", "mpii": root / "mpii"}


def test_settings_are_the_protocols_and_profiles_change_only_the_scale():
    config = H36m2dConfig()
    assert (config.input_size, config.heatmap_size, config.sigma) == (256, 64, 2.0)
    assert (config.batch_size, config.epochs, config.lr) == (32, 30, 1e-3)
    assert (config.scale_factor, config.rotation_factor) == (0.0, 0.0)
    assert (config.train_stride, config.test_stride, config.jdr_threshold) == (5, 64, 12.8)
    assert not (config.flip_test or config.shift_heatmap or config.post_process)
    spec = Human36m2d(config, {"h36m": Path("-"), "mpii": Path("-")}).optimizer()
    lrs = [spec.lr_at(epoch, 1, 30) for epoch in (0, 18, 19, 23, 24, 29)]
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])  # MultiStepLR [20, 25] at epoch start
    assert (spec.kind, spec.weight_decay) == ("adam", 0.0)
    entry = TASKS.get("h36m-2d")
    assert entry.metrics == METRICS == tuple(column.metric for column in H36M_2D)
    assert entry.datasets == ("h36m", "mpii") and not any(entry.lower_is_better.values())
    scale = {
        "input_size",
        "heatmap_size",
        "deconv_channels",
        "batch_size",
        "epochs",
        "milestones",
        "train_stride",
        "test_stride",
        "prior_weight",  # they follow JointsMSELoss, whose scale is the heatmap's size
        "reprojection_weight",
    }
    assert all(set(changes) <= scale for changes in entry.profiles.values())
    assert {"demo", "smoke", "paper"} <= set(entry.hours)
    assert {f.name for f in fields(H36m2dConfig)} >= set(entry.evaluation_settings)
    for profile in (None, "paper", "demo", "smoke"):
        resolved = TASKS.settings("h36m-2d", profile=profile)
        assert resolved.input_size == resolved.heatmap_size * 4
        assert all(0 <= m < resolved.epochs for m in resolved.milestones)


def test_the_union_is_the_repos():
    assert len(UNION_JOINTS) == 20 and len(set(H36M_TO_UNION)) == 17 and len(set(MPII_TO_UNION)) == 16
    assert [UNION_JOINTS[u] for u in H36M_TO_UNION] == [REPO_H36M.get(name, name) for name in JOINTS]
    assert [UNION_JOINTS[u] for u in MPII_TO_UNION] == [REPO_MPII.get(name, name) for name in MPII_JOINTS]
    assert set(H36M_TO_UNION) | set(MPII_TO_UNION) == set(range(20))  # every channel has a source
    for left, right in UNION_FLIP_PAIRS:
        a, b = UNION_JOINTS[left], UNION_JOINTS[right]
        assert a[2:] == b[2:] and {a[:2], b[:2]} == {"l_", "r_"}


def test_groups_are_complete_frames_in_first_seen_order_then_strided():
    def sample(subject, frame, camera):
        return SimpleNamespace(subject=subject, action=2, subaction=1, image_id=frame, camera_id=camera)

    samples = [sample(1, frame, camera) for frame in (1, 6, 11) for camera in (2, 0, 1, 3)]
    samples += [sample(5, 1, camera) for camera in (0, 1, 2)]  # camera 3 missing: left out
    samples.insert(2, sample(1, 16, 0))  # first seen before frame 6, completed at the end
    samples += [sample(1, 16, camera) for camera in (1, 2, 3)]
    groups = four_view_groups(samples, 1)
    frames = [samples[group[0]].image_id for group in groups]
    assert frames == [1, 16, 6, 11]
    assert all([samples[i].camera_id for i in group] == [0, 1, 2, 3] for group in groups)
    assert four_view_groups(samples, 2) == groups[::2]
    with pytest.raises(DatasetError, match="camera_id"):
        four_view_groups([sample(1, 1, 4)], 1)


def test_training_never_sees_the_test_subjects(roots, tmp_path):
    task = build_task("h36m-2d", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    train = read_multiview(roots["h36m"], "train")
    assert {sample.subject for sample in train} <= set(H36M_TRAIN_SUBJECTS)
    groups = four_view_groups(train, task.config.train_stride)
    assert len(data) == 4 * len(groups) + 8  # every view of every group, and the 8 MPII persons
    test_images = {sample.image for sample in read_multiview(roots["h36m"], "validation")}
    assert not {person.image for person in data.persons} & test_images
    assert all(f"s_{s:02}_" not in str(person.image) for person in data.persons for s in H36M_TEST_SUBJECTS)

    # a training pickle that holds a test subject's frames is refused, not trained on
    poisoned = tmp_path / "h36m"
    (poisoned / "annot").mkdir(parents=True)
    entries = pickle.loads((roots["h36m"] / H36M_MULTIVIEW_ANNOTATIONS["train"]).read_bytes())
    for entry in entries:
        entry["subject"] = 9
    (poisoned / H36M_MULTIVIEW_ANNOTATIONS["train"]).write_bytes(pickle.dumps(entries))
    leaky = build_task("h36m-2d", {**roots, "h36m": poisoned}, finetune_profile("smoke"), SMALL)
    with pytest.raises(DatasetError, match="test subjects"):
        leaky.train_set(seed=0)


def test_training_items_and_loss(roots):
    task = build_task("h36m-2d", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    h36m_item, mpii_item = data[0], data[len(data) - 1]
    for item in (h36m_item, mpii_item):
        assert item["image"].shape == (3, 64, 64) and item["target"].shape == (20, 16, 16)
        assert item["weight"].shape == (20,) and item["target"].max() == 1.0
    unfilled_h36m = sorted(set(range(20)) - set(H36M_TO_UNION))
    unfilled_mpii = sorted(set(range(20)) - set(MPII_TO_UNION))
    assert not h36m_item["weight"][unfilled_h36m].any() and not mpii_item["weight"][unfilled_mpii].any()
    assert not h36m_item["target"][unfilled_h36m].any()
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    assert isinstance(model, SimpleBaseline) and model.final_layer.out_channels == 20
    batch = {key: torch.stack([data[i][key] for i in range(2)]) for key in ("image", "target", "weight")}
    loss, logs = task.loss(model, batch)
    assert loss.ndim == 0 and loss.item() > 0 and logs["loss"] == loss.detach()


def test_a_joint_outside_the_crop_is_invisible(roots):
    task = build_task("h36m-2d", roots, finetune_profile("smoke"), SMALL)
    sample = read_multiview(roots["h36m"], "train")[0]
    person = h36m_person(sample)
    person.joints[H36M_TO_UNION[3]] = sample.center + sample.scale * 200  # the right ankle off the crop
    item = TopdownDataset([person], task.pipeline(), seed=0)[0]
    assert item["weight"][H36M_TO_UNION[3]] == 0 and item["weight"][H36M_TO_UNION[2]] == 1


def test_a_model_that_knows_the_answers_scores_full_marks(roots):
    task = build_task("h36m-2d", roots, finetune_profile("smoke"), {"input_size": 128, "heatmap_size": 32})
    validation = read_multiview(roots["h36m"], "validation")
    test = [validation[i] for group in four_view_groups(validation, 1) for i in group]
    data = TopdownDataset([h36m_person(sample) for sample in test], task.pipeline(), None)
    result = task.evaluate(Oracle(data), torch.device("cpu"), batch_size=3, workers=0)
    assert list(result.metrics)[: len(METRICS)] == list(METRICS)
    assert set(JOINTS) <= set(result.metrics)
    assert result.metrics["total"] == pytest.approx(100.0)
    assert {f"baseline/{name}" for name in METRICS} <= set(result.metrics)
    assert result.metrics["baseline/total"] < 100.0
    assert result.predictions["joints"].shape == (len(test), 17, 2)
    np.testing.assert_array_equal(result.predictions["gt_joints"], np.stack([s.joints_2d for s in test]))


@pytest.mark.slow
def test_a_fine_tuning_cut_short_resumes_bit_identically(roots, tmp_path):
    # cut mid-epoch 1 of 2
    profile = replace(finetune_profile("smoke"), checkpoint_every=4)  # fewer ~200 MB writes
    lrs = [1e-3] * 4 + [1e-4] * 4
    changes = {**SMALL, "input_size": 32, "heatmap_size": 8}
    assert_resumes_bit_identically("h36m-2d", roots, changes, profile, tmp_path, cut_at=5, lrs=lrs)


def test_finetune_writes_a_model_and_every_metric(roots, tmp_path):
    changes = {**SMALL, "epochs": 1}
    model = train_task("h36m-2d", roots, "smoke", tmp_path, init=None, changes=changes)
    metrics = evaluate_task("h36m-2d", roots, "smoke", model, tmp_path, changes=changes)
    assert list(metrics)[:3] == list(METRICS)
    assert set(JOINTS) | {f"baseline/{name}" for name in METRICS} <= set(metrics)
    assert all(0.0 <= value <= 100.0 for value in metrics.values())
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(metrics)
    assert_samples_reproduce_the_metrics(tmp_path, (*METRICS, *JOINTS))
    with np.load(tmp_path / "predictions.npz") as predictions:
        assert predictions["joints"].shape == (8, 17, 2)  # the smoke profile's every test group
        assert predictions["union_joints"].shape == (8, 20, 2)
