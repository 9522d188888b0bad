"""What a writer killed between creating its temporary and renaming it leaves behind."""

import os
from pathlib import Path

from suite.io import open_temporary


def killed_write(path: Path) -> Path:
    """The temporary a writer of `path` killed half-way leaves (empty, under open_temporary's name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = open_temporary(path)
    os.close(fd)
    return Path(name)
