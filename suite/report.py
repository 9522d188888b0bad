"""A table of ours beside the paper's: records -> DataFrame (pandas) -> markdown (tabulate) and a figure.

    results/tableN.md    the paper's rows and columns; each metric as ours, then the paper's. Ours is
                         the mean (± the standard deviation over seeds, where several ran) with the
                         difference to our reference row in parentheses, on the columns where the
                         paper prints one, marked * where its 95% paired bootstrap interval excludes 0
                         (suite/differences.py); footnotes give the profile, the protocol, each row's runs
    results/tableN.csv   the same numbers, one line per row and metric, with the run keys and the
                         difference to the reference row with its interval's bounds (diff_low, diff_high)
    results/tableN.png   per row, bars of each metric: ours (with the seeds' spread) and the paper's

Every number comes from an evaluate run's record; a cell without one says why (pending, failed,
or the row's reason it cannot run at this profile).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from suite.differences import Difference, reference_row, row_difference, row_name
from suite.evaluate.bootstrap import RESAMPLES
from suite.evaluate.samples import COCO, FEWER_RESAMPLES
from suite.finetune.catalog import TASKS
from suite.io import atomic_write_bytes
from suite.orchestration.plan import Plan
from suite.orchestration.store import RESULTS, read_record
from suite.paper_numbers import PaperTable, read_paper_table

DECIMALS = 1  # as the paper prints


@dataclass(frozen=True)
class Cell:
    values: tuple[float, ...]  # one per seed that finished
    expected: int  # seeds planned
    status: str  # "done", or why there is no number yet

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else float("nan")


def collect(plan: Plan, reference: str | None = None, intervals: bool = True) -> pd.DataFrame:
    """One line per (row, column): our values per seed and the paper's value, from the records, and
    (with `intervals`) the difference to the reference row (`reference`, else "Super. IN") with its
    95% paired bootstrap interval."""
    paper = read_paper_table(plan.table.number)
    base = reference_row(plan.table, reference)
    lines = []
    for row in plan.table.rows:
        for column in plan.table.columns:
            keys = plan.cells.get((row.label, column.name), ())
            cell = _cell(plan, keys, column.metric, plan.unavailable.get(row.label))
            compared = (
                row_difference(plan, row.label, base, column)
                if intervals and base is not None and row.label != base and cell.values
                else Difference(None, "")
            )
            lines.append(
                {
                    "row": row.label,
                    "column": column.name,
                    "mean": cell.mean,
                    "std": cell.std,
                    "seeds": len(cell.values),
                    "status": cell.status,
                    "paper": _paper_value(paper, row.label, column.name),
                    "runs": " ".join(plan.row_runs.get(row.label, ())),
                    "evaluations": " ".join(keys),
                    **_difference_fields(compared),
                }
            )
    return pd.DataFrame(lines)


def _difference_fields(compared: Difference) -> dict:
    interval = compared.interval
    nan = float("nan")
    return {
        "diff": interval.estimate if interval else nan,
        "diff_low": interval.low if interval else nan,
        "diff_high": interval.high if interval else nan,
        "significant": interval.excludes_zero if interval else None,
        "verdict": compared.verdict,
        "interval_note": compared.reason,
    }


def _cell(plan: Plan, keys: tuple[str, ...], metric: str, unavailable: str | None) -> Cell:
    if unavailable is not None:
        return Cell((), 0, "unavailable")
    records = [read_record(plan.workdir, key) or {} for key in keys]
    values = tuple(float(r["metrics"][metric]) for r in records if r.get("status") == "done")
    statuses = {r.get("status", "pending") for r in records}
    status = "done" if len(values) == len(keys) else "failed" if "failed" in statuses else "pending"
    return Cell(values, len(keys), status)


def _paper_value(paper: PaperTable, label: tuple[str, ...], column: str) -> float:
    if label not in paper.labels or column not in paper.metrics:
        return float("nan")
    return float(paper.values[paper.labels.index(label), paper.metrics.index(column)])


def render(plan: Plan, frame: pd.DataFrame, reference: str | None = None) -> str:
    """The markdown page of the table (differences to the row `reference`, else "Super. IN")."""
    paper = read_paper_table(plan.table.number)
    reference = reference_row(plan.table, reference)
    with_delta = {
        name for i, name in enumerate(paper.metrics) if not np.all(np.isnan(paper.printed_deltas[:, i]))
    }
    notes: dict[str, int] = {}
    body = []
    for row in plan.table.rows:
        line = dict(zip(paper.label_columns, _padded(row.label, len(paper.label_columns)), strict=True))
        for column in plan.table.columns:
            ours = frame[(frame.row == row.label) & (frame.column == column.name)].iloc[0]
            base = frame[(frame.row == reference) & (frame.column == column.name)]
            printed = _paper_delta(paper, row.label, column.name, column.name in with_delta)
            delta = base.iloc[0]["mean"] if printed and row.label != reference else None
            arrow = "↓" if column.lower_is_better else "↑"
            line[f"{column.name} {arrow}"] = _ours(ours, delta, row.label, plan, notes)
            line[f"{column.name} (paper)"] = _paper_cell(paper, row.label, column.name)
        body.append(line)
    table = pd.DataFrame(body).to_markdown(index=False, disable_numparse=True)
    figure_name = f"table{plan.table.number}.png"
    return "\n".join(
        [
            f"# Table {plan.table.number}: {plan.table.caption}",
            "",
            table,
            "",
            *_footnotes(plan, frame, notes, reference),
            "",
            f"![Table {plan.table.number}, ours beside the paper's]({figure_name})",
        ]
    )


def _padded(label: tuple[str, ...], width: int) -> tuple[str, ...]:
    return (*label, *("",) * (width - len(label)))


def _ours(line: pd.Series, reference: float | None, label, plan: Plan, notes: dict[str, int]) -> str:
    if line["status"] == "unavailable":
        number = notes.setdefault(plan.unavailable[label], len(notes) + 1)
        return f"n/a [{number}]"
    if line["seeds"] == 0:
        return line["status"]
    text = f"{line['mean']:.{DECIMALS}f}"
    if line["seeds"] > 1:
        text += f" ± {line['std']:.{DECIMALS}f}"
    if reference is not None and not np.isnan(reference):
        text += f" ({line['mean'] - reference:+.{DECIMALS}f})" + ("*" if _significant(line) else "")
    if line["status"] != "done":
        text += f" ({line['seeds']} of the seeds; others {line['status']})"
    return text


def _significant(line: pd.Series) -> bool:
    """Whether the difference's interval excludes 0 (False where there is no interval)."""
    return line["significant"] in (True,)


def _named(reference: tuple[str, ...] | None) -> str:
    return row_name(reference) if reference else "reference"


def _paper_delta(paper: PaperTable, label: tuple[str, ...], column: str, column_has_deltas: bool) -> bool:
    """Whether the paper prints a difference in this cell; for a row it does not have, in this column."""
    if label not in paper.labels:
        return column_has_deltas
    return not np.isnan(paper.printed_deltas[paper.labels.index(label), paper.metrics.index(column)])


def _paper_cell(paper: PaperTable, label: tuple[str, ...], column: str) -> str:
    if label not in paper.labels:
        return "-"
    i, j = paper.labels.index(label), paper.metrics.index(column)
    value, delta = paper.values[i, j], paper.printed_deltas[i, j]
    if np.isnan(value):
        return "-"
    return f"{value:.{DECIMALS}f}" + ("" if np.isnan(delta) else f" ({delta:+.{DECIMALS}f})")


def _footnotes(
    plan: Plan, frame: pd.DataFrame, notes: dict[str, int], reference: tuple[str, ...] | None
) -> list[str]:
    profile = plan.profile
    seeds = ", ".join(map(str, plan.seeds))
    lines = [
        f"- Profile `{profile.name}`: {describe_profile(profile)}. Fine-tuning seeds: {seeds}.",
        *(f"- Protocol, {task}: {describe_task(task, profile.name)}" for task in plan.table.tasks),
        f"- Differences in parentheses are to the {_named(reference)} row, on the columns where the paper "
        "prints them.",
        *_significance_notes(plan, frame),
        f"- Runs (keys under `runs/` in the work directory {plan.workdir}):",
    ]
    for row in plan.table.rows:
        keys = plan.row_runs.get(row.label)
        if keys:
            chain = " → ".join(f"{plan.runs[key].kind} {key}" for key in keys)
            lines.append(f"  - {' '.join(row.label).strip()}: {chain}")
    lines += _baselines(plan, frame)
    commits = _commits(plan, frame)
    if commits:
        lines.append(f"- Code: git commit {', '.join(commits)}.")
    lines += [f"- [{number}] {reason}" for reason, number in notes.items()]
    return lines


def _significance_notes(plan: Plan, frame: pd.DataFrame) -> list[str]:
    """What `*` means, and which rows have no interval and why."""
    over = "the test samples" + (" and the seeds" if len(plan.seeds) > 1 else "")
    lines = [
        f"- `*`: the 95% paired bootstrap interval excludes 0 ({_resamples(plan)} resamples of {over}, "
        f"paired by sample and seed; the bounds are in table{plan.table.number}.csv as diff_low, diff_high)."
    ]
    for reason, part in frame[frame.interval_note != ""].groupby("interval_note", sort=False):
        rows = ", ".join(dict.fromkeys(row_name(label) for label in part.row))
        lines.append(f"- No significance for {rows}: {reason}.")
    return lines


def _resamples(plan: Plan) -> str:
    """How many resamples the intervals drew: COCO AP accumulates COCOeval on each, so fewer."""
    if "coco-2d" in plan.table.tasks:
        return f"{FEWER_RESAMPLES[COCO]} (COCO AP accumulates COCOeval on each)"
    return str(RESAMPLES)


def _baselines(plan: Plan, frame: pd.DataFrame) -> list[str]:
    """A task's reference scores (e.g. the mean training pose), as its evaluations recorded them."""
    lines = []
    for task in plan.table.tasks:
        baseline = TASKS.get(task).baseline
        columns = [column for column in plan.table.columns if column.task == task]
        for keys in frame["evaluations"]:
            metrics = (read_record(plan.workdir, keys.split()[0]) or {}).get("metrics", {}) if keys else {}
            found = [
                (c.name, metrics[f"baseline/{c.metric}"])
                for c in columns
                if f"baseline/{c.metric}" in metrics
            ]
            if baseline and found:
                scores = ", ".join(f"{name} {value:.{DECIMALS}f}" for name, value in found)
                lines.append(f"- Baseline, {task} ({baseline}): {scores}.")
                break
    return lines


def describe_profile(profile) -> str:
    scale = profile.pretrain
    data = (
        f"SynthHuman (n={profile.synth.n}, seed {profile.synth.seed}), not the real datasets: compare rows "
        "with each other, not with the paper"
        if profile.synth is not None
        else "the configured datasets"
    )
    stage_one = (
        "IN stages are the official weights"
        if profile.stage_one == "official"
        else "IN stages trained here on the generic image set"
    )
    threads = "" if profile.threads is None else f", {profile.threads} thread(s) per job"
    return f"{scale.arch} pre-trained at {scale.image_size} px; {stage_one}; {data}{threads}"


def describe_task(task: str, profile: str) -> str:
    """The task's protocol (its catalogue entry's summary, else its settings module's first line) and
    what the profile changes of it."""
    import sys

    entry = TASKS.get(task)
    summary = entry.summary or sys.modules[entry.settings.__module__].__doc__ or entry.name
    summary = summary.strip().splitlines()[0].rstrip(".")
    changes = entry.profile_changes(profile)
    scaled = ", ".join(f"{key} {value}" for key, value in changes.items())
    return summary + (f"; at this profile {scaled}" if scaled else "") + "; the final epoch's model is tested"


def _commits(plan: Plan, frame: pd.DataFrame) -> list[str]:
    commits = set()
    for keys in frame["evaluations"]:
        for key in keys.split():
            record = read_record(plan.workdir, key) or {}
            if record.get("git_commit"):
                commits.add(record["git_commit"][:10] + ("+changes" if record.get("git_dirty") else ""))
    return sorted(commits)


def figure(plan: Plan, frame: pd.DataFrame) -> bytes:
    """PNG: one panel per column, a pair of bars per row (ours with its seeds' spread, the paper's)."""
    columns = plan.table.columns
    labels = [" ".join(row.label).strip() for row in plan.table.rows]
    fig, axes = plt.subplots(1, len(columns), figsize=(4.5 * len(columns), 0.45 * len(labels) + 1.5))
    axes = np.atleast_1d(axes)
    y = np.arange(len(labels))
    for axis, column in zip(axes, columns, strict=True):
        part = frame[frame.column == column.name]
        ours = part["mean"].to_numpy(float)
        spread = np.nan_to_num(part["std"].to_numpy(float))
        axis.barh(y - 0.2, ours, 0.4, xerr=spread, label="ours", color="tab:blue")
        axis.barh(y + 0.2, part["paper"].to_numpy(float), 0.4, label="paper", color="tab:gray")
        axis.set_yticks(y, labels if axis is axes[0] else [""] * len(labels))
        axis.invert_yaxis()
        axis.set_title(f"{column.name} ({'lower' if column.lower_is_better else 'higher'} is better)")
        axis.grid(axis="x", alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="upper right", ncol=2)
    fig.suptitle(f"Table {plan.table.number}, profile {plan.profile.name}: ours and the paper's")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def report(plan: Plan, results: Path = RESULTS, reference: str | None = None) -> tuple[Path, Path, Path]:
    """Write tableN.md, tableN.csv and tableN.png under `results` (differences to the row `reference`,
    else "Super. IN"); returns their paths."""
    frame = collect(plan, reference)
    results = Path(results)
    stem = results / f"table{plan.table.number}"
    markdown, csv, png = stem.with_suffix(".md"), stem.with_suffix(".csv"), stem.with_suffix(".png")
    atomic_write_bytes(markdown, (render(plan, frame, reference) + "\n").encode())
    flat = frame.assign(row=frame.row.map(lambda label: " ".join(label).strip()))
    atomic_write_bytes(csv, flat.to_csv(index=False).encode())
    atomic_write_bytes(png, figure(plan, frame))
    return markdown, csv, png
