"""The fine-tuning trainer on h36m-3d at 32 px: bit-identical resumption after a kill, the per-epoch
learning-rate steps, NaN stops, and two gloo processes that stay in step."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_trainer import assert_identical

from suite.data.synth import h36m, mpii
from suite.errors import SuiteError
from suite.finetune import trainer
from suite.finetune.h36m_3d import Human36m3d
from suite.finetune.run import build_task
from suite.models.backbone import ResNetTrunk
from suite.profiles import finetune_profile

# 8 Human3.6M frames + 8 MPII draws, global batch 4: 4 steps per epoch, 2 epochs, lr x0.1 from epoch 1
CHANGES = {"input_size": 32, "batch_size": 4, "epochs": 2, "milestones": (1,)}
PROFILE = replace(finetune_profile("demo"), checkpoint_every=3)
STEPS = 8
HOOKS: dict[str, int | None] = {"raise_at": None, "nan_at": None, "calls": 0}


class Killed(RuntimeError):
    """Stands for a job killed in the middle of a step."""


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("synth")
    h36m.write(root / "h36m", 8, np.random.default_rng(0))
    mpii.write(root / "mpii", 8, np.random.default_rng(1))
    return {"h36m": root / "h36m", "mpii": root / "mpii"}


@pytest.fixture(autouse=True)
def _hooked_loss(monkeypatch):
    original = Human36m3d.loss

    def loss(self, model, batch):
        HOOKS["calls"] += 1
        if HOOKS["raise_at"] == HOOKS["calls"]:
            raise Killed(f"killed in step {HOOKS['calls']}")
        value, logs = original(self, model, batch)
        if HOOKS["nan_at"] == HOOKS["calls"]:
            value = value * float("nan")
            logs = {**logs, "loss": value.detach()}
        return value, logs

    monkeypatch.setattr(Human36m3d, "loss", loss)
    HOOKS.update(raise_at=None, nan_at=None, calls=0)


def run(roots: dict[str, Path], out: Path, **kwargs) -> Path:
    HOOKS["calls"] = 0
    job = build_task("h36m-3d", roots, PROFILE, CHANGES)
    torch.manual_seed(0)
    model = job.build_model(ResNetTrunk(PROFILE.arch))
    return trainer.train(job, model, job.train_set(seed=3), PROFILE, out, seed=3, **kwargs)


def log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def straight(roots, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("straight")
    run(roots, out)
    return out


def test_a_run_killed_mid_step_resumes_bit_identically(roots, straight, tmp_path):
    HOOKS["raise_at"] = 6  # dies in step 6; the last checkpoint holds step 3, mid-epoch 0
    with pytest.raises(Killed):
        run(roots, tmp_path)
    assert trainer.load(tmp_path / "checkpoint.pt")["step"] == 3
    HOOKS["raise_at"] = None
    run(roots, tmp_path, resume=True)
    a, b = trainer.load(straight / "checkpoint.pt"), trainer.load(tmp_path / "checkpoint.pt")
    assert a["step"] == b["step"] == STEPS
    assert_identical(a, b)  # the model, Adam's moments, every RNG state
    assert log(tmp_path) == log(straight)


def test_learning_rate_drops_at_the_milestone_epoch(straight):
    assert [line["lr/model"] for line in log(straight)] == pytest.approx([1e-3] * 4 + [1e-4] * 4, rel=1e-12)
    saved = trainer.load(straight / "checkpoint.pt")
    assert (saved["task"], saved["arch"], saved["config"]["input_size"]) == ("h36m-3d", "resnet18", 32)


def test_resume_refuses_another_run(roots, straight):
    job = build_task("h36m-3d", roots, PROFILE, {**CHANGES, "lr": 2e-3})
    model = job.build_model(ResNetTrunk(PROFILE.arch))
    with pytest.raises(
        SuiteError, match=r"another run: config: checkpoint \{'lr': 0.001\}, now \{'lr': 0.002\}"
    ):
        trainer.train(job, model, job.train_set(seed=3), PROFILE, straight, seed=3, resume=True)


def test_nan_loss_stops_with_the_step_and_keeps_the_last_checkpoint(roots, tmp_path):
    HOOKS["nan_at"] = 5
    with pytest.raises(SuiteError, match=r"not finite at step 5 \(epoch 1\): loss=nan") as error:
        run(roots, tmp_path)
    assert "holds step 3" in str(error.value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, roots: dict[str, Path], out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    job = build_task("h36m-3d", roots, PROFILE, CHANGES)
    torch.manual_seed(rank)  # different initial weights: the trainer must broadcast rank 0's
    model = job.build_model(ResNetTrunk(PROFILE.arch))
    trainer.train(job, model, job.train_set(seed=3), PROFILE, out / "run", seed=3, max_steps=2, device="cpu")
    torch.save(model.state_dict(), out / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_two_processes_hold_identical_weights(roots, tmp_path):
    mp.spawn(_worker, args=(_free_port(), roots, tmp_path), nprocs=2, join=True)
    states = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]
    differing = [
        key
        for key, value in states[0].items()
        if value.is_floating_point() and "running" not in key and not torch.equal(value, states[1][key])
    ]
    assert differing == []  # BatchNorm running statistics are per process, as in RLE's DDP
    saved = trainer.load(tmp_path / "run" / "checkpoint.pt")
    assert saved["world_size"] == 2 and len(saved["rng"]) == 2 and saved["step"] == 2
