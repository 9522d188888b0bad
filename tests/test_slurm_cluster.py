"""What submitit does on a real SLURM cluster, as the suite relies on it (CI: the one-node cluster that
.ci/slurm-cluster brings up, accounting off).

- Chained jobs: submitit's own `dependency` parameter (AutoExecutor: `slurm_dependency`) writes
  `#SBATCH --dependency=afterok:<id>`; the second job waits (reason Dependency) and starts after the first.
- Preemption: submitit writes `#SBATCH --signal=USR2@<signal_delay_s>`; on USR2 a Checkpointable job
  checkpoints, runs `scontrol requeue <id>` itself and restarts under the same job id with
  SLURM_RESTART_COUNT=1, from its checkpointed state.
- Job states: `job.state`/`job.done()` read sacct, which does not work without accounting (slurmdbd):
  the state stays "UNKNOWN", and a job that ends without writing its result pickle (cancelled, killed,
  out of time or memory) is never "done", so `job.result()` would wait forever. `job_status` below
  reads the result pickle first and `squeue --states=all` second, and tells queued / running /
  finished / failed apart without sacct.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import pytest
import submitit
from submitit.core.utils import JobPaths, pickle_load

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

# Jobs are pickled with cloudpickle, which pickles functions of importable modules by reference; the
# job's python cannot import this test module (tests/ is not on its path), so pickle it by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

WAIT_S = 60  # the longest any single wait below may take before the test fails

# squeue states (%T) of a job that has not started its work yet, and of one that is at it.
QUEUED_STATES = {"PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
RUNNING_STATES = {
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "STOPPED",
    "SIGNALING",
    "STAGE_OUT",
    "RESIZING",
}


@dataclass(frozen=True)
class Status:
    kind: str  # QUEUED, RUNNING, DONE (result pickle "success") or FAILED
    detail: str  # the squeue state, the pickle's outcome, or why the job counts as failed


def _squeue_state(job_id: str) -> str | None:
    """The job's state as squeue reports it (--states=all: finished jobs too, for MinJobAge seconds after
    they end), or None once slurmctld no longer knows the job."""
    out = subprocess.run(
        ["squeue", "--noheader", "--states=all", f"--jobs={job_id}", "--format=%T"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.returncode != 0:
        if "Invalid job id" in out.stderr:
            return None
        raise RuntimeError(f"squeue failed for job {job_id}: {out.stderr.strip()}")
    states = out.stdout.split()
    return states[0] if states else None


def job_status(folder: str | Path, job_id: str) -> Status:
    """Queued / running / finished / failed for a submitit job, without sacct.

    1. The result pickle ({folder}/{job_id}_0_result.pkl) is written by the job itself when its function
       returns ("success", value) or raises ("error", traceback): its presence is the only proof of a
       result, whatever SLURM says.
    2. Without it, squeue tells a live job: queued (including a requeued one waiting to restart) or
       running.
    3. Not live and no result: the job ended without one (cancelled, killed, out of time or memory, node
       failure); the squeue state says which while slurmctld still remembers the job. The pickle is
       checked again first, in case the job wrote it and ended between steps 1 and 2.
    """
    result = JobPaths(folder, job_id=job_id, task_id=0).result_pickle

    def from_pickle() -> Status | None:
        if not result.exists():
            return None
        outcome = pickle_load(result)[0]
        return Status("DONE" if outcome == "success" else "FAILED", f"result pickle: {outcome}")

    if (status := from_pickle()) is not None:
        return status
    state = _squeue_state(job_id)
    if state in QUEUED_STATES:
        return Status("QUEUED", state)
    if state in RUNNING_STATES:
        return Status("RUNNING", state)
    if (status := from_pickle()) is not None:
        return status
    return Status("FAILED", f"ended without a result (SLURM state {state or 'no longer known'})")


def _wait_status(job: submitit.Job, kinds: set[str], timeout: float = WAIT_S) -> Status:
    deadline = time.monotonic() + timeout
    while (status := job_status(job.paths.folder, job.job_id)).kind not in kinds:
        if time.monotonic() > deadline:
            pytest.fail(f"job {job.job_id} not {kinds} after {timeout} s: {status}; stderr:\n{job.stderr()}")
        time.sleep(0.2)
    return status


def _result(job: submitit.Job, timeout: float = WAIT_S):
    """job.result(), but failing after `timeout` instead of waiting forever for a job that died."""
    _wait_status(job, {"DONE", "FAILED"}, timeout)
    return job.result()


def _executor(folder: Path, timeout_min: int = 5, **params) -> submitit.AutoExecutor:
    executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
    executor.update_parameters(timeout_min=timeout_min, cpus_per_task=1, **params)
    return executor


def _sacct_works(job_id: str) -> bool:
    return subprocess.run(["sacct", "-n", "-j", job_id], capture_output=True).returncode == 0


# ---- what the jobs run (pickled by value, see above) ----


def _timed_sleep(seconds: float) -> tuple[float, float]:
    start = time.time()
    time.sleep(seconds)
    return start, time.time()


def _wait_for(path: str, limit_s: float) -> str:
    """Runs until `path` exists (at most `limit_s`), so that a test controls when the job ends."""
    deadline = time.time() + limit_s
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.1)
    return "released" if os.path.exists(path) else "gave up"


def _add(a: int, b: int) -> int:
    return a + b


def _fail() -> None:
    raise ValueError("this job fails on purpose")


def _environment() -> dict:
    env = submitit.JobEnvironment()
    fields = ("job_id", "num_tasks", "num_nodes", "node", "global_rank", "local_rank", "hostnames")
    torch_env = submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False)
    return {
        "slurm": {k: v for k, v in os.environ.items() if k.startswith("SLURM")},
        "job_environment": {name: getattr(env, name) for name in fields},
        "cluster": env.cluster,
        "torch": {k: os.environ[k] for k in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE")},
        "master_port": torch_env.master_port,
    }


class _Counter(submitit.helpers.Checkpointable):
    """Counts to `total` in `step_s` steps, writing its progress, and one line per start of the job."""

    def __init__(self, log: str, total: int, step_s: float) -> None:
        self.log, self.total, self.step_s = log, total, step_s
        self.count = 0  # the state that the checkpoint carries over a requeue

    def __call__(self) -> int:
        start = {
            "job_id": os.environ["SLURM_JOB_ID"],
            "restart_count": os.environ.get("SLURM_RESTART_COUNT"),
            "count": self.count,
        }
        with open(self.log, "a") as f:
            f.write(json.dumps(start) + "\n")
        while self.count < self.total:
            time.sleep(self.step_s)
            self.count += 1
            Path(self.log + ".progress").write_text(str(self.count))
        return self.count


# ---- the tests ----


def test_dependent_job_starts_after_the_first_finished(slurm_cluster, tmp_path):
    executor = _executor(tmp_path / "jobs")
    first = executor.submit(_timed_sleep, 3)
    second_executor = _executor(tmp_path / "jobs", slurm_dependency=f"afterok:{first.job_id}")
    second = second_executor.submit(_timed_sleep, 0)

    script = Path(second.paths.submission_file).read_text()
    assert f"#SBATCH --dependency=afterok:{first.job_id}\n" in script
    assert "--dependency" not in Path(first.paths.submission_file).read_text()

    # While the first runs, the second is held back by the dependency.
    _wait_status(first, {"RUNNING"})
    reason = subprocess.run(
        ["squeue", "--noheader", f"--jobs={second.job_id}", "--format=%T %r"], capture_output=True, text=True
    ).stdout.split()
    if job_status(first.paths.folder, first.job_id).kind == "RUNNING":  # still running after the query
        assert reason == ["PENDING", "Dependency"]

    first_start, first_end = _result(first)
    second_start, _ = _result(second)
    assert first_end - first_start >= 3
    assert second_start >= first_end
    assert job_status(tmp_path / "jobs", second.job_id) == Status("DONE", "result pickle: success")


def test_checkpointable_job_is_requeued_on_usr2_and_resumes(slurm_cluster, tmp_path):
    # 60 minutes: a signal early in a job this long counts as preemption, not time-out (submitit treats
    # any signal as a time-out in jobs of 10 minutes or less, and counts those against max_num_timeout).
    executor = _executor(tmp_path / "jobs", timeout_min=60)
    log = tmp_path / "starts.jsonl"
    total = 16
    job = executor.submit(_Counter(str(log), total=total, step_s=0.25))

    script = Path(job.paths.submission_file).read_text()
    assert "#SBATCH --signal=USR2@90\n" in script  # what SLURM sends ahead of a time limit / preemption
    assert "requeue" not in script  # neither --requeue nor --no-requeue: the cluster's JobRequeue decides

    # Preempt it midway, as SLURM would (scancel --signal sends to the job's steps, i.e. the srun'd python).
    progress = Path(str(log) + ".progress")
    deadline = time.monotonic() + WAIT_S
    while int((progress.read_text() if progress.exists() else "") or 0) < 4:
        assert time.monotonic() < deadline, f"no progress: {job_status(job.paths.folder, job.job_id)}"
        time.sleep(0.1)
    subprocess.run(["scancel", "--signal=USR2", job.job_id], check=True)

    assert _result(job) == total
    starts = [json.loads(line) for line in log.read_text().splitlines()]
    assert [s["job_id"] for s in starts] == [job.job_id, job.job_id]  # requeued under the same id
    assert [s["restart_count"] for s in starts] == [None, "1"]
    assert starts[0]["count"] == 0 and 4 <= starts[1]["count"] < total  # resumed from the checkpoint
    stdout = job.stdout()
    assert "this job is preempted" in stdout
    assert f"Requeued job {job.job_id} (3 remaining timeouts)" in stdout  # preemption spends no time-out


def test_job_states_without_sacct_queued_running_finished(slurm_cluster, tmp_path):
    folder = tmp_path / "jobs"
    gate = tmp_path / "gate"
    first = _executor(folder).submit(_wait_for, str(gate), 30)
    second = _executor(folder, slurm_dependency=f"afterok:{first.job_id}").submit(_add, 1, 2)

    assert _wait_status(first, {"RUNNING"}).detail == "RUNNING"
    assert job_status(folder, second.job_id) == Status("QUEUED", "PENDING")
    if not _sacct_works(first.job_id):
        # What submitit itself reports without accounting: nothing useful, and never "done".
        assert first.state == "UNKNOWN"
        assert not first.done(force_check=True)

    gate.touch()
    assert _result(second) == 3
    assert job_status(folder, first.job_id) == Status("DONE", "result pickle: success")
    assert first.result() == "released"

    # Another process (a later `suite` command) rebuilds the job from its id and folder alone.
    code = (
        "import sys, submitit; "
        "job = submitit.SlurmJob(folder=sys.argv[1], job_id=sys.argv[2]); "
        "print(job.done(), job.result())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder), second.job_id], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.split() == ["True", "3"], out.stderr


def test_job_states_without_sacct_failed_and_cancelled(slurm_cluster, tmp_path):
    folder = tmp_path / "jobs"
    executor = _executor(folder)

    # A job whose function raises: the result pickle holds ("error", traceback).
    failing = executor.submit(_fail)
    assert _wait_status(failing, {"DONE", "FAILED"}) == Status("FAILED", "result pickle: error")
    assert failing.done()
    assert "this job fails on purpose" in str(failing.exception())

    # A job cancelled while running writes no result pickle at all.
    gate = tmp_path / "never"
    cancelled = executor.submit(_wait_for, str(gate), 30)
    _wait_status(cancelled, {"RUNNING"})
    subprocess.run(["scancel", cancelled.job_id], check=True)
    status = _wait_status(cancelled, {"FAILED"})
    assert status.detail == "ended without a result (SLURM state CANCELLED)"
    assert not cancelled.paths.result_pickle.exists()
    if not _sacct_works(cancelled.job_id):
        # submitit alone would wait forever for it: job.result() loops on done(), which stays False.
        assert cancelled.state == "UNKNOWN"
        assert not cancelled.done(force_check=True)


def test_job_environment_inside_a_one_task_job(slurm_cluster, tmp_path):
    job = _executor(tmp_path / "jobs").submit(_environment)
    env = _result(job)
    node = env["slurm"]["SLURMD_NODENAME"]
    assert env["cluster"] == "slurm"
    assert env["slurm"]["SLURM_JOB_ID"] == job.job_id
    assert env["slurm"]["SLURM_CPUS_PER_TASK"] == "1"
    assert "SLURM_RESTART_COUNT" not in env["slurm"]  # set only once a job has been requeued
    assert env["job_environment"] == {
        "job_id": job.job_id,
        "num_tasks": 1,
        "num_nodes": 1,
        "node": 0,
        "global_rank": 0,
        "local_rank": 0,
        "hostnames": [node],
    }
    # TorchDistributedEnvironment().export() works in a one-task job: a world of one on this node.
    assert env["torch"] == {
        "MASTER_ADDR": node,
        "MASTER_PORT": str(env["master_port"]),
        "RANK": "0",
        "WORLD_SIZE": "1",
    }


def _join_and_reduce() -> tuple[int, int, float]:
    """In a job: the suite's process set-up, then an all-reduce over the job's processes."""
    import torch
    import torch.distributed as dist

    from suite.training.process import init_process

    process = init_process("cpu")
    total = torch.tensor([float(process.rank + 1)])
    dist.all_reduce(total)
    return process.rank, process.world_size, float(total)


def test_the_suites_jobs_join_every_task_of_a_slurm_job(slurm_cluster, tmp_path):
    """Two tasks of one job become one gloo process group through init_process (submitit's environment)."""
    from suite.orchestration.cluster import read_cluster
    from suite.orchestration.launch import make_executor

    profile = tmp_path / "two.yaml"
    profile.write_text("defaults: {cpus_per_task: 1, mem_gb: 1, time_min: 5, tasks_per_node: 2}\n")
    executor = make_executor("slurm", "pretrain", tmp_path, read_cluster(profile))
    job = executor.submit(_join_and_reduce)
    deadline = time.time() + WAIT_S
    while not job.paths.result_pickle.exists() and time.time() < deadline:
        time.sleep(0.5)
    assert sorted(job.results()) == [(0, 2, 3.0), (1, 2, 3.0)]
