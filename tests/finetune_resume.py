"""The resume check every fine-tuning task's tests make: a run cut short by max_steps and resumed ends
bit-identical to an uninterrupted one (model, optimiser moments, every RNG state, the log)."""

import json
from pathlib import Path

import pytest
import torch
from test_trainer import assert_identical

from suite.finetune import trainer
from suite.finetune.run import build_task
from suite.models.backbone import ResNetTrunk


def _train(task: str, roots: dict, changes: dict, profile, out: Path, **kwargs) -> Path:
    job = build_task(task, roots, profile, changes)
    torch.manual_seed(0)
    model = job.build_model(ResNetTrunk(profile.arch))
    return trainer.train(job, model, job.train_set(seed=3), profile, out, seed=3, **kwargs)


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def assert_resumes_bit_identically(
    task: str, roots: dict, changes: dict, profile, root: Path, *, cut_at: int, lrs: list[float]
) -> None:
    """Train straight and cut at step `cut_at` then resumed, in `root`; `lrs`: every step's rate."""
    straight, cut = root / "straight", root / "cut"
    _train(task, roots, changes, profile, straight)
    _train(task, roots, changes, profile, cut, max_steps=cut_at)
    assert trainer.load(cut / "checkpoint.pt")["step"] == cut_at
    _train(task, roots, changes, profile, cut, resume=True)
    a, b = trainer.load(straight / "checkpoint.pt"), trainer.load(cut / "checkpoint.pt")
    assert a["step"] == b["step"] == len(lrs)
    assert_identical(a, b)  # the model, the optimiser's moments, every RNG state
    assert _log(cut) == _log(straight)
    assert [line["lr/model"] for line in _log(straight)] == pytest.approx(lrs)
