"""Launching: a failed run is reported with its error and log, and only it runs again; run states."""

import numpy as np

from suite.orchestration.launch import DEPENDENCY_FAILED, run_here, run_state
from suite.orchestration.plan import Plan, make_run
from suite.orchestration.show import plan_table
from suite.orchestration.store import add_submission, read_record, write_record
from suite.profiles import SMOKE_RUN
from suite.tables import TABLES


def crops_plan(tmp_path, coco):
    plan = Plan(TABLES[4], SMOKE_RUN, tmp_path / "work", (0,))
    for split in ("train2017", "val2017"):
        spec = {"data": "test", "split": split, "require_keypoints": True}
        plan.add(make_run("crops", f"crops of {split}", spec, {"coco": coco}))
    return plan


def test_a_failed_run_shows_its_error_and_only_it_runs_again(tmp_path):
    from suite.data.synth import coco

    root = tmp_path / "coco"
    plan = crops_plan(tmp_path, root)
    first, second = plan.runs
    assert not run_here(plan, "debug", poll_s=0.01)  # no COCO yet: both fail
    states = {key: run_state(run, plan.workdir) for key, run in plan.runs.items()}
    assert {state.status for state in states.values()} == {"failed"}
    shown = plan_table(plan, states, logs=True)
    assert "failed: crops of train2017" in shown and "COCO root does not exist" in shown
    assert "fix: point the COCO root" in shown and "Traceback" in shown
    # the data arrives; one run was done meanwhile (by hand): `run` redoes the failed one only
    coco.write(root, 4, np.random.default_rng(0))
    done = read_record(plan.workdir, second)
    write_record(plan.workdir, second, {**done, "status": "done"})
    assert run_here(plan, "debug", poll_s=0.01)
    assert [a["outcome"] for a in read_record(plan.workdir, first)["attempts"]] == ["failed", "done"]
    assert [a["outcome"] for a in read_record(plan.workdir, second)["attempts"]] == ["failed"]
    assert (plan.runs[first].output(plan.workdir) / "index.json").is_file()


def test_slurm_states_come_from_records_and_squeue_not_sacct(tmp_path):
    plan = crops_plan(tmp_path, tmp_path / "coco")
    key, run = next(iter(plan.runs.items()))
    assert run_state(run, plan.workdir).status == "to run"
    add_submission(plan.workdir, key, "slurm", "41", tmp_path, tmp_path / "41.err")

    def squeue(answer):
        return lambda jobs: {"41": answer} if answer else {}

    assert run_state(run, plan.workdir, squeue(("PENDING", "Priority"))).status == "queued"
    blocked = run_state(run, plan.workdir, squeue(("PENDING", DEPENDENCY_FAILED)))
    assert blocked.status == "blocked" and blocked.job_id == "41"
    # the job died before writing its record (squeue no longer knows it)
    assert run_state(run, plan.workdir, squeue(None)).status == "failed"
    record = {"status": "running", "job_ids": ["41"], "attempts": []}
    write_record(plan.workdir, key, record)
    assert run_state(run, plan.workdir, squeue(("RUNNING", "None"))).status == "running"
    # requeued after a preemption: pending again under the same id
    write_record(plan.workdir, key, {**record, "status": "requeued"})
    assert run_state(run, plan.workdir, squeue(("PENDING", "BeginTime"))).status == "queued"
    # killed without a word (node lost): stopped, it resumes from its checkpoint next time
    assert run_state(run, plan.workdir, squeue(None)).status == "stopped"
    write_record(plan.workdir, key, {**record, "status": "done"})
    assert run_state(run, plan.workdir, squeue(None)).status == "done"
