"""Tables 1, 2 and 3 (2D pose on COCO, MPII and Human3.6M) end to end with the local executor.

They run in the work directory of Table 4's end-to-end run (tests/conftest.py `local_table4`), so the
pre-trainings the tables share are not redone: only each table's fine-tunings and tests run. This file
sorts after tests/test_run_table.py, whose checks count the runs of that work directory.
"""

import math
import subprocess

import pandas as pd
import pytest
from e2e import records, submissions, suite

pytestmark = pytest.mark.slow

COLUMNS = {
    1: ("mAP", "AP50", "AP75", "APM", "APL", "AR"),
    2: ("Hea", "Sho", "Elb", "Wri", "Hip", "Kne", "Ank", "Total"),
    3: ("root", "rhip", "Total"),
}
RESIM = "ReSim-C4 IN"


@pytest.fixture(scope="module")
def tables(local_table4):
    workdir, results, _, _ = local_table4
    pretrainings = {key for key, r in records(workdir).items() if r["kind"] == "pretrain"}
    for number in COLUMNS:
        command = [*suite("run", "--table", str(number), workdir=workdir), "--executor", "local"]
        done = subprocess.run(
            [*command, "--poll", "0.2", "--results", str(results)],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return workdir, results, pretrainings


def test_every_row_and_column_has_its_number(tables):
    workdir, results, _ = tables
    found = records(workdir)
    for number, columns in COLUMNS.items():
        frame = pd.read_csv(results / f"table{number}.csv")
        assert tuple(dict.fromkeys(frame.column)) == columns
        for line in frame.itertuples():
            if line.row == RESIM:
                assert line.status == "unavailable"
                continue
            assert line.status == "done" and math.isfinite(line.mean), (number, line.row, line.column)
            record = found[line.evaluations]
            assert record["kind"] == "evaluate" and record["status"] == "done"
        markdown = (results / f"table{number}.md").read_text()
        assert all(f"| {column}" in markdown or f"{column} |" in markdown for column in columns)
        assert "baseline" in markdown.lower()  # the footnote's trivial baseline
        assert (results / f"table{number}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_tables_reuse_table_4s_pre_trainings(tables):
    workdir, _, before = tables
    after = {key for key, r in records(workdir).items() if r["kind"] == "pretrain"}
    # the 2D tables add one pre-training, Table 1 and 2's "Ours*" (LiftedCL on crops from PixPro IN)
    assert before < after and len(after - before) == 1


def test_running_again_launches_nothing(tables):
    workdir, results, _ = tables
    submitted, listed = submissions(workdir), records(workdir)
    for number in COLUMNS:
        command = [*suite("run", "--table", str(number), workdir=workdir), "--executor", "local"]
        again = subprocess.run(
            [*command, "--results", str(results)], capture_output=True, text=True, timeout=300
        )
        assert again.returncode == 0, again.stderr[-2000:]
    assert submissions(workdir) == submitted and records(workdir) == listed
