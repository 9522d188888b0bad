"""The state of a training process beyond its weights: seeds and every rank's RNG states.

A checkpoint holds every rank's RNG states (torch, CUDA, numpy, python), gathered to rank 0, so a
resumed run draws exactly what the uninterrupted run would have drawn. Parameters start equal on
every process by a broadcast from rank 0 (there is no DDP wrapper: the steppers average gradients).
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from suite.training.process import Process


def seed_everything(seed: int, rank: int) -> None:
    """Seed torch, numpy and python's global RNGs from (seed, rank)."""
    value = int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])
    torch.manual_seed(value)
    np.random.seed(value)  # noqa: NPY002  (the global state is what a checkpoint keeps)
    random.seed(value)


@torch.no_grad()
def broadcast(module: nn.Module) -> None:
    """Every process starts from rank 0's parameters and buffers."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            dist.broadcast(tensor.data, src=0)


def rng_state(device: torch.device) -> dict[str, Any]:
    """This process's RNG states as tensors and plain values (torch.load(weights_only=True) reads them)."""
    _, keys, position, has_gauss, gauss = np.random.get_state()  # noqa: NPY002
    version, internal, python_gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {"version": version, "state": list(internal), "gauss": python_gauss},
    }


def set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] is not None and device.type == "cuda":
        torch.cuda.set_rng_state(state["cuda"], device)
    numpy = state["numpy"]
    keys = numpy["keys"].numpy().astype(np.uint32)
    state_tuple = ("MT19937", keys, numpy["position"], numpy["has_gauss"], numpy["gauss"])
    np.random.set_state(state_tuple)  # noqa: NPY002
    python = state["python"]
    random.setstate((python["version"], tuple(python["state"]), python["gauss"]))


def all_rng_states(process: Process) -> list[dict[str, Any]]:
    """Every rank's RNG states, in rank order (a collective: every rank calls it)."""
    state = rng_state(process.device)
    if process.world_size == 1:
        return [state]
    states: list[Any] = [None] * process.world_size
    dist.all_gather_object(states, state)
    return [{k: v.cpu() if isinstance(v, Tensor) else v for k, v in s.items()} for s in states]
