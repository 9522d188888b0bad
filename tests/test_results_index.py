"""`--table all`: every table's runs as one DAG, each run once; results/README.md lists every table
with its status and LiftedCL's row against each other row, computed from the records by hand here."""

import pytest

from suite.__main__ import main
from suite.orchestration.plan import combine, make_plan
from suite.orchestration.store import write_record
from suite.profiles import SMOKE_RUN
from suite.report import collect, report
from suite.results_index import headline, liftedcl_row, write_index
from suite.tables import TABLES


@pytest.fixture
def plans(tmp_path):
    return [make_plan(TABLES[n], SMOKE_RUN, tmp_path / "work") for n in (3, 4, 7)]


def test_combined_plan_holds_each_run_once_after_the_runs_it_reads(plans):
    combined = combine(plans)
    union = {key for plan in plans for key in plan.runs}
    assert list(combined.runs) == list(dict.fromkeys(key for plan in plans for key in plan.runs))
    assert set(combined.runs) == union and len(union) < sum(len(plan.runs) for plan in plans)
    position = {key: i for i, key in enumerate(combined.runs)}
    assert all(position[need] < position[key] for key, run in combined.runs.items() for need in run.needs)
    # Table 4's random-init h36m-3d cell is Table 7's too: one run
    shared = plans[1].cells[(("Random init.",), "MPJPE")]
    assert shared == plans[2].cells[(("Random init.", "-", "-"), "PA-MPJPE")]
    assert combined.name == "Tables 3, 4, 7"
    assert ("Table 4:", "ReSim-C4 IN") in combined.unavailable


def test_liftedcl_row_is_the_papers_best_row_with_a_liftedcl_stage(tmp_path):
    expected = {1: ("Ours* IN+CC",), 4: ("Ours IN+CC",), 7: ("Ours", "ImageNet + COCO", "200")}
    expected |= {8: ("Inv. + Equiv. + Lifting",), 9: ("Ours + prior",)}
    for number, label in expected.items():
        plan = make_plan(TABLES[number], SMOKE_RUN, tmp_path / "work")
        assert liftedcl_row(plan.table, collect(plan)) == label


def finish(plan, label, mpjpe, pa_mpjpe):
    for column in ("MPJPE", "PA-MPJPE"):
        (key,) = plan.cells[((label,), column)]
        write_record(plan.workdir, key, {"status": "done", "metrics": {"mpjpe": mpjpe, "pa_mpjpe": pa_mpjpe}})


def test_index_compares_liftedcl_with_each_row_as_the_paper_does(plans, tmp_path):
    table4 = plans[1]
    finish(table4, "Ours IN+CC", 57.0, 45.0)
    finish(table4, "MoCo-v2 IN", 60.0, 44.0)  # paper: 61.0 and 46.3, LiftedCL ahead in both
    finish(table4, "Random init.", 57.0, 52.0)  # a tie is not "ahead"
    comparison = headline(table4.table, collect(table4))
    assert comparison[(("MoCo-v2 IN",), "MPJPE")] == pytest.approx((3.0, 61.0 - 56.9, True))
    assert comparison[(("MoCo-v2 IN",), "PA-MPJPE")] == pytest.approx((-1.0, 46.3 - 42.5, False))
    assert comparison[(("Random init.",), "MPJPE")][2] is False
    assert comparison[(("DenseCL IN",), "MPJPE")][2] is None  # no number on this run
    for plan in plans:
        report(plan, tmp_path / "results")
    page = write_index(plans, tmp_path / "results").read_text()
    for number in (3, 4, 7):
        assert f"## Table {number}: {TABLES[number].caption}" in page
        assert (
            f"[table{number}.md](table{number}.md)" in page
            and f"[table{number}.png](table{number}.png)" in page
        )
    section = page.split("## Table 4")[1].split("## Table 7")[0]
    line = next(line for line in section.splitlines() if line.startswith("| MoCo-v2 IN "))
    assert [cell.strip() for cell in line.split("|")[1:-1]] == [
        "MoCo-v2 IN",
        "+3.0 (paper +4.1) ✓",
        "-1.0 (paper +3.8) ✗",
    ]
    assert "Status: incomplete: rows that cannot run at this profile: ReSim-C4 IN (ReSim has no" in page
    assert (
        "**3 of 6** cells" in page
    )  # ours ahead where the paper is: Table 4 two of four, Table 7 one of two


def test_plan_all_lists_every_table(tmp_path, capsys):
    assert main(["plan", "--table", "all", "--profile", "smoke", "--workdir", str(tmp_path)]) == 0
    assert "Tables 1, 2, 3, 4, 5, 6, 7, 8, 9: every run of the tables, each once" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["plan", "--table", "10"])
