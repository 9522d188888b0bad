"""Real methods in two gloo processes: shuffle BN, gathered keys and averaged gradients (the
discriminator's too) keep both processes' weights and queues identical."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from suite.data.pretrain_data import pretrain_dataset
from suite.data.synth import generic
from suite.data.views import TwoViewAugment, augment_options
from suite.pretrain.run import build_method
from suite.pretrain.trainer import train
from suite.profiles import PRETRAIN_PROFILES

WORLD = 2
QUEUE = 16
PROFILE = replace(
    PRETRAIN_PROFILES["demo"],
    image_size=32,
    batch_size=4,
    epochs=1,
    method_overrides={"*": {"queue_size": QUEUE}},
)
STEPS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, name: str, images: Path, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    torch.manual_seed(rank)  # different initial weights: the trainer must broadcast rank 0's
    method = build_method(name, PROFILE)
    data = pretrain_dataset(images, TwoViewAugment(augment_options(method.augmentation, 32)), seed=0)
    train(method, data, PROFILE, out / "run", seed=0, max_steps=STEPS, device="cpu")
    torch.save(method.state_dict(), out / f"rank{rank}.pt")
    dist.destroy_process_group()


@pytest.mark.parametrize("name", ["moco-v2", "liftedcl"])
def test_two_processes_hold_identical_models_and_queues(name, tmp_path):
    generic.write(tmp_path / "images", 16, np.random.default_rng(0))
    mp.spawn(_worker, args=(_free_port(), name, tmp_path / "images", tmp_path), nprocs=WORLD, join=True)
    states = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(WORLD)]
    queues = [key for key in states[0] if key.endswith("keys")]
    pointers = [int(states[0][key.replace("keys", "pointer")]) for key in queues]
    assert queues and pointers == [STEPS * PROFILE.batch_size % QUEUE] * len(queues)
    differing = [
        key
        for key, value in states[0].items()
        if value.is_floating_point() and "running" not in key and not torch.equal(value, states[1][key])
    ]
    assert differing == []  # BatchNorm running statistics are per process, as in MoCo
