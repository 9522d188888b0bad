"""The store: atomic records, clear errors on corrupt ones, one `run` per work directory at a time."""

import multiprocessing
import socket
import subprocess

import pytest

from suite.errors import SuiteError
from suite.orchestration.store import (
    WorkdirLock,
    add_submission,
    code_changed,
    provenance,
    read_record,
    read_submission,
    run_dir,
    write_record,
)


def test_records_round_trip_and_leave_no_temporary_files(tmp_path):
    write_record(tmp_path, "abc", {"status": "done", "metrics": {"mpjpe": 1.5}})
    assert read_record(tmp_path, "abc") == {"status": "done", "metrics": {"mpjpe": 1.5}}
    assert [p.name for p in run_dir(tmp_path, "abc").iterdir()] == ["record.json"]
    assert read_record(tmp_path, "missing") is None


def test_a_corrupt_record_names_the_file_and_the_fix(tmp_path):
    folder = run_dir(tmp_path, "abc")
    folder.mkdir(parents=True)
    (folder / "record.json").write_text('{"status": "do')
    with pytest.raises(SuiteError, match=r"abc/record\.json: not valid JSON") as error:
        read_record(tmp_path, "abc")
    assert "delete the run's folder" in error.value.fix


def test_submissions_accumulate(tmp_path):
    add_submission(tmp_path, "k", "slurm", "12", tmp_path / "12", tmp_path / "12" / "log.err")
    add_submission(tmp_path, "k", "slurm", "15", tmp_path / "15", tmp_path / "15" / "log.err")
    jobs = read_submission(tmp_path, "k")["jobs"]
    assert [job["job_id"] for job in jobs] == ["12", "15"] and jobs[0]["host"] == socket.gethostname()


def _hold(root, ready, release):
    with WorkdirLock(root):
        ready.set()
        release.wait(30)


def test_a_second_run_on_the_same_workdir_is_refused(tmp_path):
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(tmp_path, ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        with pytest.raises(SuiteError, match=rf"another `suite run`.*pid {holder.pid}"):
            with WorkdirLock(tmp_path):
                pass
    finally:
        release.set()
        holder.join(30)
    with WorkdirLock(tmp_path):  # free again once the holder is gone
        pass


def test_rewritten_tables_are_not_code_changes(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path, check=True)

    for name in ("suite/x.py", "results/table4.md"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("1\n")
    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "c")
    (tmp_path / "results/table4.md").write_text("2\n")
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert not code_changed(tmp_path)
    (tmp_path / "suite/x.py").write_text("2\n")
    assert code_changed(tmp_path)


def test_provenance_names_the_commit_and_versions():
    found = provenance()
    assert len(found["git_commit"] or "0" * 40) == 40
    assert {"torch", "python"} <= set(found["versions"])
