"""`python -m suite run --table 4` end to end on this machine, with the local executor.

The smoke profile runs the demo's code paths with the least work (a minute or two); the session's
one table is killed half-way and run again, then the tests look at what that left.
"""

import json
import os
import subprocess

import pandas as pd
import pytest
from e2e import PLANNED, TOY_METHOD, records, submissions, suite

from suite.orchestration.store import RUNS

pytestmark = pytest.mark.slow


def test_a_stopped_run_redoes_no_finished_run_and_completes(local_table4):
    workdir, _, before, second = local_table4
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    after = records(workdir)
    assert len(after) == PLANNED and all(r["status"] == "done" for r in after.values())
    for key, record in before.items():
        if record["status"] == "done":
            assert after[key]["attempts"] == record["attempts"], record["label"]
    # what was under way when the run stopped went on from its last checkpoint in a second attempt
    stopped = [key for key, r in before.items() if r["status"] in ("running", "interrupted")]
    assert stopped
    for key in stopped:
        outcomes = [attempt["outcome"] for attempt in after[key]["attempts"]]
        assert outcomes == ["interrupted", "done"], after[key]["label"]
    resumed = [key for key in stopped if after[key]["kind"] == "pretrain"]
    assert resumed
    for key in resumed:
        log = (workdir / RUNS / key / "log.jsonl").read_text().splitlines()
        steps = [json.loads(line)["step"] for line in log]
        assert steps == list(range(1, len(steps) + 1))  # each step once: it resumed, not restarted


def test_the_table_holds_every_number_of_the_records(local_table4):
    workdir, results, _, _ = local_table4
    frame = pd.read_csv(results / "table4.csv")
    found = records(workdir)
    for line in frame.itertuples():
        if line.row == "ReSim-C4 IN":
            assert line.status == "unavailable" and line.seeds == 0
            continue
        metric = {"MPJPE": "mpjpe", "PA-MPJPE": "pa_mpjpe"}[line.column]
        assert line.status == "done"
        assert line.mean == pytest.approx(found[line.evaluations]["metrics"][metric])
        assert line.evaluations in line.runs.split()
    markdown = (results / "table4.md").read_text()
    ours = frame[(frame.row == "Ours IN+CC") & (frame.column == "MPJPE")].iloc[0]["mean"]
    reference = frame[(frame.row == "Super. IN") & (frame.column == "MPJPE")].iloc[0]["mean"]
    assert f"| Ours IN+CC    | {ours:.1f} ({ours - reference:+.1f})" in markdown
    assert "56.9 (-3.1)" in markdown and "n/a [1]" in markdown and "ReSim has no implementation" in markdown
    # every evaluation kept its samples: each row has its difference to Super. IN with an interval
    compared = frame[(frame.row != "Super. IN") & (frame.status == "done")]
    assert len(compared) and (compared.diff_low <= compared.diff_high).all()
    assert (
        set(compared.verdict) <= {"better", "worse", "within noise"} and "No significance for" not in markdown
    )
    assert (results / "table4.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_running_again_launches_nothing(local_table4):
    workdir, results, _, _ = local_table4
    submitted, listed = submissions(workdir), records(workdir)
    command = [*suite("run", "--table", "4", workdir=workdir), "--executor", "local"]
    again = subprocess.run([*command, "--results", str(results)], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert submissions(workdir) == submitted and records(workdir) == listed
    assert "25 runs: 25 done" in again.stdout


def test_status_and_plan_show_every_run(local_table4):
    workdir, *_ = local_table4
    status = subprocess.run(suite("status", "--table", "4", workdir=workdir), capture_output=True, text=True)
    assert status.returncode == 0 and "25 runs: 25 done" in status.stdout
    assert "estimated 0.00 CPU core-hours left" in status.stdout
    everything = subprocess.run(suite("status", workdir=workdir), capture_output=True, text=True)
    assert everything.stdout.count(" done ") == PLANNED
    plan = subprocess.run(suite("plan", "--table", "4", workdir=workdir), capture_output=True, text=True)
    assert plan.stdout.count("| done") == PLANNED and "row 'ReSim-C4 IN' cannot run" in plan.stdout


def test_an_extra_method_from_a_plugin_reaches_the_table(local_table4, tmp_path):
    workdir, _, _, _ = local_table4
    (tmp_path / "toy_method.py").write_text(TOY_METHOD)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "SUITE_PLUGINS": "toy_method"}
    results = tmp_path / "results"
    command = [*suite("run", "--table", "4", workdir=workdir), "--executor", "local", "--extra-method", "toy"]
    before = set(records(workdir))
    result = subprocess.run(
        [*command, "--results", str(results)], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    new = {key: r for key, r in records(workdir).items() if key not in before}
    assert sorted(r["kind"] for r in new.values()) == ["evaluate", "finetune", "pretrain"]
    frame = pd.read_csv(results / "table4.csv")
    toy = frame[frame.row == "toy IN+CC"]
    assert len(toy) == 2 and (toy.status == "done").all()
    assert "| toy IN+CC" in (results / "table4.md").read_text()


def test_finished_pretrainings_keep_their_backbone_not_their_resumable_state(local_table4):
    workdir, *_ = local_table4
    pretrainings = [key for key, record in records(workdir).items() if record["kind"] == "pretrain"]
    assert pretrainings
    for key in pretrainings:
        folder = workdir / RUNS / key
        assert (folder / "backbone.pt").exists() and not (folder / "checkpoint.pt").exists(), key
