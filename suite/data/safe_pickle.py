"""Loading dataset files without running foreign code: pickles, npz archives and npy arrays.

A pickle can run arbitrary code. The pickles (Human3.6M cameras and annotations, 3DPW sequences,
SMPL models) only ever need numpy arrays, scipy sparse matrices and Python containers, and the
object arrays of an npz (mmhuman3d's HumanData) only numpy arrays, so only those classes may be built.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import numpy as np

from suite.errors import DatasetError

_NUMPY = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
    }
)
_PLAIN_DATA = _NUMPY | {
    ("scipy.sparse.csc", "csc_matrix"),
    ("scipy.sparse._csc", "csc_matrix"),
    ("scipy.sparse.csr", "csr_matrix"),
    ("scipy.sparse._csr", "csr_matrix"),
    ("collections", "OrderedDict"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("builtins", "complex"),
    ("_codecs", "encode"),  # how Python 3 writes bytes in protocol-2 pickles
}
_HEADER_READERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds only the allowed classes, latin1-decoding Python 2 strings as numpy and SMPL files need."""

    def __init__(self, file: IO[bytes], allowed: frozenset[tuple[str, str]]):
        super().__init__(file, encoding="latin1")
        self.allowed = allowed

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_pickle(path: str | Path, fix: str) -> Any:
    """Unpickle a dataset file (latin1, as the Python 2 pickles of 3DPW and SMPL need)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, fix)
    try:
        with path.open("rb") as handle:
            return _RestrictedUnpickler(handle, _PLAIN_DATA).load()
    except pickle.UnpicklingError as error:
        kind = "truncated" if "truncated" in str(error) else "not a plain-data pickle"
        raise DatasetError(f"{kind} ({error})", path, fix) from error
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as error:
        raise DatasetError(f"pickle is truncated or corrupt ({error})", path, fix) from error


def load_npz(path: str | Path, fix: str) -> dict[str, np.ndarray]:
    """Every array of an npz. Object arrays are unpickled allowing only numpy arrays and containers."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, fix)
    try:
        with zipfile.ZipFile(path) as archive:
            return {name.removesuffix(".npy"): _read_member(archive, name) for name in archive.namelist()}
    except pickle.UnpicklingError as error:
        raise DatasetError(f"an object array holds more than numpy data ({error})", path, fix) from error
    except (zipfile.BadZipFile, ValueError, EOFError, OSError, KeyError, AttributeError) as error:
        raise DatasetError(f"npz is truncated or corrupt ({error})", path, fix) from error


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    with archive.open(name) as member:
        version = np.lib.format.read_magic(member)
        shape, _, dtype = _HEADER_READERS[version](member)
        if not dtype.hasobject:
            member.seek(0)
            return np.lib.format.read_array(member, allow_pickle=False)
        array = _RestrictedUnpickler(member, _NUMPY).load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"{name} does not hold the {shape} array its header announces")
    return array


def load_npy(path: str | Path, fix: str) -> np.ndarray:
    """A plain numeric .npy array; one holding objects (a pickle) is refused unread."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, fix)
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(f"not a plain numeric .npy array ({error})", path, fix) from error
