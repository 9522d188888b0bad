"""The one atomic writer: whole files or none, the permissions of an ordinary new file."""

import json
import os
import stat

import pytest
from killed_write import killed_write

from suite.io import atomic_write_bytes, remove_stale_temporaries, write_json


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_a_written_file_has_the_permissions_the_umask_gives_a_new_file(tmp_path, umask):
    previous = os.umask(umask)
    try:
        atomic_write_bytes(tmp_path / "a" / "file.bin", b"data")
        with open(tmp_path / "plain", "wb") as handle:  # what open() gives, for comparison
            handle.write(b"data")
    finally:
        os.umask(previous)
    mode = stat.S_IMODE((tmp_path / "a" / "file.bin").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "plain").stat().st_mode) == 0o666 & ~umask
    assert (tmp_path / "a" / "file.bin").read_bytes() == b"data"


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    write_json(target, {"status": "done"})

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_json(target, {"status": "running"})
    assert json.loads(target.read_text()) == {"status": "done"}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_stale_temporaries_are_removed_by_name_depth_and_keep(tmp_path):
    write_json(tmp_path / "record.json", {"status": "done"})
    (tmp_path / ".hidden.tmp").write_text("a user's file, not a temporary of ours")
    record = killed_write(tmp_path / "record.json")
    submission = killed_write(tmp_path / "submission.json")
    nested = killed_write(tmp_path / "images" / "0001.jpg")
    assert remove_stale_temporaries(tmp_path, "record.json") == 1 and not record.exists()
    assert remove_stale_temporaries(tmp_path, keep=("submission.json",)) == 0 and submission.exists()
    assert remove_stale_temporaries(tmp_path, recursive=True, keep=("submission.json",)) == 1
    assert not nested.exists() and submission.exists()
    assert remove_stale_temporaries(tmp_path) == 1 and not submission.exists()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [".hidden.tmp", "record.json"]
