"""Differences you can trust, from records and samples.npz alone: the same weights under two labels are
within noise (an interval holding 0), a clear gain is marked `*` in the table, the CSV holds the bounds,
the index and `compare` say better / worse / within noise, and evaluations without samples.npz still
report with the significance blank and a footnote saying why."""

import numpy as np
import pandas as pd
import pytest

from suite.__main__ import main
from suite.differences import NO_SAMPLES, row_difference
from suite.evaluate.samples import SAMPLES_FILE, mean_samples, to_bytes
from suite.orchestration.plan import make_plan
from suite.orchestration.store import run_dir, write_record
from suite.profiles import SMOKE_RUN
from suite.report import collect, report
from suite.results_index import write_index
from suite.tables import MPJPE, PA_MPJPE, TABLES

FRAMES = 120


def per_frame(seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """(MPJPE, PA-MPJPE) per frame of one evaluation: a seed's model errors plus a row's shift."""
    rng = np.random.default_rng(seed)
    mpjpe = rng.gamma(9.0, 7.0, FRAMES) + shift
    return mpjpe, 0.7 * mpjpe + rng.normal(0, 2.0, FRAMES)


def evaluated(plan, label, values, *, samples=True):
    """An evaluation per seed of the row: its record and, unless told not to, its samples.npz."""
    keys = plan.cells[((label,), MPJPE.name)]
    assert keys == plan.cells[((label,), PA_MPJPE.name)]  # one evaluate run gives both columns
    for key, (mpjpe, pa_mpjpe) in zip(keys, values, strict=True):
        metrics = {"mpjpe": float(mpjpe.mean()), "pa_mpjpe": float(pa_mpjpe.mean())}
        write_record(plan.workdir, key, {"status": "done", "metrics": metrics})
        if samples:
            frames = [f"s_09_act_02_{n:06d}.jpg" for n in range(FRAMES)]
            content = mean_samples(frames, {"mpjpe": mpjpe, "pa_mpjpe": pa_mpjpe})
            (run_dir(plan.workdir, key) / SAMPLES_FILE).write_bytes(to_bytes(content))


def cells(page: str, label: str) -> list[str]:
    line = next(line for line in page.splitlines() if line.startswith(f"| {label} "))
    return [cell.strip() for cell in line.split("|")[1:-1]]


@pytest.fixture
def plan(tmp_path):
    plan = make_plan(TABLES[4], SMOKE_RUN, tmp_path / "work")
    supervised = [per_frame(0)]
    evaluated(plan, "Super. IN", supervised)
    evaluated(plan, "MoCo-v2 IN", supervised)  # the same weights under another label
    evaluated(plan, "Ours IN+CC", [per_frame(0, shift=-8.0)])  # 8 mm better on every frame
    evaluated(plan, "PixPro IN", [per_frame(0, shift=+0.3)], samples=False)  # evaluated before samples
    return plan


def test_identical_rows_are_within_noise_and_a_clear_gain_is_better(plan):
    same = row_difference(plan, ("MoCo-v2 IN",), ("Super. IN",), MPJPE)
    assert same.interval.low <= 0 <= same.interval.high and same.verdict == "within noise"
    gain = row_difference(plan, ("Ours IN+CC",), ("Super. IN",), MPJPE)
    assert gain.interval.high < 0 and gain.verdict == "better"  # lower MPJPE is better
    assert gain.interval.estimate == pytest.approx(-8.0)
    assert row_difference(plan, ("Super. IN",), ("Ours IN+CC",), MPJPE).verdict == "worse"
    old = row_difference(plan, ("PixPro IN",), ("Super. IN",), MPJPE)
    assert old.interval is None and old.verdict == "" and old.reason == NO_SAMPLES
    assert row_difference(plan, ("DenseCL IN",), ("Super. IN",), MPJPE).reason == ""  # no number yet


def test_the_table_marks_significance_and_the_csv_holds_the_bounds(plan, tmp_path):
    markdown, csv, _ = report(plan, tmp_path / "results")
    page = markdown.read_text()
    assert cells(page, "Ours IN+CC")[1].endswith("(-8.0)*")
    assert cells(page, "MoCo-v2 IN")[1].endswith("(+0.0)")  # within noise: no mark
    assert cells(page, "PixPro IN")[1].endswith("(+0.3)")  # no samples: no mark, and a footnote
    assert "- `*`: the 95% paired bootstrap interval excludes 0 (1000 resamples of the test samples" in page
    assert f"- No significance for PixPro IN: {NO_SAMPLES}." in page
    table = pd.read_csv(csv)
    ours = table[(table.row == "Ours IN+CC") & (table.column == "MPJPE")].iloc[0]
    assert ours["diff_low"] < ours["diff"] < ours["diff_high"] < 0 and ours["verdict"] == "better"
    same = table[(table.row == "MoCo-v2 IN") & (table.column == "PA-MPJPE")].iloc[0]
    assert same["diff_low"] <= 0 <= same["diff_high"] and same["verdict"] == "within noise"
    assert np.isnan(table[table.row == "PixPro IN"].diff_low).all()


def test_the_reference_row_is_settable(plan, tmp_path):
    frame = collect(plan, reference="Ours IN+CC")
    line = frame[(frame.row == ("Super. IN",)) & (frame.column == "MPJPE")].iloc[0]
    assert line["diff"] == pytest.approx(8.0) and line["verdict"] == "worse"
    assert main(["report", "--table", "4", "--profile", "smoke", "--workdir", str(plan.workdir),
                 "--results", str(tmp_path / "r"), "--reference", "Ours IN+CC"]) == 0  # fmt: skip
    page = (tmp_path / "r" / "table4.md").read_text()
    assert "Differences in parentheses are to the Ours IN+CC row" in page
    assert main(["report", "--table", "4", "--profile", "smoke", "--workdir", str(plan.workdir),
                 "--results", str(tmp_path / "r"), "--reference", "Nobody"]) == 2  # fmt: skip


def test_the_index_says_better_worse_or_within_noise(plan, tmp_path):
    report(plan, tmp_path / "results")
    page = write_index([plan], tmp_path / "results").read_text()
    line = next(line for line in page.splitlines() if line.startswith("| Super. IN "))
    assert line.count(", better") == 2
    line = next(line for line in page.splitlines() if line.startswith("| PixPro IN "))
    assert "better" not in line and "noise" not in line  # no samples: the verdict is left blank


def test_compare_prints_both_rows_the_difference_its_interval_and_the_verdict(plan, capsys):
    workdir = str(plan.workdir)
    args = ["compare", "--table", "4", "--profile", "smoke", "--workdir", workdir]
    assert main([*args, "--rows", "MoCo-v2 IN,Super. IN"]) == 0
    out = capsys.readouterr().out
    assert "MoCo-v2 IN (A) against Super. IN (B)" in out
    row = next(line for line in out.splitlines() if line.startswith("| MPJPE"))
    low, high = (float(v) for v in row.split("[")[1].split("]")[0].split(","))
    assert low <= 0 <= high and "within noise" in row and "+0.0" in row
    assert main([*args, "--rows", "Ours IN+CC"]) == 0  # against the reference row
    out = capsys.readouterr().out
    assert "against Super. IN (B)" in out and out.count("better") == 2
    assert main([*args, "--rows", "PixPro IN"]) == 0
    assert "no per-sample values" in capsys.readouterr().out
    assert main([*args, "--rows", "Nobody,Super. IN"]) == 2


def test_several_seeds_are_paired_and_resampled_too(tmp_path):
    plan = make_plan(TABLES[4], SMOKE_RUN, tmp_path / "work", seeds=(0, 1, 2))
    evaluated(plan, "Super. IN", [per_frame(seed) for seed in (0, 1, 2)])
    evaluated(
        plan, "Ours IN+CC", [per_frame(seed, shift=shift) for seed, shift in ((0, -6), (1, 4), (2, -4))]
    )
    difference = row_difference(plan, ("Ours IN+CC",), ("Super. IN",), MPJPE)
    assert difference.interval.seeds == 3 and difference.interval.estimate == pytest.approx(-2.0)
    # the seeds disagree (-6 to +4): their spread widens the interval past 0
    assert (
        difference.interval.low < -2.0 < 0 < difference.interval.high and difference.verdict == "within noise"
    )


def test_a_corrupt_samples_file_is_one_clean_error(plan, tmp_path):
    (key,) = plan.cells[(("Ours IN+CC",), MPJPE.name)]
    (run_dir(plan.workdir, key) / SAMPLES_FILE).write_bytes(b"not a zip")
    args = ["report", "--table", "4", "--profile", "smoke", "--workdir", str(plan.workdir)]
    assert main([*args, "--results", str(tmp_path / "r")]) == 2
    assert not (tmp_path / "r" / "table4.md").exists()
