"""Checkpoint files of any trainer: atomic writes, typed reads, and the run folder's latest one.

One file, `checkpoint.pt` in the run's folder, is the latest state; it is replaced atomically
(written under a temporary name, then renamed), so a run killed while saving leaves the previous
checkpoint whole. Each trainer stores a dict of tensors and plain Python values, readable with
torch.load(weights_only=True), tagged with its own "format" and "version".
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from suite.data.images import atomic_write_bytes
from suite.errors import SuiteError

LATEST = "checkpoint.pt"


def save(checkpoint: dict[str, Any], path: str | Path) -> Path:
    """Write a checkpoint atomically: readers see the old file or the new one, never half of one."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    atomic_write_bytes(path, buffer.getvalue())
    return Path(path)


def load(path: str | Path, format: str, version: int) -> dict[str, Any]:
    """A checkpoint of the given format and version, on the CPU; SuiteError naming the file if it is
    missing, unreadable or of another kind."""
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
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != format:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise SuiteError(f"not a {format} checkpoint (format {found!r})", path)
    if checkpoint.get("version") != version:
        raise SuiteError(
            f"{format} checkpoint of version {checkpoint.get('version')!r}; this code reads {version}",
            path,
            fix="use the version of the suite that wrote it",
        )
    return checkpoint


def latest(folder: str | Path) -> Path | None:
    """The run's latest checkpoint, or None if it has none yet."""
    path = Path(folder) / LATEST
    return path if path.is_file() else None


def remove_stale(folder: Path) -> None:
    """Delete the temporary files of a save that was killed half-way."""
    for stale in folder.glob(f".{LATEST}.*.tmp"):
        stale.unlink()
