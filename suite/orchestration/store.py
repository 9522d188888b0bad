"""The results store: one folder per run in the work directory, its record, and the work directory's lock.

    <workdir>/runs/<key>/record.json       written by the job: what ran, where, how long, its metrics
    <workdir>/runs/<key>/submission.json   written by `run`: the executor and every job id it submitted
    <workdir>/runs/<key>/...               the run's own files (checkpoints, logs, TensorBoard, outputs)
    <workdir>/submitit/                    submitit's job folders: sbatch scripts, stdout/stderr, pickles
    <workdir>/.lock                        held by a `run` while it launches (and, locally, runs) jobs

Both JSON files are replaced atomically (temporary name, then rename), so a reader never sees half
of one. A record's status is "running", "done" or "failed"; a run is finished only when its record
says "done", which the job writes after its outputs. Deleting a run's folder makes it run again.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from suite.errors import SuiteError
from suite.io import remove_stale_temporaries, write_json

RUNS = "runs"
SUBMITIT = "submitit"
LOCK = ".lock"
RECORD = "record.json"
SUBMISSION = "submission.json"
WORKDIR_ENV = "SUITE_WORKDIR"
RESULTS = Path(__file__).resolve().parents[2] / "results"  # where tables go: the repository's results/
VERSIONED = ("suite", "torch", "torchvision", "numpy", "submitit", "mmpose", "xtcocotools", "pandas")


def workdir(path: str | Path | None = None) -> Path:
    """--workdir, else $SUITE_WORKDIR, else work/ under the current directory."""
    chosen = path or os.environ.get(WORKDIR_ENV) or Path.cwd() / "work"
    return Path(chosen).expanduser().resolve()


def run_dir(root: Path, key: str) -> Path:
    return Path(root) / RUNS / key


def read_json(path: Path) -> dict | None:
    """The JSON object at path, None if there is no file; SuiteError if it does not parse."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise SuiteError(
            f"not valid JSON ({error})", path, "delete the run's folder to run it again"
        ) from error
    if not isinstance(value, dict):
        raise SuiteError("expected a JSON object", path, "delete the run's folder to run it again")
    return value


def read_record(root: Path, key: str) -> dict | None:
    return read_json(run_dir(root, key) / RECORD)


def write_record(root: Path, key: str, record: dict) -> None:
    write_json(run_dir(root, key) / RECORD, record)


def read_submission(root: Path, key: str) -> dict | None:
    return read_json(run_dir(root, key) / SUBMISSION)


def add_submission(root: Path, key: str, executor: str, job_id: str, folder: Path, log: Path) -> dict:
    """Append one submitted job to the run's submission file; returns the updated submission."""
    submission = read_submission(root, key) or {"jobs": []}
    submission["jobs"].append(
        {
            "executor": executor,
            "job_id": str(job_id),
            "folder": str(folder),
            "log": str(log),
            "host": socket.gethostname(),
            "submitted": time.time(),
        }
    )
    write_json(run_dir(root, key) / SUBMISSION, submission)
    return submission


def remove_stale_submissions(root: Path) -> int:
    """Delete the submission temporaries a killed `run` left: only `run` writes submission files, and only
    while it holds the work directory's lock, so for its next holder every one is stale."""
    runs = Path(root) / RUNS
    folders = [folder for folder in runs.iterdir() if folder.is_dir()] if runs.is_dir() else []
    return sum(remove_stale_temporaries(folder, SUBMISSION) for folder in folders)


def provenance() -> dict[str, Any]:
    """What the code was: the git commit of the suite (and whether the tree had changes), versions."""
    source = Path(__file__).resolve().parents[2]
    commit, dirty = None, None
    try:
        commit = _git(source, "rev-parse", "HEAD")
        dirty = code_changed(source)
    except (OSError, subprocess.CalledProcessError):
        pass
    versions = {}
    for package in VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    versions["python"] = platform.python_version()
    return {"git_commit": commit, "git_dirty": dirty, "versions": versions}


def host() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "argv0": sys.argv[0]}


def code_changed(source: Path) -> bool:
    """Whether the checkout at source has uncommitted changes to tracked files, other than the tables
    under results/ that `report` itself rewrites (they say nothing of the code that made a run)."""
    return bool(
        _git(source, "status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){RESULTS.name}")
    )


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
    ).stdout.strip()


class WorkdirLock:
    """An exclusive lock on the work directory, so two `run` commands never launch the same run twice.

    flock(2) on <workdir>/.lock: released when the holder exits, however it exits. The file names
    the holder, for the error the second command prints.
    """

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / LOCK
        self.handle = None

    def __enter__(self) -> WorkdirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SuiteError(
                f"another `suite run` is launching runs in this work directory ({holder})",
                self.path,
                "wait for it to finish (`python -m suite status` shows its progress), or use another "
                "--workdir",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
