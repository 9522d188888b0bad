"""Export any supported checkpoint as a torchvision or an mmpose backbone file (`suite export`).

torchvision  a bare state dict with torchvision ResNet names and no fc:
                 torchvision.models.resnet50().load_state_dict(torch.load(FILE), strict=False)
             misses exactly fc.weight and fc.bias.
mmpose       {"state_dict": {"backbone.<torchvision name>": tensor}, "meta": {...}}: the layout of a
             full mmpose model checkpoint, read by mmengine's load_checkpoint, which takes
             checkpoint["state_dict"]. mmpose's ResNet uses torchvision's parameter names
             (conv1, bn1, layer1..4, downsample.0/1). Use it in a config as either
                 model.backbone.init_cfg = dict(type="Pretrained", prefix="backbone.", checkpoint=FILE)
             (PretrainedInit keeps the keys under the prefix and strips it), or
                 load_from = FILE
             (the whole pose model; the head stays at its initialisation). Beware:
             init_cfg=dict(type="Pretrained", checkpoint=FILE) WITHOUT prefix, as mmpose's ResNet configs
             write it for torchvision://resnet50, matches no key of this file and leaves the backbone
             random with only a warning; use --to torchvision for that form.

Files are written atomically (suite.io: a temporary file beside the target, fsync, rename).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from suite.checkpoints.formats import TARGETS
from suite.checkpoints.importers import LoadReport, import_backbone
from suite.errors import SuiteError
from suite.io import atomic_write_bytes

MMPOSE_PREFIX = "backbone."


def export(
    checkpoint: str | Path,
    to: str,
    out: str | Path,
    *,
    expected_format: str | None = None,
    trust: bool = False,
) -> LoadReport:
    """Import `checkpoint` (any supported format), write its backbone for `to` at `out`; return the report."""
    checkpoint, out = Path(checkpoint), Path(out)
    if to not in TARGETS:
        raise SuiteError(f"unknown export target {to!r}", fix=f"use one of {', '.join(TARGETS)}")
    if out.exists() and out.resolve() == checkpoint.resolve():
        raise SuiteError(
            "the output would overwrite the checkpoint being exported", out, fix="choose another --out"
        )
    if out.is_dir():
        raise SuiteError("the output is a directory", out, fix="name a file, e.g. backbone.pth")
    state, report = import_backbone(checkpoint, expected_format=expected_format, trust=trust)
    state = {key: value.detach().clone() for key, value in state.items()}  # no shared storages saved
    if to == "torchvision":
        payload: Any = state
    else:
        meta = {
            "exported_by": "suite",
            "source": str(checkpoint),
            "format": report.format,
            "arch": report.arch,
        }
        payload = {"state_dict": {MMPOSE_PREFIX + key: value for key, value in state.items()}, "meta": meta}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write_bytes(out, buffer.getvalue())
    return report
