"""The trainer in two gloo processes on the CPU: shuffle BN, gathered queues, averaged gradients."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from test_trainer import N_IMAGES, PROFILE, ToyData, ToySampler, toy

from suite.pretrain import checkpoint, trainer

WORLD = 2
STEPS = 3  # of the 4 of epoch 0; global batch 4, 2 images per process


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out: Path) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(WORLD))
    torch.set_num_threads(1)
    trainer._epoch_sampler = ToySampler  # spawned processes do not see the parent's patches
    method = toy(seed=rank)  # different initial weights and queues: the trainer broadcasts rank 0's
    trainer.train(method, ToyData(N_IMAGES), PROFILE, out / "run", seed=3, max_steps=STEPS, device="cpu")
    parameters = {name: p.detach() for name, p in method.named_parameters()}
    queue = {"keys": method.queue.keys, "pointer": method.queue.pointer}
    torch.save({"parameters": parameters, "queue": queue, "seen": method.seen}, out / f"rank{rank}.pt")
    dist.destroy_process_group()


def test_two_processes_stay_in_step(tmp_path):
    mp.spawn(_worker, args=(_free_port(), tmp_path), nprocs=WORLD, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(WORLD)]

    for name, value in ranks[0]["parameters"].items():
        assert torch.equal(value, ranks[1]["parameters"][name]), name
    assert torch.equal(ranks[0]["queue"]["keys"], ranks[1]["queue"]["keys"])
    assert int(ranks[0]["queue"]["pointer"]) == int(ranks[1]["queue"]["pointer"]) == STEPS * 4

    # each step's global batch is the union of the two slices: 4 consecutive items of the epoch's order
    order = ToySampler(N_IMAGES, 1, 0, seed=3).order()
    for step in range(STEPS):
        slices = [set(rank["seen"][step].tolist()) for rank in ranks]
        assert len(slices[0]) == len(slices[1]) == 2 and not slices[0] & slices[1]
        assert slices[0] | slices[1] == set(order[4 * step : 4 * step + 4])

    saved = checkpoint.load(tmp_path / "run" / "checkpoint.pt")
    assert saved["world_size"] == WORLD and len(saved["rng"]) == WORLD
    assert not torch.equal(saved["rng"][0]["torch"], saved["rng"][1]["torch"])  # seeded per rank
    assert torch.equal(saved["model"]["queue.keys"], ranks[0]["queue"]["keys"])
