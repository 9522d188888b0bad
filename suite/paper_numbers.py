"""The paper's own numbers (results/paper/tableN.csv), as printed: values and printed differences."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from suite.errors import SuiteError

PAPER_RESULTS = Path(__file__).resolve().parents[1] / "results" / "paper"
TABLES = range(1, 10)
LABEL_COLUMNS = {7: 3}  # Table 7 names its rows by method, data set and epochs; the others by one label
REFERENCE_LABEL = re.compile(r"^Super")  # the row the printed differences are taken against
_CELL = re.compile(r"^\s*(-|[-+]?\d+(?:\.\d+)?)\s*(?:\(\s*([-+]?\d+(?:\.\d+)?)\s*\))?\s*$")


@dataclass(frozen=True, eq=False)
class PaperTable:
    number: int
    label_columns: tuple[str, ...]
    metrics: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]  # per row
    values: np.ndarray  # (rows, metrics), NaN where the paper prints "-"
    printed_deltas: np.ndarray  # (rows, metrics), NaN where no difference is printed

    @property
    def reference_row(self) -> int | None:
        """The supervised-ImageNet row the printed differences refer to, if the table has one."""
        rows = [i for i, label in enumerate(self.labels) if REFERENCE_LABEL.match(label[0])]
        return rows[0] if rows else None


def read_paper_table(number: int, root: Path = PAPER_RESULTS) -> PaperTable:
    path = Path(root) / f"table{number}.csv"
    if not path.is_file():
        raise SuiteError("the paper's numbers for this table are missing", path, "restore results/paper/")
    with path.open(newline="") as handle:
        header, *rows = list(csv.reader(handle))
    split = LABEL_COLUMNS.get(number, 1)
    values, deltas = [], []
    for row in rows:
        if len(row) != len(header):
            raise SuiteError(f"row {row[0]!r} has {len(row)} cells, the header {len(header)}", path)
        cells = [_CELL.match(cell) for cell in row[split:]]
        if not all(cells):
            raise SuiteError(f"row {row[0]!r} has a cell that is not a number or 'number (±diff)'", path)
        values.append([np.nan if m.group(1) == "-" else float(m.group(1)) for m in cells])
        deltas.append([np.nan if m.group(2) is None else float(m.group(2)) for m in cells])
    return PaperTable(
        number=number,
        label_columns=tuple(header[:split]),
        metrics=tuple(header[split:]),
        labels=tuple(tuple(row[:split]) for row in rows),
        values=np.array(values),
        printed_deltas=np.array(deltas),
    )
