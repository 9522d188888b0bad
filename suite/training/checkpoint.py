"""Checkpoint files of any trainer: named state, atomic writes, typed reads, resumption.

One file, `checkpoint.pt` in the run's folder, is the latest state; it is replaced atomically
(suite.io: temporary name, fsync, rename), so a run killed while saving leaves the previous
checkpoint whole. A checkpoint is a dict of tensors and plain Python values, readable with
torch.load(weights_only=True), tagged with its stage's "format" and "version", holding the run's
identity (which a resuming run must share: refuse_another_run) and the state_dict() of each named
stateful object (state_of / restore: the model, each optimiser).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from suite.errors import SuiteError
from suite.io import atomic_write_bytes

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


def state_of(objects: Mapping[str, Any]) -> dict[str, Any]:
    """The state_dict() of each named object; a mapping of objects gives a dict of their states."""
    return {
        name: state_of(thing) if isinstance(thing, Mapping) else thing.state_dict()
        for name, thing in objects.items()
    }


def restore(objects: Mapping[str, Any], saved: Mapping[str, Any]) -> None:
    """load_state_dict() each named object from what state_of() saved."""
    for name, thing in objects.items():
        if isinstance(thing, Mapping):
            restore(thing, saved[name])
        else:
            thing.load_state_dict(saved[name])


def resume_from(folder: Path, format: str, version: int, identity: dict[str, Any]) -> dict[str, Any]:
    """The folder's latest checkpoint, which must be of this very run (SuiteError naming the
    differing fields otherwise)."""
    path = latest(folder)
    if path is None:
        raise SuiteError("no checkpoint to resume from", Path(folder) / LATEST, fix="train without resume")
    saved = load(path, format, version)
    refuse_another_run(saved, identity, path)
    return saved


def refuse_another_run(then: dict[str, Any], now: dict[str, Any], path: Path) -> None:
    """SuiteError listing every field where a checkpoint's run identity differs from the resuming run's."""
    differences = [
        f"{key}: checkpoint {_diff(then.get(key), value)[0]}, now {_diff(then.get(key), value)[1]}"
        for key, value in now.items()
        if then.get(key) != value
    ]
    if differences:
        raise SuiteError(
            "the checkpoint is of another run: " + "; ".join(differences),
            path,
            fix="resume with the same settings, seed, data and number of processes, or train in a new folder",
        )


def _diff(then: Any, now: Any) -> tuple[Any, Any]:
    """The differing fields of two dicts, or the two values."""
    if isinstance(then, dict) and isinstance(now, dict):
        keys = [k for k in then.keys() | now.keys() if then.get(k) != now.get(k)]
        return {k: then.get(k) for k in sorted(keys)}, {k: now.get(k) for k in sorted(keys)}
    return then, now
