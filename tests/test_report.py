"""The report from records alone: means and spreads over seeds, differences as the paper prints them,
cells without a number saying why, and footnotes that trace every number to its runs."""

import numpy as np
import pandas as pd
import pytest

from suite.orchestration.plan import make_plan
from suite.orchestration.store import write_record
from suite.profiles import SMOKE_RUN
from suite.report import collect, render, report
from suite.tables import TABLES


@pytest.fixture
def plan(tmp_path):
    return make_plan(TABLES[4], SMOKE_RUN, tmp_path / "work", seeds=(0, 1, 2))


def finish(plan, label, values, *, statuses=("done",) * 3):
    """Records of a row's evaluations: (MPJPE, PA-MPJPE) per seed."""
    for column in ("MPJPE", "PA-MPJPE"):
        for key, value, status in zip(plan.cells[((label,), column)], values, statuses, strict=True):
            metrics = {"mpjpe": value[0], "pa_mpjpe": value[1], "baseline/mpjpe": 300.0}
            metrics["baseline/pa_mpjpe"] = 200.0
            write_record(plan.workdir, key, {"status": status, "metrics": metrics, "git_commit": "a" * 40})


def cells(page: str, label: str) -> list[str]:
    """The cells of a row of the markdown table."""
    line = next(line for line in page.splitlines() if line.startswith(f"| {label} "))
    return [cell.strip() for cell in line.split("|")[1:-1]]


def test_seeds_give_mean_and_spread_and_differences_to_the_reference_row(plan, tmp_path):
    supervised = [(60.0, 44.0), (62.0, 45.0), (61.0, 46.0)]
    ours = [(57.0, 42.0), (56.0, 43.5), (58.0, 41.0)]
    finish(plan, "Super. IN", supervised)
    finish(plan, "Ours IN+CC", ours)
    finish(
        plan, "Random init.", [(70.0, 50.0), (71.0, 51.0), (72.0, 52.0)], statuses=("done", "done", "failed")
    )
    frame = collect(plan)
    line = frame[(frame.row == ("Ours IN+CC",)) & (frame.column == "MPJPE")].iloc[0]
    assert line["mean"] == pytest.approx(57.0) and line["std"] == pytest.approx(np.std([57, 56, 58], ddof=1))
    page = render(plan, frame)
    pa_ours, pa_super = np.mean([v[1] for v in ours]), np.mean([v[1] for v in supervised])
    pa_spread = np.std([v[1] for v in ours], ddof=1)
    cell = f"{pa_ours:.1f} ± {pa_spread:.1f} ({pa_ours - pa_super:+.1f})"
    expected = ["Ours IN+CC", "57.0 ± 1.0 (-4.0)", "56.9 (-3.1)", cell, "42.5 (-2.2)"]
    assert cells(page, "Ours IN+CC") == expected
    assert cells(page, "Super. IN")[1:3] == ["61.0 ± 1.0", "60.0"]  # the reference row: no difference
    # two of three seeds: the mean of those, and what became of the other; no difference on this row
    assert cells(page, "Random init.")[1] == "70.5 ± 0.7 (2 of the seeds; others failed)"
    assert cells(page, "MoCo-v2 IN")[1:3] == ["pending", "61.0 (+1.0)"]  # the paper's number beside
    assert "n/a [1]" in page and "- [1] ReSim has no implementation here" in page
    assert "- Baseline, h36m-3d (the mean root-relative training pose" in page and "MPJPE 300.0" in page
    ours_runs = " → ".join(f"{plan.runs[k].kind} {k}" for k in plan.row_runs[("Ours IN+CC",)])
    assert f"  - Ours IN+CC: {ours_runs}" in page
    assert "git commit aaaaaaaaaa" in page and "Fine-tuning seeds: 0, 1, 2" in page


def test_report_writes_markdown_csv_and_figure(plan, tmp_path):
    finish(plan, "Ours IN+CC", [(57.0, 42.0)] * 3)
    markdown, csv, png = report(plan, tmp_path / "results")
    assert markdown.read_text().startswith("# Table 4: 3D Pose Estimation")
    assert "![Table 4, ours beside the paper's](table4.png)" in markdown.read_text()
    table = pd.read_csv(csv)
    assert len(table) == 2 * len(TABLES[4].rows)
    ours = table[(table.row == "Ours IN+CC") & (table.column == "PA-MPJPE")].iloc[0]
    assert (ours["mean"], ours["paper"], ours["seeds"], ours["status"]) == (42.0, 42.5, 3, "done")
    assert png.read_bytes()[:4] == b"\x89PNG"
