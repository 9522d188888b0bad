"""The trainer's checkpoints on disk: atomic writes, the latest one, and the backbone for export.

One file, `checkpoint.pt` in the run's folder, is the latest state; it is replaced atomically
(written under a temporary name, then renamed), so a run killed while saving leaves the previous
checkpoint whole. Its content (a dict of tensors and plain Python values, readable with
torch.load(weights_only=True)):

    format "suite-pretrain", version 1, method   what it is (suite.baselines.importers reads it)
    step, epoch, position, total_steps           steps done; the epoch and the batches done in it
    seed, world_size, profile, config            the run's identity: PretrainProfile and the method's
                                                 Config as dicts, compared on resume
    model                                        method.state_dict(): encoders, queues, pointers, D...
    optimizers                                   {group: optimizer.state_dict()} for every stepper
    rng                                          [one entry per rank]: torch, cuda, numpy, python states
    backbone                                     the learned backbone under torchvision ResNet names
                                                 (conv1 ... layer4, no fc), for export and stage II
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from suite.data.images import atomic_write_bytes
from suite.errors import SuiteError

FORMAT = "suite-pretrain"
VERSION = 1
LATEST = "checkpoint.pt"


def save(checkpoint: dict[str, Any], path: str | Path) -> Path:
    """Write a checkpoint atomically: readers see the old file or the new one, never half of one."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def load(path: str | Path) -> dict[str, Any]:
    """A checkpoint of ours, on the CPU; SuiteError naming the file if it is unreadable or foreign."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError("checkpoint file not found", path, fix="check the path, or train without resume")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise SuiteError(
            f"cannot be read as a checkpoint, it is truncated or corrupt ({type(error).__name__}: "
            f"{str(error)[:200]})",
            path,
            fix="delete it to start the run over, or restore it from a copy",
        ) from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise SuiteError(f"not a {FORMAT} checkpoint (format {found!r})", path)
    if checkpoint.get("version") != VERSION:
        raise SuiteError(
            f"{FORMAT} checkpoint of version {checkpoint.get('version')!r}; this code reads {VERSION}",
            path,
            fix="use the version of the suite that wrote it",
        )
    return checkpoint


def latest(folder: str | Path) -> Path | None:
    """The run's latest checkpoint, or None if it has none yet."""
    path = Path(folder) / LATEST
    return path if path.is_file() else None


def read_backbone(path: str | Path) -> dict[str, Tensor]:
    """The learned backbone of one of our checkpoints, under torchvision ResNet names (no fc)."""
    checkpoint = load(path)
    backbone = checkpoint.get("backbone")
    if not isinstance(backbone, dict) or "conv1.weight" not in backbone:
        raise SuiteError("the checkpoint holds no backbone under torchvision names", path)
    return backbone
