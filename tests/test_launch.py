"""Launching: a failed run is reported with its error and log, and only it runs again; run states."""

import numpy as np
from killed_write import killed_write

from suite.orchestration.launch import DEPENDENCY_FAILED, launch, run_here, run_state
from suite.orchestration.plan import Plan, make_run
from suite.orchestration.show import plan_table
from suite.orchestration.store import SUBMISSION, add_submission, read_record, run_dir, write_record
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


def test_what_killed_writers_left_half_written_is_removed_by_the_next_attempt_and_run(tmp_path):
    """A killed attempt's temporaries go when the run's next job starts; a killed `run`'s submission
    temporaries when the next `run` takes the work directory's lock (also in runs that are done)."""
    from suite.data.synth import coco

    coco.write(tmp_path / "coco", 4, np.random.default_rng(0))
    plan = crops_plan(tmp_path, tmp_path / "coco")
    first, second = plan.runs
    stale = [killed_write(run_dir(plan.workdir, first) / name) for name in ("index.json", "images/1.jpg")]
    submission = killed_write(run_dir(plan.workdir, first) / SUBMISSION)
    assert run_here(plan, "debug", poll_s=0.01)
    assert not any(path.exists() for path in stale) and submission.exists()  # `run` may be writing it
    done = killed_write(run_dir(plan.workdir, second) / SUBMISSION)
    assert launch(plan, "debug", None, wait=True, poll_s=0.01)
    assert not submission.exists() and not done.exists()
    assert not list(plan.workdir.rglob(".*.tmp"))
