"""Validation helpers every reader shares: JSON files, required keys, array shapes, folders and images.

Each failure is a DatasetError naming the file, saying what was found where something else was
expected, and carrying the reader's fix.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from suite.data.images import read_image
from suite.errors import DatasetError

CHECK_DECODES = 8  # images a dataset check fully decodes, spread over the set

T = TypeVar("T")


def read_json(path: str | Path, fix: str) -> Any:
    """Parse a JSON file, or raise DatasetError naming it (missing, truncated, not JSON)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, fix)
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"not valid JSON, truncated or corrupt ({error})", path, fix) from error


def describe(value: Any) -> str:
    """What a parsed file holds, for errors that say what was found: a list's length, a dict's keys."""
    if isinstance(value, list):
        return f"a list of {len(value)} entries"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(value)}"
    return type(value).__name__


def require_keys(mapping: Any, keys: Iterable[str], what: str, path: Path, fix: str) -> None:
    """Raise unless `mapping` is a dict holding every key, saying which are missing and which were found."""
    if not isinstance(mapping, Mapping):
        raise DatasetError(f"{what} is a {type(mapping).__name__}, expected a dict", path, fix)
    missing = [key for key in keys if key not in mapping]
    if missing:
        found = sorted(map(str, mapping))
        raise DatasetError(f"{what} lacks {missing} (found keys {found})", path, fix)


def require_array(
    value: Any,
    shape: Sequence[int | None],
    what: str,
    path: Path,
    fix: str,
    dtype: Any = np.float64,
    finite: bool = True,
) -> np.ndarray:
    """`value` as an array of `shape` (None: any size), else a DatasetError saying what shape was found;
    numbers must not be text, and (`finite`) neither NaN nor infinite: the first such index is named."""
    numeric = np.issubdtype(dtype, np.number)
    if numeric and isinstance(value, np.ndarray) and value.dtype.kind in "US":
        raise DatasetError(f"{what} holds text ({value.dtype}), expected numbers", path, fix)
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise DatasetError(f"{what} is not a {np.dtype(dtype).name} array ({error})", path, fix) from error
    if array.ndim != len(shape) or any(
        n is not None and n != m for n, m in zip(shape, array.shape, strict=True)
    ):
        expected = str(tuple("*" if n is None else n for n in shape)).replace("'", "")
        raise DatasetError(f"{what} has shape {array.shape}, expected {expected}", path, fix)
    if finite and numeric:
        require_finite(array, ~np.isfinite(array), what, path, fix)
    return array


def require_finite(array: np.ndarray, bad: np.ndarray, what: str, path: Path, fix: str) -> None:
    """A DatasetError naming the first index where the mask `bad` is set, if any is."""
    if bad.any():
        index = [int(i) for i in np.argwhere(bad)[0]]
        value = array[tuple(index)]
        raise DatasetError(f"{what} holds {value} at index {index}, expected finite numbers", path, fix)


def require_number(value: Any, what: str, path: Path, fix: str, kind: type = float) -> Any:
    """`value` as a finite int or float (`kind`; a whole float is an int), else a DatasetError saying what
    was found."""
    number = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    real = number and isinstance(value, float | np.floating)
    if not number or (real and not (math.isfinite(value) and (kind is float or float(value).is_integer()))):
        expected = "an integer" if kind is int else "a finite number"
        raise DatasetError(f"{what} is {value!r}, expected {expected}", path, fix)
    return kind(value)


def listing(folder: Path, most: int = 8) -> str:
    """What a folder holds, for errors that say what was found instead of the expected layout."""
    if not folder.is_dir():
        return "no such folder"
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    if not names:
        return "an empty folder"
    return ", ".join(names[:most]) + (f", ... ({len(names)} entries)" if len(names) > most else "")


def spread(items: Sequence[T], most: int = CHECK_DECODES) -> list[T]:
    """Up to `most` of the items, evenly spread over them, the first and the last included."""
    indices = np.linspace(0, len(items) - 1, min(most, len(items))).round().astype(int)
    return [items[index] for index in sorted(set(indices.tolist()))]


def verify_images(paths: Iterable[Path], fix: str) -> int:
    """Stat every image and fully decode a few spread over them; returns how many were decoded."""
    unique = sorted(set(paths))
    missing = [path for path in unique if not path.is_file()]
    if missing:
        what = f"image not found ({len(missing)} of {len(unique)} referenced images are missing)"
        raise DatasetError(what, missing[0], fix)
    picks = spread(unique)
    for path in picks:
        read_image(path)
    return len(picks)
