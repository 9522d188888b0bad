"""The one error type users see: what went wrong, in which file, and how to fix it."""

from __future__ import annotations

from pathlib import Path


class SuiteError(Exception):
    """A problem with the user's input, reported without a traceback by the command line."""

    def __init__(self, what: str, path: str | Path | None = None, fix: str | None = None):
        self.what = what
        self.path = None if path is None else Path(path)
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = self.what if self.path is None else f"{self.path}: {self.what}"
        return text if self.fix is None else f"{text}\n  fix: {self.fix}"


class DatasetError(SuiteError):
    """A dataset file is missing, in the wrong layout, truncated or malformed."""
