"""results/README.md: every table of a run at a glance, and the paper's claim checked on it.

For each table: its page and figure, whether it is complete (and, if not, which rows or cells are
missing and why), and the headline comparison. The paper's claim in every table is that LiftedCL's
row beats the others; here, cell by cell, LiftedCL's row against each other row on this run, beside
what the paper printed, and whether the 95% paired bootstrap interval of the difference says LiftedCL is
"better", "worse" or "within noise" (suite/differences.py). LiftedCL's row is, of the rows with a
LiftedCL pre-training stage, the one the paper scores best in its first column (Tables 1-7: "Ours
IN+CC"; 8: all three losses; 9: with the prior).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from suite.differences import row_difference
from suite.io import atomic_write_bytes
from suite.orchestration.plan import Plan
from suite.report import DECIMALS, collect
from suite.tables import Table

INDEX = "README.md"
LIFTEDCL = "liftedcl"


def write_index(plans: list[Plan], results: Path) -> Path:
    """Write results/README.md for the plans' tables (their pages written already); returns its path."""
    sections, wins, claims = [], 0, 0
    for plan in plans:
        frame = collect(plan)
        comparison = headline(plan.table, frame)
        wins += sum(agree for _, _, agree in comparison.values() if agree is not None)
        claims += sum(agree is not None for _, _, agree in comparison.values())
        sections += _section(plan, frame, comparison)
    first = plans[0]
    lines = [
        "# Results: the paper's tables reproduced",
        "",
        f"Profile `{first.profile.name}`, work directory {first.workdir}; regenerate with "
        f"`python -m suite run --table all --profile {first.profile.name}` (a finished run launches "
        "nothing).",
        "",
        f"The paper's headline, LiftedCL's row ahead of each other row where the paper prints it ahead: "
        f"**{wins} of {claims}** cells on this run.",
        "",
        *sections,
    ]
    path = Path(results) / INDEX
    atomic_write_bytes(path, ("\n".join(lines).rstrip() + "\n").encode())
    return path


def liftedcl_row(table: Table, frame: pd.DataFrame) -> tuple[str, ...] | None:
    """The row the paper's claim is about (see the module's docstring); None if the table has none."""
    candidates = [row.label for row in table.rows if any(stage.method == LIFTEDCL for stage in row.stages)]
    if not candidates or not table.columns:
        return None
    column = table.columns[0]
    paper = {label: _value(frame, label, column.name, "paper") for label in candidates}
    known = {label: value for label, value in paper.items() if not np.isnan(value)}
    if not known:
        return candidates[-1]
    best = min if column.lower_is_better else max
    return best(known, key=known.get)


# (row, column) -> (ours minus theirs on this run, the same in the paper, LiftedCL ahead on this run as
# in the paper: True / False, or None where the paper does not print LiftedCL ahead or a number lacks)
Comparison = dict[tuple[tuple[str, ...], str], tuple[float, float, bool | None]]


def headline(table: Table, frame: pd.DataFrame) -> Comparison:
    """LiftedCL's row against every other row, per column: differences signed so that > 0 is better."""
    ours = liftedcl_row(table, frame)
    comparison: Comparison = {}
    if ours is None:
        return comparison
    for row in table.rows:
        if row.label == ours:
            continue
        for column in table.columns:
            sign = -1.0 if column.lower_is_better else 1.0
            run = sign * (
                _value(frame, ours, column.name, "mean") - _value(frame, row.label, column.name, "mean")
            )
            paper = sign * (
                _value(frame, ours, column.name, "paper") - _value(frame, row.label, column.name, "paper")
            )
            claimed = not np.isnan(paper) and paper > 0
            comparison[(row.label, column.name)] = (
                run,
                paper,
                bool(run > 0) if claimed and not np.isnan(run) else None,
            )
    return comparison


def _value(frame: pd.DataFrame, label: tuple[str, ...], column: str, field: str) -> float:
    line = frame[(frame.row == label) & (frame.column == column)]
    return float(line.iloc[0][field]) if len(line) else float("nan")


def verdicts(plan: Plan, frame: pd.DataFrame) -> dict[tuple[tuple[str, ...], str], str]:
    """(row, column) -> LiftedCL's row against that row: "better", "worse", "within noise", or "" where
    there is no interval (a number missing, or evaluations without per-sample values)."""
    ours = liftedcl_row(plan.table, frame)
    if ours is None:
        return {}
    return {
        (row.label, column.name): row_difference(plan, ours, row.label, column).verdict
        for row in plan.table.rows
        if row.label != ours
        for column in plan.table.columns
    }


def _section(plan: Plan, frame: pd.DataFrame, comparison: Comparison) -> list[str]:
    table = plan.table
    stem = f"table{table.number}"
    lines = [
        f"## Table {table.number}: {table.caption}",
        "",
        f"[{stem}.md]({stem}.md) · [{stem}.csv]({stem}.csv) · figure: [{stem}.png]({stem}.png)",
        "",
        f"Status: {_status(plan, frame)}",
        "",
    ]
    ours = liftedcl_row(table, frame)
    if ours is None or not comparison:
        return [*lines, "No LiftedCL row: no headline comparison.", ""]
    noise = verdicts(plan, frame)
    body = []
    for row in table.rows:
        if row.label == ours:
            continue
        line = {"LiftedCL against": _name(row.label)}
        for column in table.columns:
            cell = (row.label, column.name)
            line[column.name] = _comparison_cell(*comparison[cell], noise[cell])
        body.append(line)
    return [
        *lines,
        f"{_name(ours)} against each row: the difference on this run (> 0: LiftedCL better), then the "
        "paper's; ✓ / ✗: ahead / not ahead on this run where the paper prints it ahead; better / worse / "
        "within noise: whether the 95% paired bootstrap interval of the difference excludes 0 (blank: "
        "evaluations without per-sample values).",
        "",
        pd.DataFrame(body).to_markdown(index=False, disable_numparse=True),
        "",
    ]


def _comparison_cell(run: float, paper: float, agree: bool | None, verdict: str = "") -> str:
    ours = "-" if np.isnan(run) else f"{run + 0.0:+.{DECIMALS}f}"  # no -0.0
    theirs = "-" if np.isnan(paper) else f"{paper:+.{DECIMALS}f}"
    mark = {True: " ✓", False: " ✗", None: ""}[agree]
    return f"{ours} (paper {theirs}){mark}" + (f", {verdict}" if verdict else "")


def _status(plan: Plan, frame: pd.DataFrame) -> str:
    """complete, or what is missing and why."""
    missing = [f"{_name(label)} ({reason})" for label, reason in plan.unavailable.items()]
    open_cells = frame[(frame.status != "done") & (frame.status != "unavailable")]
    parts = []
    if missing:
        parts.append("rows that cannot run at this profile: " + "; ".join(missing))
    if len(open_cells):
        counts = open_cells.status.value_counts()
        parts.append("cells without a number: " + ", ".join(f"{n} {status}" for status, n in counts.items()))
    return "complete" if not parts else "incomplete: " + "; ".join(parts)


def _name(label: tuple[str, ...]) -> str:
    return " ".join(label).strip()
