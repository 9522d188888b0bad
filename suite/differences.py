"""Differences you can trust: the paired bootstrap interval of row A minus row B in a table's column, from
the per-sample values its evaluate runs kept (samples.npz, suite.evaluate.samples).

The two rows are paired by fine-tuning seed (the seeds both have a finished evaluation of) and, within a
seed, by test sample id; suite.evaluate.bootstrap resamples both (1000 resamples, 200 for COCO AP,
each a COCOeval accumulation; 95%, seeded). A cell whose evaluations have no samples.npz (run before
they were kept), or whose metric is NaN, gets no verdict and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from suite.errors import SuiteError
from suite.evaluate.bootstrap import CONFIDENCE, RESAMPLES, Interval, difference, no_verdict, verdict
from suite.evaluate.samples import FEWER_RESAMPLES, SAMPLES_FILE, has_metric, paired, read_samples
from suite.orchestration.plan import Plan
from suite.orchestration.store import read_record, run_dir
from suite.paper_numbers import REFERENCE_LABEL
from suite.tables import Column, Table

NO_SAMPLES = (
    "no per-sample values (samples.npz) beside their evaluations: evaluated before they were kept, or a "
    "task that keeps none; delete the evaluate runs' folders and run again for an interval"
)
NOT_PAIRED = "the rows' evaluations share no test sample ids"


@dataclass(frozen=True)
class Difference:
    interval: Interval | None  # None: no interval, `reason` says why ("" when a row has no number)
    verdict: str  # "better", "worse", "within noise" (A against B, lower_is_better aware) or ""
    reason: str = ""


def row_name(label: tuple[str, ...]) -> str:
    return " ".join(label).strip()


def find_row(table: Table, name: str) -> tuple[str, ...]:
    """The label of the row named `name` (as printed, its words joined, or its first column alone)."""
    for row in table.rows:
        if name in (row_name(row.label), row.label[0]):
            return row.label
    names = ", ".join(repr(row_name(row.label)) for row in table.rows)
    raise SuiteError(f"Table {table.number} has no row {name!r}", fix=f"name one of {names}")


def reference_row(table: Table, name: str | None = None) -> tuple[str, ...] | None:
    """The row differences are taken against: `name`, else the supervised ImageNet row as the paper's."""
    if name is not None:
        return find_row(table, name)
    return next((row.label for row in table.rows if REFERENCE_LABEL.match(row.label[0])), None)


def row_difference(plan: Plan, a: tuple[str, ...], b: tuple[str, ...], column: Column) -> Difference:
    """Row a minus row b in `column`, with its 95% paired bootstrap interval where the samples allow."""
    pairs = [
        (key_a, key_b)
        for key_a, key_b in zip(
            plan.cells.get((a, column.name), ()), plan.cells.get((b, column.name), ()), strict=False
        )
        if _done(plan, key_a) and _done(plan, key_b)
    ]
    if not pairs:
        return Difference(None, "")
    seeds_a, seeds_b = [], []
    for key_a, key_b in pairs:
        sample_a, sample_b = _samples(plan.workdir, key_a), _samples(plan.workdir, key_b)
        if sample_a is None or sample_b is None or not has_metric(sample_a, column.metric):
            return Difference(None, "", NO_SAMPLES)
        both = paired(sample_a, sample_b)
        if both is None:
            return Difference(None, "", NOT_PAIRED)
        seeds_a.append(both[0])
        seeds_b.append(both[1])
    resamples = FEWER_RESAMPLES.get(str(seeds_a[0]["kind"]), RESAMPLES)
    interval = difference(seeds_a, seeds_b, column.metric, n_resamples=resamples, confidence=CONFIDENCE)
    return Difference(interval, verdict(interval, column.lower_is_better), no_verdict(interval))


def _done(plan: Plan, key: str) -> bool:
    return (read_record(plan.workdir, key) or {}).get("status") == "done"


def _samples(workdir: Path, key: str):
    path = run_dir(workdir, key) / SAMPLES_FILE
    return _read(str(path), path.stat().st_mtime_ns if path.is_file() else None)


@lru_cache(maxsize=16)  # a table reads each evaluation's samples once per row it is compared with
def _read(path: str, modified: int | None):
    return None if modified is None else read_samples(Path(path))
