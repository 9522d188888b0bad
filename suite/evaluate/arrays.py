"""The arrays `eval` reads from the user's files: loaded without pickles, numeric and finite, or a
SuiteError naming the file (and, for NaN or infinity, the first index that holds one)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from suite.errors import SuiteError


def load_npy(path: str | Path, fix: str) -> np.ndarray:
    """One array from an .npy file; a missing, truncated, pickled or .npz file is an error naming it."""
    path = Path(path)
    if not path.is_file():
        raise SuiteError("is a folder, not an .npy file" if path.is_dir() else "file not found", path, fix)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise SuiteError(
            f"not a readable .npy array ({str(error) or type(error).__name__})", path, fix
        ) from error
    if not isinstance(array, np.ndarray):
        array.close()
        raise SuiteError("is an .npz archive, expected one .npy array", path, fix)
    return array


def finite_numbers(array: np.ndarray, path: str | Path, fix: str, what: str = "") -> np.ndarray:
    """`array` as float64 if it holds finite integers or floats; `what` names the array in the file."""
    where = f"{what} " if what else ""
    if array.dtype.kind not in "iuf":
        raise SuiteError(f"{where}holds {array.dtype} values, expected numbers", path, fix)
    array = array.astype(np.float64)
    bad = np.argwhere(~np.isfinite(array))
    if len(bad):
        index = [int(i) for i in bad[0]]
        value = array[tuple(index)]
        raise SuiteError(
            f"{where}holds {value} at index {index} ({len(bad)} values are not finite numbers)", path, fix
        )
    return array
