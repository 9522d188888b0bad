"""lip-parsing: the protocol's settings and SGDR schedule, SCHP's edges and Lovász loss against their
definitions, CE2P's shapes, the training items, a test protocol that gives a model knowing the answers
full marks (flip test included), the per-pixel majority baseline, self-correction's model average and
BN re-estimation, and a fine-tuning cut by max_steps that resumes bit-identically."""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from finetune_resume import assert_resumes_bit_identically
from samples_check import assert_samples_reproduce_the_metrics
from torch import nn
from torchvision.models import resnet18

from suite.data.lip import read_sample, read_split
from suite.data.synth import lip
from suite.evaluate.parsing import parsing_scores
from suite.finetune import trainer
from suite.finetune.catalog import TASKS
from suite.finetune.lip_parsing import (
    FLIP_LABELS,
    LipDataset,
    LipParsing,
    SelfCorrecting,
    warp_label,
)
from suite.finetune.lip_parsing_settings import METRICS, LipParsingConfig
from suite.finetune.parsing_loss import generate_edges, kl_to_soft, lovasz_softmax, soft_target
from suite.finetune.run import build_task, evaluate_task, train_task
from suite.models.backbone import ResNetTrunk
from suite.models.ce2p import CE2P
from suite.profiles import finetune_profile
from suite.tables import TABLES

SMALL = {
    "input_size": 64,
    "batch_size": 4,
    "epochs": 2,
    "warmup_epochs": 1,
    "schp_start": 1,
    "cycle_epochs": 1,
    "context_channels": 32,
    "decoder_channels": 16,
    "edge_channels": 16,
}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    """SynthHuman LIP: 8 training crops, 4 test crops."""
    root = tmp_path_factory.mktemp("synth") / "lip"
    lip.write(root, 8, np.random.default_rng(1))
    return {"lip": root}


def test_settings_are_the_protocols_and_profiles_change_only_the_scale():
    config = LipParsingConfig()
    assert (config.input_size, config.batch_size, config.epochs) == (473, 48, 150)
    assert (config.lr, config.momentum, config.weight_decay) == (7e-3, 0.9, 5e-4)
    assert (config.warmup_epochs, config.schp_start, config.cycle_epochs) == (10, 100, 10)
    assert config.lambdas == (1.0, 1.0, 0.1) and config.flip_test and config.test_scales == (1.0,)
    assert (config.scale_factor, config.rotation_factor, config.rotation_p, config.flip_p) == (
        0.25,
        30,
        0.6,
        0.5,
    )
    assert (config.context_channels, config.decoder_channels, config.edge_channels) == (512, 256, 256)
    entry = TASKS.get("lip-parsing")
    assert entry.metrics == METRICS == tuple(column.metric for column in TABLES[6].columns)
    scale = {"input_size", "batch_size", "epochs", "warmup_epochs", "schp_start", "cycle_epochs"}
    scale |= {"context_channels", "decoder_channels", "edge_channels"}
    assert all(set(changes) <= scale for changes in entry.profiles.values())
    assert {"demo", "smoke", "paper"} <= set(entry.hours)
    assert {f.name for f in fields(LipParsingConfig)} >= set(entry.evaluation_settings)


def test_the_sgdr_schedule_is_schps():
    spec = LipParsing(LipParsingConfig(), {"lip": Path("-")}).optimizer()
    assert (spec.kind, spec.momentum, spec.weight_decay) == ("sgd", 0.9, 5e-4)
    lr, low = 7e-3, 7e-5
    expected = {
        0: low,  # SGDRScheduler.step(epoch=0) at the start of the first epoch
        5: low + 5 * (lr - low) / 10,
        10: lr,
        55: low + (lr - low) * 0.5,
        99: low + (lr - low) * (1 + math.cos(math.pi * 89 / 90)) / 2,
        100: lr / 2,  # the restarts from lr / 2 every 10 epochs
        105: low + (lr / 2 - low) * 0.5,
        110: lr / 2,
        149: low + (lr / 2 - low) * (1 + math.cos(math.pi * 0.9)) / 2,
    }
    for epoch, value in expected.items():
        assert spec.lr_at(epoch * 3 + 2, 3, 150) == pytest.approx(value, rel=1e-12), epoch


def numpy_edges(label: np.ndarray) -> np.ndarray:
    """generate_edge_tensor, pixel by pixel: an edge where the pixel differs from the one above, to its
    right, below-right, or (from the pixel up-right) below-left; then any edge in the 3x3 box."""
    h, w = label.shape
    raw = np.zeros((h, w), dtype=bool)
    for i in range(h):
        for j in range(w):
            for di, dj in ((-1, 0), (0, 1), (1, 1), (1, -1)):
                ni, nj = i + di, j + dj
                if 0 <= ni < h and 0 <= nj < w and 255 not in (label[i, j], label[ni, nj]):
                    raw[i, j] |= label[i, j] != label[ni, nj]
    return np.array(
        [[raw[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2].any() for j in range(w)] for i in range(h)]
    )


def test_edges_follow_schps_definition():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 3, size=(2, 9, 11))
    label[label == 2] = 255
    label[:, :, :4] = 1  # a flat region stays edge-free
    edges = generate_edges(torch.from_numpy(label))
    assert edges.shape == label.shape
    for index in range(2):
        assert np.array_equal(edges[index].numpy().astype(bool), numpy_edges(label[index]))


def test_lovasz_softmax_of_hard_predictions_is_one_minus_the_iou():
    # the Lovász extension is exact at the vertices: for one-hot probabilities it is the Jaccard loss
    rng = np.random.default_rng(0)
    label = rng.integers(0, 5, size=(2, 6, 7))
    label[0, 0] = 255
    pred = np.where(rng.random(label.shape) < 0.6, label % 255, rng.integers(0, 5, size=label.shape)) % 5
    logits = 60.0 * torch.nn.functional.one_hot(torch.from_numpy(pred), 6).permute(0, 3, 1, 2).double()
    counted = label != 255
    ious = []
    for c in np.unique(label[counted]):
        gt_c, pred_c = (label == c) & counted, (pred == c) & counted
        ious.append((gt_c & pred_c).sum() / (gt_c | pred_c).sum())
    loss = lovasz_softmax(logits, torch.from_numpy(label))
    assert loss.item() == pytest.approx(1 - np.mean(ious), abs=1e-9)


def test_ce2p_keeps_torchvision_names_and_runs_at_output_stride_16():
    torch.manual_seed(0)
    network = CE2P(ResNetTrunk("resnet18"), 20, context=32, decoder=16, edge=16)
    assert network.trunk.layer4[0].conv1.stride == (1, 1) and network.trunk.layer4[0].conv2.dilation == (2, 2)
    resnet18().load_state_dict(network.trunk.state_dict(), strict=False)  # the same names and shapes
    features = {}
    network.trunk.layer4.register_forward_hook(lambda module, args, out: features.update(c5=out))
    (parsing, fusion), (edge,) = network(torch.randn(2, 3, 64, 64))
    assert parsing.shape == fusion.shape == (2, 20, 16, 16) and edge.shape == (2, 2, 16, 16)
    assert features["c5"].shape == (2, 512, 4, 4)


def test_training_items_and_loss(roots):
    task = build_task("lip-parsing", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    assert len(data) == 8
    data.set_epoch(1)
    item = data[0]
    assert item["image"].shape == (3, 64, 64) and item["label"].shape == (64, 64) and item["epoch"] == 1
    values = set(np.unique(item["label"].numpy()))
    assert values <= set(range(20)) | {255} and len(values) > 2
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    assert isinstance(model, SelfCorrecting) and model.trunk is model.network.trunk
    batch = {
        key: torch.stack([torch.as_tensor(data[i][key]) for i in range(2)])
        for key in ("image", "label", "epoch")
    }
    batch["epoch"][:] = 0
    loss, logs = task.loss(model, batch)
    assert set(logs) == {"loss", "lovasz", "ce", "edge", "consistency"} and logs["consistency"] == 0
    assert loss.item() == pytest.approx(sum(logs[k].item() for k in ("lovasz", "ce", "edge", "consistency")))
    # a near-one-hot soft label makes the KL (kl_div's mean over pixels and classes) CE / C
    logits = model(batch["image"])[0][1]
    logits = torch.nn.functional.interpolate(logits, size=(64, 64), mode="bilinear", align_corners=True)
    label = batch["label"]
    sharp = 80.0 * torch.nn.functional.one_hot(torch.where(label == 255, 0, label), 20).permute(0, 3, 1, 2)
    ce = torch.nn.functional.cross_entropy(logits, label, ignore_index=255)
    assert kl_to_soft(logits, sharp.float(), label).item() == pytest.approx(ce.item() / 20, rel=1e-5)
    # the soft label after one cycle: half the SCHP model's logits, half the one-hot label
    mixed = soft_target(sharp.float(), label, cycle_n=1)
    assert torch.allclose(mixed, sharp.float() * 0.5 + 0.5 * (sharp > 0).float())


class Oracle(nn.Module):
    """Answers each test input (and its mirror image) with one-hot logits of its warped ground truth."""

    def __init__(self, data: LipDataset) -> None:
        super().__init__()
        self.answers = {}
        for index, sample in enumerate(data.samples):
            item = data[index]
            label = warp_label(read_sample(sample)[1], item["matrix"].numpy(), data.config.input_size)
            label = np.where(label == 255, 0, label)
            for image, labels in (
                (item["image"], label),
                (item["image"].flip(-1), FLIP_LABELS[label[:, ::-1]]),
            ):
                logits = 10.0 * torch.nn.functional.one_hot(torch.from_numpy(labels.astype(np.int64)), 20)
                self.answers[image.numpy().tobytes()] = logits.permute(2, 0, 1).float()

    def forward(self, x):
        logits = torch.stack([self.answers[image.numpy().tobytes()] for image in x])
        return [[-logits, logits], [logits[:, :2]]]


def test_a_model_that_knows_the_answers_scores_full_marks_and_the_baseline_is_the_majority(roots):
    task = build_task("lip-parsing", roots, finetune_profile("smoke"), {**SMALL, "input_size": 320})
    val = read_split(roots["lip"], "val").samples
    result = task.evaluate(Oracle(LipDataset(val, task.config, None)), torch.device("cpu"), 3, 0)
    metrics = result.metrics
    assert list(metrics)[:2] == list(METRICS) and metrics["pixel_acc"] > 99.0
    truths = [read_sample(sample)[1] for sample in val]
    assert metrics["miou"] == pytest.approx(
        100 * len(set(np.unique(np.concatenate([t.ravel() for t in truths]))) - {255}) / 20, abs=2.0
    )
    assert sorted(result.files) == sorted(f"parsing/{sample.id}.png" for sample in val)
    # the baseline, counted another way: every training label in the test frame, the mode per pixel
    size = task.config.input_size
    frames = []
    for sample in read_split(roots["lip"], "train").samples:
        label = read_sample(sample)[1]
        h, w = label.shape
        k = size / max(w - 1, h - 1)
        matrix = np.array([[k, 0, size / 2 - k * (w - 1) / 2], [0, k, size / 2 - k * (h - 1) / 2]])
        frames.append(cv2.warpAffine(label, matrix, (size, size), flags=cv2.INTER_NEAREST, borderValue=255))
    frames = np.stack(frames)
    counts = np.stack([(frames == c).sum(axis=0) for c in range(20)])
    prior = counts.argmax(axis=0).astype(np.uint8)
    guesses = []
    for truth in truths:
        h, w = truth.shape
        k = size / max(w - 1, h - 1)
        matrix = np.array([[k, 0, size / 2 - k * (w - 1) / 2], [0, k, size / 2 - k * (h - 1) / 2]])
        guesses.append(cv2.warpAffine(prior, matrix, (w, h), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP))
    baseline = parsing_scores(zip(guesses, truths, strict=True))
    assert metrics["baseline/miou"] == pytest.approx(baseline["miou"], abs=0.5)
    assert metrics["baseline/macc"] == pytest.approx(baseline["macc"], abs=0.5)
    assert metrics["baseline/miou"] < 50


def test_self_correction_averages_the_model_and_re_estimates_its_batch_norm(roots):
    task = build_task("lip-parsing", roots, finetune_profile("smoke"), SMALL)
    data = task.train_set(seed=0)
    torch.manual_seed(0)
    model = task.build_model(ResNetTrunk("resnet18"))
    with torch.no_grad():
        for parameter in model.schp.parameters():
            parameter.add_(1.0)
    model.cycle_n += 1  # one cycle done: the next averages with α = 1/2
    before = [p.clone() for p in model.schp.parameters()]
    task.self_correct(model, 2, torch.device("cpu"))
    assert int(model.cycle_n) == 2
    for average, old, new in zip(model.schp.parameters(), before, model.network.parameters(), strict=True):
        assert torch.allclose(average, 0.5 * old + 0.5 * new)
    # bn1's running mean: the mean over the batches of conv1's per-channel batch means (epoch 1's crops)
    data.set_epoch(1)
    with torch.no_grad():
        means = [
            model.schp.trunk.conv1(torch.stack([data[i]["image"] for i in range(start, start + 4)])).mean(
                (0, 2, 3)
            )
            for start in (0, 4)
        ]
    assert torch.allclose(model.schp.trunk.bn1.running_mean, torch.stack(means).mean(0), atol=1e-5)


def test_a_fine_tuning_cut_short_resumes_bit_identically(roots, tmp_path):
    # cut at the end of epoch 0, before the self-correction cycle that opens epoch 1
    profile = finetune_profile("smoke")
    lrs = [7e-5] * 2 + [3.5e-3] * 2
    assert_resumes_bit_identically("lip-parsing", roots, SMALL, profile, tmp_path, cut_at=2, lrs=lrs)
    assert trainer.load(tmp_path / "cut" / "checkpoint.pt")["model"]["cycle_n"] == 1


def test_finetune_writes_a_model_the_label_maps_and_the_tables_metrics(roots, tmp_path):
    model = train_task("lip-parsing", roots, "smoke", tmp_path, init=None, changes=SMALL)
    metrics = evaluate_task("lip-parsing", roots, "smoke", model, tmp_path, changes=SMALL)
    assert set(METRICS) | {f"baseline/{name}" for name in METRICS} <= set(metrics)
    assert json.loads((tmp_path / "metrics.json").read_text()) == pytest.approx(metrics)
    assert_samples_reproduce_the_metrics(tmp_path, (*METRICS, "pixel_acc", "iou/Background"))
    from suite.evaluate.parsing import evaluate_files

    assert evaluate_files(tmp_path / "parsing", roots["lip"] / "val_segmentations") == pytest.approx(
        {k: v for k, v in metrics.items() if "/" not in k or k.startswith("iou/")}
    )
    with np.load(tmp_path / "predictions.npz") as predictions:
        assert predictions["confusion"].shape == (20, 20)


def test_real_lip_samples_make_items_and_the_oracle_scores_full_marks(fixtures):
    roots = {"lip": fixtures / "mmsegmentation" / "tests" / "data" / "pseudo_lip_dataset"}
    task = build_task("lip-parsing", roots, finetune_profile("smoke"), {**SMALL, "input_size": 512})
    item = task.train_set(seed=0)[0]  # 154x220 RGB; ids from the folder (no train_id.txt)
    assert item["image"].shape == (3, 512, 512) and set(np.unique(item["label"].numpy())) <= {
        0,
        2,
        5,
        13,
        14,
        15,
        255,
    }
    val = read_split(roots["lip"], "val").samples  # 130x377, a one-channel JPEG
    result = task.evaluate(Oracle(LipDataset(val, task.config, None)), torch.device("cpu"), 1, 0)
    assert result.metrics["pixel_acc"] > 99.0 and result.metrics["macc"] > 6 * 99.0 / 20
