"""SIGKILL at a spread of points, then the same command again: the same bytes as a run never stopped.

Table 4 at the smoke profile with the local executor runs twice: once straight through, and once
killed (the orchestrator and every job it started, as a lost node kills them) at each kind of point
in turn, SynthHuman being written, crops being cut, a pre-training before and after its first
checkpoint, a fine-tuning after its first checkpoint, an evaluation, and the report once every run
is done; each time the same command is given again. The killed work directory must end with the
same bytes in every file a later step or a user reads, no half-written file, and the same table.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e import records, suite

from suite.orchestration.store import RUNS

pytestmark = pytest.mark.slow

# What records the runs' history, not their results: attempts, job ids, times, TensorBoard events.
HISTORY = {"record.json", "submission.json", "log.jsonl"}


def _checkpointed(workdir: Path, key: str) -> bool:
    return (workdir / RUNS / key / "checkpoint.pt").exists()


# (name, condition on the work directory and its records) in the order a table's runs reach them
KILL_POINTS = (
    ("synth", lambda w, found: _running(found, "synth")),
    ("crops", lambda w, found: _running(found, "crops")),
    (
        "pretrain before its first checkpoint",
        lambda w, found: any(not _checkpointed(w, key) for key in _running(found, "pretrain")),
    ),
    (
        "pretrain after a checkpoint",
        lambda w, found: any(_checkpointed(w, key) for key in _running(found, "pretrain")),
    ),
    (
        "finetune after a checkpoint",
        lambda w, found: any(_checkpointed(w, key) for key in _running(found, "finetune")),
    ),
    ("evaluate", lambda w, found: _running(found, "evaluate")),
    ("report", lambda w, found: bool(found) and all(r["status"] == "done" for r in found.values())),
)


def _running(found: dict[str, dict], kind: str) -> list[str]:
    return [key for key, record in found.items() if record["kind"] == kind and record["status"] == "running"]


def _command(workdir: Path, results: Path) -> list[str]:
    return [
        *suite("run", "--table", "4", workdir=workdir),
        *("--executor", "local", "--poll", "0.1", "--results", str(results)),
    ]


def _kill_when(command: list[str], workdir: Path, condition) -> bool:
    """Start `command` in its own process group; SIGKILL the group once `condition` holds. False when the
    command finished first."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.time() + 600
    try:
        while process.poll() is None and time.time() < deadline:
            if condition(workdir, records(workdir)):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(60)
                return True
            time.sleep(0.02)
        return False
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(60)


def _contents(workdir: Path) -> dict[str, bytes]:
    """Every file of every run that steps or users read, by its path under runs/."""
    found = {}
    for path in sorted((workdir / RUNS).rglob("*")):
        if path.is_file() and path.name not in HISTORY and "tensorboard" not in path.parts:
            found[str(path.relative_to(workdir / RUNS))] = path.read_bytes()
    return found


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder whose work/ and results/ the killed run uses, holding straight/ and straight-results/,
    what the same command left there when never stopped (files name their inputs by absolute path, so
    both runs use the same one). Deleted after the module (1.5 GB), as a passing test's tmp_path is."""
    root = tmp_path_factory.mktemp("kill")
    done = subprocess.run(
        _command(root / "work", root / "results"), capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (root / "work").rename(root / "straight")
    (root / "results").rename(root / "straight-results")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_killed_at_every_kind_of_point_a_rerun_ends_with_the_same_bytes(root):
    workdir, results = root / "work", root / "results"
    command = _command(workdir, results)
    hit = [name for name, condition in KILL_POINTS if _kill_when(command, workdir, condition)]
    # every kind of point but the report lies before the table's end; the report's may come too late
    assert [name for name, _ in KILL_POINTS[:-1]] == hit[: len(KILL_POINTS) - 1], hit
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    expected, found = _contents(root / "straight"), _contents(workdir)
    assert not [name for name in found if name.endswith(".tmp")], "a half-written file was left"
    assert sorted(found) == sorted(expected)
    assert [name for name in expected if found[name] != expected[name]] == []
    for name in ("table4.csv", "table4.md"):
        assert (results / name).read_bytes() == (root / "straight-results" / name).read_bytes(), name
