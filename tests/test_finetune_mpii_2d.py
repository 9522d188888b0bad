"""mpii-2d: the protocol's settings and scale, its data, a test protocol that gives a model knowing the
answers full marks, the mean-pose baseline, and a fine-tuning cut by max_steps that resumes
bit-identically."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch
from finetune_resume import assert_resumes_bit_identically
from samples_check import assert_samples_reproduce_the_metrics
from test_topdown import Oracle

from suite.data.mpii import read_annotations
from suite.data.synth import mpii
from suite.finetune.catalog import TASKS
from suite.finetune.mpii_2d import Mpii2d
from suite.finetune.mpii_2d_settings import METRICS, Mpii2dConfig
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.finetune.topdown import TopdownDataset, mpii_persons
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline
from suite.profiles import finetune_profile
from suite.tables import MPII

SMALL = {"input_size": 64, "heatmap_size": 16, "batch_size": 4, "epochs": 2, "milestones": (1,)}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman MPII: 8 training persons, 4 test persons."""
    root = tmp_path_factory.mktemp("synth") / "mpii"
    mpii.write(root, 8, np.random.default_rng(1))
    return {"mpii": root}


def test_settings_are_the_protocols_and_profiles_change_only_the_scale():
    config = Mpii2dConfig()
    assert (config.input_size, config.heatmap_size, config.sigma) == (256, 64, 2.0)
    assert (config.batch_size, config.epochs, config.lr) == (128, 140, 1e-3)
    assert (config.scale_factor, config.rotation_factor, config.rotation_p, config.flip_p) == (
        0.25,
        30.0,
        0.6,
        0.5,
    )
    assert config.half_body_p == 0 and config.flip_test and config.shift_heatmap and config.post_process
    spec = Mpii2d(config, {"mpii": Path("-")}).optimizer()
    lrs = [spec.lr_at(epoch, 1, 140) for epoch in (0, 88, 89, 118, 119, 139)]
    assert lrs == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])  # MultiStepLR [90, 120] at epoch start
    assert (spec.kind, spec.weight_decay) == ("adam", 0.0)
    entry = TASKS.get("mpii-2d")
    assert entry.metrics == METRICS == tuple(column.metric for column in MPII)
    assert not any(entry.lower_is_better.values())
    scale = {"input_size", "heatmap_size", "deconv_channels", "batch_size", "epochs", "milestones"}
    assert all(set(changes) <= scale for changes in entry.profiles.values())
    assert {"demo", "smoke", "paper"} <= set(entry.hours)
    assert {f.name for f in fields(Mpii2dConfig)} >= set(entry.evaluation_settings)


def test_training_items_and_loss(roots):
    task = build_task("mpii-2d", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    assert len(data) == 8
    item = data[0]
    assert item["image"].shape == (3, 64, 64) and item["target"].shape == (16, 16, 16)
    assert item["weight"].shape == (16,) and item["target"].max() == 1.0
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    assert isinstance(model, SimpleBaseline) and model.final_layer.out_channels == 16
    assert model.final_layer.in_channels == task.config.deconv_channels == 64  # the demo's width
    batch = {key: torch.stack([data[i][key] for i in range(2)]) for key in ("image", "target", "weight")}
    loss, logs = task.loss(model, batch)
    assert loss.ndim == 0 and loss.item() > 0 and logs["loss"] == loss.detach()


def test_a_model_that_knows_the_answers_scores_full_marks(roots):
    task = build_task("mpii-2d", roots, finetune_profile("smoke"), {"input_size": 128, "heatmap_size": 32})
    valid = read_annotations(roots["mpii"] / "annot" / "valid.json")
    data = TopdownDataset(mpii_persons(valid, roots["mpii"] / "images"), task.pipeline(), None)
    result = task.evaluate(Oracle(data), torch.device("cpu"), batch_size=3, workers=0)
    assert list(result.metrics)[: len(METRICS)] == list(METRICS)
    assert result.metrics["total"] == pytest.approx(100.0)
    assert {f"baseline/{name}" for name in METRICS} <= set(result.metrics)
    assert result.metrics["baseline/total"] < 100.0
    assert result.predictions["joints"].shape == (len(valid), 16, 2)


def test_a_fine_tuning_cut_short_resumes_bit_identically(roots, tmp_path):
    # cut mid-epoch 1 of 2
    profile = finetune_profile("smoke")
    lrs = [1e-3] * 2 + [1e-4] * 2
    assert_resumes_bit_identically("mpii-2d", roots, SMALL, profile, tmp_path, cut_at=3, lrs=lrs)


def test_finetune_writes_a_model_and_the_tables_metrics(roots, tmp_path):
    changes = {**SMALL, "epochs": 1}
    model = train_task("mpii-2d", roots, "smoke", tmp_path, init=None, changes=changes)
    metrics = evaluate_task("mpii-2d", roots, "smoke", model, tmp_path, changes=changes)
    assert set(METRICS) | {f"baseline/{name}" for name in METRICS} <= set(metrics)
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(metrics, nan_ok=True)
    assert_samples_reproduce_the_metrics(tmp_path, (*METRICS, "total@0.11", "joint/l_ankle"))
    with np.load(tmp_path / "predictions.npz") as predictions:
        assert predictions["joints"].shape[1:] == (16, 2)
