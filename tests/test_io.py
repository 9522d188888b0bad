"""The one atomic writer: whole files or none, the permissions of an ordinary new file."""

import json
import os
import stat

import pytest

from suite.io import atomic_write_bytes, write_json


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
