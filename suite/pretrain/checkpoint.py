"""The pre-training trainer's checkpoints: their content, and the backbone for export.

Files are written by the training loop (suite.training.loop.fit: atomic, `checkpoint.pt` in the
run's folder). The content (a dict of tensors and plain Python values, readable with
torch.load(weights_only=True)):

    format "suite-pretrain", version 1, method   what it is (suite.checkpoints.importers reads it)
    step, epoch, position, total_steps           steps done; the epoch and the batches done in it
    config, profile, seed, world_size,           the run's identity, compared on resume: the method's
    steps_per_epoch                              Config and the PretrainProfile (less its workers and
                                                 checkpoint interval) as dicts
    model                                        method.state_dict(): encoders, queues, pointers, D...
    optimizers                                   {group: optimizer.state_dict()} for every stepper
    rng                                          [one entry per rank]: torch, cuda, numpy, python states
    backbone                                     the learned backbone under torchvision ResNet names
                                                 (conv1 ... layer4, no fc), for export and stage II
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import Tensor

from suite.checkpoints.formats import PRETRAIN_FORMAT, PRETRAIN_VERSION
from suite.errors import SuiteError
from suite.training import checkpoint as checkpoint_file

LATEST = checkpoint_file.LATEST
save = checkpoint_file.save
latest = checkpoint_file.latest


def load(path: str | Path) -> dict[str, Any]:
    """A checkpoint of ours, on the CPU; SuiteError naming the file if it is unreadable or foreign."""
    return checkpoint_file.load(path, PRETRAIN_FORMAT, PRETRAIN_VERSION)


def read_backbone(path: str | Path) -> dict[str, Tensor]:
    """The learned backbone of one of our checkpoints, under torchvision ResNet names (no fc)."""
    checkpoint = load(path)
    backbone = checkpoint.get("backbone")
    if not isinstance(backbone, dict) or "conv1.weight" not in backbone:
        raise SuiteError("the checkpoint holds no backbone under torchvision names", path)
    return backbone
