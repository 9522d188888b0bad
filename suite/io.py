"""The one way the suite writes a file that another step reads: whole, or not at all.

atomic_write_bytes writes to a temporary name beside the target, flushes and fsyncs it, gives it the
permissions of an ordinary new file (0666 less the umask, so a lab's shared work directory stays
group-readable: mkstemp alone would leave 0600), then renames it over the target. A reader sees the
old file or the new one, never half of one; a crash leaves at most a `.NAME.*.tmp` beside it, which
remove_stale_temporaries deletes once its writer is known to be gone (the next attempt of a run, the
next holder of the work directory's lock).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` atomically (temporary name, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = open_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_temporary(path: Path) -> tuple[int, str]:
    """A new temporary file beside `path`, `.NAME.<random>.tmp` (temporary_pattern): its descriptor, name."""
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def temporary_pattern(name: str = "*") -> str:
    """The glob of open_temporary's files for a file `name` ("*": of any file)."""
    return f".{name}.*.tmp"


def remove_stale_temporaries(
    folder: str | Path, name: str = "*", *, recursive: bool = False, keep: tuple[str, ...] = ()
) -> int:
    """Delete the temporaries that killed writers of `name` ("*": any file) left in `folder` (and, with
    recursive, below it), except those of the files named in `keep`; only for files no live process
    writes. Returns how many were deleted."""
    folder = Path(folder)
    found = folder.rglob(temporary_pattern(name)) if recursive else folder.glob(temporary_pattern(name))
    kept = [temporary_pattern(other) for other in keep]
    stale = [path for path in found if path.is_file() and not any(path.match(k) for k in kept)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def write_json(path: str | Path, value: Any) -> None:
    """A JSON object, indented and with sorted keys, written atomically."""
    text = json.dumps(value, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(path, text.encode())
