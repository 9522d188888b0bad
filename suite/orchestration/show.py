"""What `plan` and `status` print: the runs of a plan with their state, and the whole work directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tabulate import tabulate

from suite.orchestration.launch import RunState
from suite.orchestration.plan import Plan
from suite.orchestration.store import RUNS, read_json, read_record, read_submission

LOG_LINES = 15  # lines of a failed job's log that `status` shows


def plan_table(plan: Plan, states: dict[str, RunState], logs: bool = False) -> str:
    """The DAG as a table in dependency order: each run, what it reads, its state, its estimate."""
    short = {key: key[:8] for key in plan.runs}
    rows = []
    for key, run in plan.runs.items():
        state = states[key]
        rows.append(
            (
                short[key],
                run.kind,
                run.label,
                " ".join(short[parent] for parent in run.needs) or "-",
                state.status + (f" ({state.job_id})" if state.job_id and state.status != "done" else ""),
                f"{plan.hours(run):.2f}",
            )
        )
    hours = plan.profile.device + "-h"
    lines = [
        f"{plan.name}: {plan.caption}",
        f"profile {plan.profile.name}, work directory {plan.workdir}",
        "",
        tabulate(rows, headers=("run", "kind", "what", "reads", "state", f"est. {hours}"), tablefmt="github"),
        "",
    ]
    counts = Counter(state.status for state in states.values())
    left = sum(plan.hours(run) for key, run in plan.runs.items() if states[key].status != "done")
    lines.append(
        f"{len(plan.runs)} runs: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    )
    lines.append(f"estimated {left:.2f} {plan.profile.device}-hours left")
    for label, reason in plan.unavailable.items():
        lines.append(f"row {' '.join(label).strip()!r} cannot run: {reason}")
    if logs:
        lines += _failure_logs(plan, states)
    return "\n".join(lines)


def _failure_logs(plan: Plan, states: dict[str, RunState]) -> list[str]:
    lines = []
    for key, state in states.items():
        if state.status != "failed":
            continue
        record = read_record(plan.workdir, key) or {}
        submission = read_submission(plan.workdir, key) or {"jobs": []}
        lines += ["", f"failed: {plan.runs[key].label} [{key}]", f"  {state.detail}"]
        if record.get("traceback"):
            lines += ["  " + line for line in record["traceback"].rstrip().splitlines()]
        if submission["jobs"]:
            log = Path(submission["jobs"][-1]["log"])
            lines.append(f"  log {log}:")
            tail = log.read_text(errors="replace").splitlines()[-LOG_LINES:] if log.is_file() else ["(none)"]
            lines += ["    " + line for line in tail]
    return lines


def workdir_table(root: Path) -> str:
    """Every run in the work directory, from its record: kind, what, status, wall time, metrics."""
    rows = []
    for folder in sorted((Path(root) / RUNS).glob("*")):
        record = read_json(folder / "record.json")
        if record is None:
            submitted = read_submission(root, folder.name)
            rows.append((folder.name[:8], "?", "(no record yet)", "submitted" if submitted else "-", "", ""))
            continue
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in (record.get("metrics") or {}).items() if _number(v))
        rows.append(
            (
                folder.name[:8],
                record["kind"],
                record["label"],
                record["status"],
                f"{record.get('wall_s', 0):.0f}",
                metrics,
            )
        )
    if not rows:
        return f"no runs in {root} yet"
    return tabulate(rows, headers=("run", "kind", "what", "status", "wall s", "metrics"), tablefmt="github")


def _number(value: object) -> bool:
    return isinstance(value, int | float)
