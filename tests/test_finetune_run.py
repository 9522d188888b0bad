"""The entry points end to end on tiny SynthHuman sets: train_task, evaluate_task, finetune, task_data
and backbone_state, for h36m-3d and classification."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from samples_check import assert_samples_reproduce_the_metrics

from suite.checkpoints.importers import import_backbone
from suite.data.synth import generic, h36m, mpii
from suite.errors import SuiteError
from suite.finetune.catalog import TASKS
from suite.finetune.run import backbone_state, evaluate_task, finetune, task_data, train_task

H36M_CHANGES = {"input_size": 32, "batch_size": 4, "epochs": 1, "milestones": ()}
CLASSIFICATION_CHANGES = {"input_size": 32, "resize_size": 36, "batch_size": 4, "epochs": 1}


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    """A SynthHuman-like tree holding the three datasets these tasks read."""
    root = tmp_path_factory.mktemp("synth")
    h36m.write(root / "h36m", 8, np.random.default_rng(0))
    mpii.write(root / "mpii", 8, np.random.default_rng(1))
    generic.write(root / "generic", 10, np.random.default_rng(2))
    return root


def test_registry_lists_the_tasks_with_their_metrics():
    assert TASKS.get("h36m-3d").metrics == ("mpjpe", "pa_mpjpe")
    assert TASKS.get("h36m-3d").lower_is_better == {"mpjpe": True, "pa_mpjpe": True}
    assert TASKS.get("h36m-3d").datasets == ("h36m", "mpii")
    assert TASKS.get("classification").lower_is_better == {"top1": False, "top5": False}


def test_task_data_finds_synth_folders_else_the_configured_roots(synth, tmp_path, monkeypatch):
    assert task_data("h36m-3d", synth) == {"h36m": synth / "h36m", "mpii": synth / "mpii"}
    monkeypatch.chdir(tmp_path)  # no suite.toml here
    for name in ("SUITE_CONFIG", "SUITE_MPII_ROOT", "SUITE_H36M_ROOT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SuiteError, match=r"needs the mpii dataset.*\n.*SUITE_MPII_ROOT"):
        task_data("h36m-3d", synth / "h36m")
    monkeypatch.setenv("SUITE_MPII_ROOT", str(synth / "mpii"))
    assert task_data("h36m-3d", synth / "h36m") == {"h36m": synth / "h36m", "mpii": synth / "mpii"}
    with pytest.raises(SuiteError, match="unknown task 'h36m-2d-typo'"):
        task_data("h36m-2d-typo", synth)


def test_h36m_3d_trains_and_evaluates_to_finite_metrics_written_atomically(synth, tmp_path):
    roots = task_data("h36m-3d", synth)
    metrics = finetune("h36m-3d", roots, "demo", tmp_path, init=None, max_steps=2, changes=H36M_CHANGES)
    assert set(metrics) >= {"mpjpe", "pa_mpjpe"} and all(np.isfinite(list(metrics.values())))
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    assert_samples_reproduce_the_metrics(tmp_path, ("mpjpe", "pa_mpjpe"))
    predictions = np.load(tmp_path / "predictions.npz")
    assert predictions["joints_cam"].shape == predictions["gt_joints_cam"].shape == (8, 17, 3)
    assert not list(tmp_path.glob(".*.tmp"))  # every file was renamed into place
    assert not (tmp_path / "checkpoint.pt").exists()  # the model file replaced the resumable state
    # a finished run is returned as it is; the same folder refuses another run
    model = tmp_path / "model.pt"
    stamp = model.stat().st_mtime_ns
    assert (
        train_task("h36m-3d", roots, "demo", tmp_path, init=None, max_steps=2, changes=H36M_CHANGES) == model
    )
    assert model.stat().st_mtime_ns == stamp
    with pytest.raises(SuiteError, match=r"another run \(differs in seed\)"):
        train_task("h36m-3d", roots, "demo", tmp_path, init=None, seed=1, max_steps=2, changes=H36M_CHANGES)
    with pytest.raises(SuiteError, match=r"trained with other settings \(input_size\)"):
        evaluate_task(
            "h36m-3d", roots, "demo", model, tmp_path / "eval", changes={**H36M_CHANGES, "input_size": 64}
        )
    # the flip test is an evaluation setting: it may differ from training
    plain = evaluate_task(
        "h36m-3d", roots, "demo", model, tmp_path / "eval", changes={**H36M_CHANGES, "flip_test": False}
    )
    assert plain["mpjpe"] != metrics["mpjpe"]


def test_init_weights_go_through_the_importers(synth, tmp_path):
    torch.manual_seed(7)
    weights = torchvision.models.resnet18().state_dict()  # with fc, as torchvision's own files
    torch.save(weights, tmp_path / "resnet18.pth")
    roots = task_data("h36m-3d", synth)
    model = train_task(
        "h36m-3d",
        roots,
        "demo",
        tmp_path / "run",
        init=tmp_path / "resnet18.pth",
        max_steps=0,
        changes=H36M_CHANGES,
    )
    trunk = backbone_state(model)
    assert "fc.weight" not in trunk and all(torch.equal(trunk[key], weights[key]) for key in trunk)
    # a fine-tuned model is itself an init: another task starts from its trunk
    imported, report = import_backbone(model)
    assert "fine-tuned on 'h36m-3d'" in " ".join(report.notes)
    assert all(torch.equal(imported[key], trunk[key]) for key in trunk)
    again = train_task(
        "classification",
        task_data("classification", synth),
        "demo",
        tmp_path / "next",
        init=model,
        max_steps=0,
        changes=CLASSIFICATION_CHANGES,
    )
    assert all(torch.equal(backbone_state(again)[key], weights[key]) for key in trunk)


def test_classification_trains_a_backbone_torchvision_loads(synth, tmp_path):
    roots = task_data("classification", synth)
    metrics = finetune(
        "classification", roots, "demo", tmp_path, init=None, max_steps=2, changes=CLASSIFICATION_CHANGES
    )
    assert set(metrics) == {"top1", "top5"} and all(0 <= value <= 100 for value in metrics.values())
    resnet = torchvision.models.resnet18()
    result = resnet.load_state_dict(backbone_state(tmp_path / "model.pt"), strict=False)
    assert (sorted(result.missing_keys), result.unexpected_keys) == (["fc.bias", "fc.weight"], [])
