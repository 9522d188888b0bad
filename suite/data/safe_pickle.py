"""Loading dataset pickles (Human3.6M cameras and annotations, 3DPW sequences, SMPL models) safely.

A pickle can run arbitrary code; these files only ever need numpy arrays, scipy sparse matrices
and Python containers, so only those classes may be built.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from suite.errors import DatasetError

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
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


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_pickle(path: str | Path, fix: str) -> Any:
    """Unpickle a dataset file (latin1, as the Python 2 pickles of 3DPW and SMPL need)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError("file not found", path, fix)
    try:
        with path.open("rb") as handle:
            return _RestrictedUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as error:
        kind = "truncated" if "truncated" in str(error) else "not a plain-data pickle"
        raise DatasetError(f"{kind} ({error})", path, fix) from error
    except (EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as error:
        raise DatasetError(f"pickle is truncated or corrupt ({error})", path, fix) from error
