"""Launching a plan's runs with submitit, following them, and telling what state each one is in.

Executors (submitit's own):
    slurm   every run not done is submitted at once, each `afterok` on the jobs of the runs it reads,
            so `run` returns while the DAG runs; --wait follows it. Resources per job kind come from
            a cluster profile (cluster.py). A job preempted or at its time limit gets USR2, checkpoints
            (RunJob.checkpoint) and is requeued; its run resumes from its last checkpoint.
    local   submitit's local executor: processes on this machine. It has no dependencies, so `run`
            launches each run once the runs it reads are done, as many at a time as the cores allow
            for the profile's threads per job, and waits for them.
    debug   the same order, one run at a time in this process (breakpoints work).

What a run is now (run_state) comes from its record (written by the job) and its submission
(written here), and, for a job not finished, whether it is still alive: `squeue` on SLURM (never
sacct, which needs accounting), the job's process on this host for the local executor.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import submitit
from tqdm import tqdm

from suite.errors import SuiteError
from suite.io import remove_stale_temporaries
from suite.orchestration.cluster import Cluster
from suite.orchestration.kinds import KINDS
from suite.orchestration.plan import Plan, Run
from suite.orchestration.store import (
    SUBMISSION,
    SUBMITIT,
    WorkdirLock,
    add_submission,
    host,
    provenance,
    read_record,
    read_submission,
    remove_stale_submissions,
    run_dir,
    write_record,
)

EXECUTORS = ("slurm", "local", "debug")
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit's local executor kills a job after its timeout (default 5 min)
# squeue states of a job that has not ended (https://slurm.schedmd.com/squeue.html#SECTION_JOB-STATE-CODES)
SLURM_ALIVE = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
    "RESIZING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED",
}  # fmt: skip
DEPENDENCY_FAILED = "DependencyNeverSatisfied"
LIVE = ("running", "queued")
TRACEBACK_FRAMES = 8  # of a failed job, kept in its record
KIND_WIDTH = max(len(kind) for kind in KINDS)  # progress lines align their labels


def default_executor() -> str:
    """SLURM when sbatch is reachable, local otherwise."""
    return "slurm" if shutil.which("sbatch") else "local"


# -- inside the job ------------------------------------------------------------------------------


class RunJob(submitit.helpers.Checkpointable):
    """What a job runs: one run of the plan, with its record kept in the store.

    On SLURM's USR2 (preemption, or the time limit near) submitit calls checkpoint(), which notes the
    attempt in the record and resubmits the same RunJob: it resumes from the run's last checkpoint.
    """

    def __init__(self, run: Run, workdir: Path, threads: int | None, executor: str) -> None:
        self.run, self.workdir, self.threads, self.executor = run, Path(workdir), threads, executor
        self.started = 0.0
        self.requeued = False  # set by checkpoint(): the job is being requeued and will exit

    def __call__(self) -> dict[str, Any]:
        from suite.orchestration.jobs import execute

        if self.threads is not None:
            import torch

            torch.set_num_threads(self.threads)
        folder = run_dir(self.workdir, self.run.key)
        folder.mkdir(parents=True, exist_ok=True)
        self.started = time.time()
        main = _job_rank() == 0
        if main:
            # this job is the run's one live writer (but of the submission file, which `run` may be writing
            # now): what an earlier, killed attempt left half-written goes
            remove_stale_temporaries(folder, recursive=True, keep=(SUBMISSION,))
            self._attempt("running")
        try:
            result = execute(self.run, folder)
        except KeyboardInterrupt:  # cancelled (SIGINT): stopped, not failed; the next run resumes it
            if main and not self.requeued:
                self._attempt("interrupted")
            raise
        except BaseException as error:
            if main and not self.requeued:  # else: submitit's exit once the job is requeued
                tail = "".join(traceback.format_exception(error)[-TRACEBACK_FRAMES:])
                self._attempt("failed", error=f"{type(error).__name__}: {error}", traceback=tail)
            raise
        if main:
            self._attempt("done", **result)
        return result

    def checkpoint(self, *args: Any, **kwargs: Any) -> submitit.helpers.DelayedSubmission:
        self.requeued = True
        if _job_rank() == 0:
            self._attempt("requeued")
        return submitit.helpers.DelayedSubmission(RunJob(self.run, self.workdir, self.threads, self.executor))

    def _attempt(self, status: str, **fields: Any) -> None:
        """Write the record: this attempt's status, the job ids so far, and the wall time of the
        attempts whose end is known (an attempt killed without notice is marked interrupted)."""
        record = read_record(self.workdir, self.run.key) or _new_record(self.run)
        attempts = record["attempts"]
        if status == "running" or not attempts or attempts[-1]["outcome"] != "running":
            for attempt in attempts:
                if attempt["outcome"] == "running":
                    attempt["outcome"] = "interrupted"
            attempts.append(
                {**_job_identity(self.executor), "started": self.started, "ended": None, "outcome": "running"}
            )
        if status != "running":
            attempts[-1].update(ended=time.time(), outcome=status)
        record.update(
            status=status,
            job_ids=list(dict.fromkeys(a["job_id"] for a in attempts)),
            wall_s=sum(a["ended"] - a["started"] for a in attempts if a["ended"] is not None),
            **provenance(),
            **fields,
        )
        if status == "done":
            for stale in ("error", "traceback"):
                record.pop(stale, None)
        write_record(self.workdir, self.run.key, record)


def _new_record(run: Run) -> dict[str, Any]:
    return {
        "key": run.key,
        "kind": run.kind,
        "label": run.label,
        "spec": run.spec,
        "inputs": run.inputs,
        "needs": list(run.needs),
        "attempts": [],
    }


def _job_rank() -> int:
    try:
        return submitit.JobEnvironment().global_rank
    except RuntimeError:  # not in a submitit job (the debug executor)
        return 0


def _job_identity(executor: str) -> dict[str, Any]:
    try:
        environment = submitit.JobEnvironment()
        job_id, tasks, nodes = environment.job_id, environment.num_tasks, environment.num_nodes
    except RuntimeError:
        job_id, tasks, nodes = f"debug-{os.getpid()}", 1, 1
    return {
        "executor": executor,
        "job_id": str(job_id),
        "restart_count": int(os.environ.get("SLURM_RESTART_COUNT", 0)),
        "tasks": tasks,
        "nodes": nodes,
        **host(),
    }


# -- submitting ----------------------------------------------------------------------------------


def make_executor(executor: str, kind: str, workdir: Path, cluster: Cluster | None) -> submitit.Executor:
    folder = Path(workdir) / SUBMITIT / "%j"
    if executor == "slurm":
        if cluster is None:
            raise SuiteError("the SLURM executor needs a cluster profile", fix="pass --cluster NAME")
        settings = cluster.settings(kind)
        timeouts = settings.max_num_timeout
        chosen = submitit.AutoExecutor(folder, cluster="slurm", slurm_max_num_timeout=timeouts)
        # --requeue: requeueable even where the cluster's JobRequeue default is 0 (submitit's USR2
        # handler requeues with scontrol, which a job without it refuses)
        chosen.update_parameters(
            **settings.submitit_parameters(), slurm_additional_parameters={"requeue": True}
        )
    elif executor == "local":
        chosen = submitit.AutoExecutor(folder, cluster="local")
        chosen.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN, tasks_per_node=1)
    elif executor == "debug":
        chosen = submitit.AutoExecutor(folder, cluster="debug")
    else:
        raise SuiteError(f"unknown executor {executor!r}", fix=f"use one of {', '.join(EXECUTORS)}")
    return chosen


def submit(
    run: Run, plan: Plan, executor: str, cluster: Cluster | None, after: list[str] = ()
) -> submitit.Job:
    """Submit one run (after the given SLURM job ids succeed) and note the submission in the store."""
    chosen = make_executor(executor, KINDS[run.kind].job, plan.workdir, cluster)
    chosen.update_parameters(name=f"suite-{run.kind}-{run.key[:8]}")
    if after:
        chosen.update_parameters(slurm_dependency="afterok:" + ":".join(after))
    job = chosen.submit(RunJob(run, plan.workdir, plan.profile.threads, executor))
    add_submission(plan.workdir, run.key, executor, job.job_id, Path(job.paths.folder), job.paths.stderr)
    return job


# -- what each run is now ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunState:
    status: str  # done, running, queued, stopped, failed, blocked, to run, missing
    job_id: str | None = None
    detail: str = ""


def run_state(run: Run, workdir: Path, squeue: Callable[[list[str]], dict] | None = None) -> RunState:
    if not KINDS[run.kind].runs:  # an official weights file: there or not
        exists = run.output(workdir).is_file()
        return RunState("done" if exists else "missing", detail=run.inputs["path"])
    record = read_record(workdir, run.key) or {}
    if record.get("status") == "done":
        return RunState("done", record["job_ids"][-1])
    submission = read_submission(workdir, run.key)
    last = submission["jobs"][-1] if submission else None
    alive = _alive(last, squeue) if last else None
    if alive is not None and alive[0]:
        started = record.get("status") == "running" and record["job_ids"][-1] == last["job_id"]
        if alive[1] == DEPENDENCY_FAILED:
            return RunState("blocked", last["job_id"], "a run it reads failed")
        return RunState("running" if started else "queued", last["job_id"], alive[1])
    if record.get("status") == "failed":
        return RunState("failed", record["job_ids"][-1], record.get("error", ""))
    if record.get("status") in ("running", "requeued", "interrupted"):
        return RunState("stopped", record["job_ids"][-1], "interrupted; resumes from its last checkpoint")
    if last is not None:
        return RunState("failed", last["job_id"], "the job ended without a record; see its log")
    return RunState("to run")


def plan_states(plan: Plan) -> dict[str, RunState]:
    """The state of every run of the plan (one squeue call for all SLURM jobs)."""
    slurm_jobs = []
    for key in plan.runs:
        submission = read_submission(plan.workdir, key)
        if submission and submission["jobs"][-1]["executor"] == "slurm":
            slurm_jobs.append(submission["jobs"][-1]["job_id"])
    live = _squeue(slurm_jobs) if slurm_jobs else {}
    return {key: run_state(run, plan.workdir, lambda _: live) for key, run in plan.runs.items()}


def _alive(job: dict, squeue: Callable[[list[str]], dict] | None) -> tuple[bool, str] | None:
    """(alive, detail) of a submitted job; None if it cannot be told."""
    if job["executor"] == "slurm":
        states = (squeue or _squeue)([job["job_id"]])
        state, reason = states.get(job["job_id"], ("", ""))
        return state in SLURM_ALIVE, reason if DEPENDENCY_FAILED in reason else state.lower()
    if job["executor"] == "local":
        if job.get("host") != socket.gethostname():
            return None
        return _process_alive(int(job["job_id"])), ""
    return False, ""


def _squeue(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{job id: (state, reason)} of the jobs SLURM still knows (requeued jobs keep their id)."""
    try:
        result = subprocess.run(
            ["squeue", "-h", "-j", ",".join(job_ids), "-o", "%i|%T|%r"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in result.stdout.splitlines():
        parts = line.split("|", 2)
        if len(parts) == 3:
            states[parts[0].split("_")[0]] = (parts[1], parts[2])
    return states


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[-1].startswith("Z"))


def scancel(job_id: str) -> None:
    subprocess.run(["scancel", job_id], capture_output=True, timeout=60, check=False)


# -- running a plan ------------------------------------------------------------------------------


def launch(plan: Plan, executor: str, cluster: Cluster | None, *, wait: bool, poll_s: float) -> bool:
    """Run what the plan still needs; True when every run of every available row is done.

    SLURM without wait returns once the jobs are submitted (True if nothing was left)."""
    with WorkdirLock(plan.workdir):
        remove_stale_submissions(plan.workdir)
        prune(plan)
        if executor == "slurm":
            submitted = submit_slurm(plan, cluster)
            if not wait:
                return not submitted
        else:
            finished = run_here(plan, executor, poll_s)
            prune(plan)
            return finished
    finished = follow(plan, poll_s)
    prune(plan)  # a done run never resumes: no lock needed
    return finished


def prune(plan: Plan) -> None:
    """Delete from the plan's finished runs what only a resume reads (each kind's `prunable` files)."""
    for key, state in plan_states(plan).items():
        if state.status == "done":
            for name in KINDS[plan.runs[key].kind].prunable:
                (run_dir(plan.workdir, key) / name).unlink(missing_ok=True)


def submit_slurm(plan: Plan, cluster: Cluster | None) -> dict[str, str]:
    """Submit every run not done and not already queued, with afterok dependencies; {key: job id}."""
    states = plan_states(plan)
    ids: dict[str, str] = {}
    submitted: dict[str, str] = {}
    for key, run in plan.runs.items():
        state = states[key]
        if state.status in ("done", "missing"):
            continue
        renewed = any(parent in submitted for parent in run.needs)
        if state.status in LIVE and not renewed:
            ids[key] = state.job_id
            continue
        if state.status in (*LIVE, "blocked"):
            scancel(state.job_id)  # waits on a job that is being replaced
        job = submit(run, plan, "slurm", cluster, [ids[parent] for parent in run.needs if parent in ids])
        ids[key] = submitted[key] = job.job_id
        tqdm.write(f"submitted {job.job_id:>8}  {run.kind:{KIND_WIDTH}} {run.label}")
    return submitted


def run_here(plan: Plan, executor: str, poll_s: float) -> bool:
    """Run the plan on this machine (local or debug executor), each run once the runs it reads are done."""
    threads = plan.profile.threads or (os.cpu_count() or 1)
    slots = 1 if executor == "debug" else max(1, (os.cpu_count() or 1) // threads)
    jobs: dict[str, submitit.Job] = {}
    tried: set[str] = set()
    progress = _Progress(plan)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    # A local job is cancelled by SIGINT to its submitit controller. A `run` started in the background
    # (`nohup ... &`) has SIGINT ignored, which its jobs would inherit and keep: handled here, it reaches
    # them at its default, so a stop stops them.
    previous_sigint = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        while True:
            states = plan_states(plan)
            progress.update(states)
            for key, job in list(jobs.items()):
                if job.done():
                    del jobs[key]
            busy = [key for key, state in states.items() if state.status in LIVE]
            ready = [
                key
                for key, run in plan.runs.items()
                if states[key].status in ("to run", "stopped", "failed")
                and key not in tried
                and all(states[parent].status == "done" for parent in run.needs)
            ]
            for key in ready[: max(0, slots - len(busy))]:
                tried.add(key)
                jobs[key] = submit(plan.runs[key], plan, executor, None)
                if executor == "debug":  # runs it now; a failure is in its record, the others go on
                    with contextlib.suppress(Exception):
                        jobs.pop(key).result()
            if not busy and not jobs and not ready:
                return progress.close(plan_states(plan))
            if busy or jobs:
                time.sleep(poll_s)
    except KeyboardInterrupt:
        for job in jobs.values():
            job.cancel()  # SIGINT: the run stops; its record says so and the next `run` resumes it
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_sigint)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def follow(plan: Plan, poll_s: float) -> bool:
    """Wait until no run of the plan is queued or running (SLURM); True when all are done."""
    progress = _Progress(plan)
    while True:
        states = plan_states(plan)
        progress.update(states)
        if not any(state.status in LIVE for state in states.values()):
            return progress.close(states)
        time.sleep(poll_s)


class _Progress:
    """A bar of runs done and a line for every change of a run's state."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.bar = tqdm(total=len(plan.runs), desc=plan.name, unit="run", disable=None)
        self.seen: dict[str, str] = {}

    def update(self, states: dict[str, RunState]) -> None:
        for key, state in states.items():
            if self.seen.get(key) != state.status:
                if key in self.seen or state.status != "to run":
                    run = self.plan.runs[key]
                    tqdm.write(f"{state.status:8} {run.kind:{KIND_WIDTH}} {run.label}  [{key}]")
                self.seen[key] = state.status
        self.bar.n = sum(state.status == "done" for state in states.values())
        self.bar.refresh()

    def close(self, states: dict[str, RunState]) -> bool:
        self.update(states)
        self.bar.close()
        return all(state.status == "done" for state in states.values())
