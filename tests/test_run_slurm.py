"""`run --table 4 --executor slurm --wait` on a real (one-node) cluster: the same numbers as the local
executor, a pre-training job preempted mid-way checkpoints, requeues and resumes, and the sbatch
scripts carry the plan's dependencies, resources and requeue signal."""

import json
import re
import subprocess
import time

import pandas as pd
import pytest
from e2e import PLANNED, records, suite

from suite.orchestration.cluster import read_cluster
from suite.orchestration.store import RUNS, SUBMITIT, read_json

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture(scope="module")
def slurm_table(slurm_cluster, tmp_path_factory):
    """The table on SLURM; each pre-training job seen running with a checkpoint gets USR2 once."""
    root = tmp_path_factory.mktemp("slurm")
    workdir, results = root / "work", root / "results"
    command = [*suite("run", "--table", "4", workdir=workdir), "--executor", "slurm", "--cluster", "cpu"]
    command += ["--wait", "--poll", "1", "--results", str(results)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    signalled = {}
    deadline = time.time() + 1200
    while process.poll() is None and time.time() < deadline:
        for key, record in records(workdir).items():
            checkpoint = workdir / RUNS / key / "checkpoint.pt"
            running = record["kind"] == "pretrain" and record["status"] == "running"
            if running and checkpoint.exists() and key not in signalled:
                job = record["job_ids"][-1]
                subprocess.run(["scancel", "--signal=USR2", job], check=True)
                signalled[key] = job
        time.sleep(0.1)
    output, _ = process.communicate(timeout=60)
    return workdir, results, signalled, process.returncode, output


def test_the_table_completes_with_the_local_executors_numbers(slurm_table, local_table4):
    workdir, results, _, returncode, output = slurm_table
    assert returncode == 0, output[-4000:]
    assert len(records(workdir)) == PLANNED
    ours = pd.read_csv(results / "table4.csv").set_index(["row", "column"])
    local = pd.read_csv(local_table4[1] / "table4.csv").set_index(["row", "column"])
    assert ours.evaluations.equals(local.evaluations)  # the same runs (keys) ...
    pd.testing.assert_series_equal(ours["mean"], local["mean"], check_exact=True)  # ... the same numbers


def test_a_preempted_pretraining_requeues_and_resumes(slurm_table):
    workdir, _, signalled, _, _ = slurm_table
    requeued = []
    for key, job in signalled.items():
        record = read_json(workdir / RUNS / key / "record.json")
        outcomes = [attempt["outcome"] for attempt in record["attempts"]]
        if outcomes == ["done"]:
            continue  # the signal came as the job ended
        assert outcomes == ["requeued", "done"], record["label"]
        assert record["job_ids"] == [job]  # requeued under the same id
        assert [a["restart_count"] for a in record["attempts"]] == [0, 1]
        log = (workdir / RUNS / key / "log.jsonl").read_text().splitlines()
        steps = [json.loads(line)["step"] for line in log]
        assert steps == list(range(1, len(steps) + 1))  # it went on from its checkpoint
        requeued.append(key)
    assert requeued, f"no pre-training was still running when signalled: {signalled}"


def test_sbatch_scripts_carry_dependencies_resources_and_the_requeue_signal(slurm_table):
    workdir, *_ = slurm_table
    settings = read_cluster("cpu").settings("pretrain")
    jobs = {}
    for folder in (workdir / RUNS).glob("*"):
        submission = read_json(folder / "submission.json")
        if submission:
            jobs[folder.name] = submission["jobs"][0]["job_id"]
    assert len(jobs) == PLANNED
    for key, job in jobs.items():
        record = read_json(workdir / RUNS / key / "record.json")
        script = (workdir / SUBMITIT / job / f"{job}_submission.sh").read_text()
        options = dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(.*))?$", script, re.MULTILINE))
        assert options["cpus-per-task"] == str(settings.cpus_per_task)
        assert options["ntasks-per-node"] == "1" and options["nodes"] == "1"
        assert options["mem"] == f"{settings.mem_gb}GB" and options["time"] == str(settings.time_min)
        assert options["signal"] == f"USR2@{settings.signal_delay_s}" and "requeue" in options
        parents = sorted(jobs[parent] for parent in record["needs"])
        after = options.get("dependency", "").removeprefix("afterok:")
        assert sorted(filter(None, after.split(":"))) == parents, record["label"]
