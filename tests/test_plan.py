"""Plans: the runs a table needs, keyed by what decides their results and shared where the same."""

import dataclasses
import hashlib

import pytest

from suite.errors import SuiteError
from suite.finetune.catalog import TASKS
from suite.orchestration.cluster import JOB_KINDS
from suite.orchestration.kinds import KINDS
from suite.orchestration.plan import make_plan, run_key
from suite.pretrain.catalog import METHODS
from suite.profiles import DEMO_RUN, PAPER_RUN
from suite.tables import TABLES, Column, Row, Table, with_extra_methods


@pytest.fixture
def plan4(tmp_path):
    return make_plan(TABLES[4], DEMO_RUN, tmp_path)


def kinds(plan):
    counts = {}
    for run in plan.runs.values():
        counts[run.kind] = counts.get(run.kind, 0) + 1
    return counts


def test_table4_demo_is_one_run_per_distinct_recipe_stage(plan4):
    # 8 rows can run (ReSim has no implementation); stage I "MoCo-v2 IN" is shared by three rows
    assert kinds(plan4) == {"synth": 1, "crops": 1, "pretrain": 7, "finetune": 8, "evaluate": 8}
    assert list(plan4.unavailable) == [("ReSim-C4 IN",)]
    assert "official weights" in plan4.unavailable[("ReSim-C4 IN",)]
    mocov2_in = plan4.runs[plan4.row_runs[("MoCo-v2 IN",)][1]]
    assert mocov2_in.kind == "pretrain" and mocov2_in.spec["method"] == "moco-v2"
    readers = [run for run in plan4.runs.values() if mocov2_in.key in run.needs]
    assert sorted(run.label for run in readers) == [
        "h36m-3d fine-tune ← MoCo-v2 IN",
        "moco-v2 IN → liftedcl CC",
        "moco-v2 IN → moco-v2 CC",
    ]


def test_runs_come_after_the_runs_they_read(plan4):
    seen = set()
    for key, run in plan4.runs.items():
        assert set(run.needs) <= seen, run.label
        seen.add(key)


def test_keys_depend_on_what_decides_a_result_not_on_where(plan4, tmp_path):
    elsewhere = make_plan(TABLES[4], DEMO_RUN, tmp_path / "other")
    assert list(elsewhere.runs) == list(plan4.runs)
    assert run_key("finetune", {"a": 1, "b": [1, 2]}) == run_key("finetune", {"b": [1, 2], "a": 1})
    # a pre-training budget changes every pre-training and what reads it, not the data or the random row
    longer = dataclasses.replace(DEMO_RUN, pretrain_epochs=DEMO_RUN.pretrain_epochs + 1)
    changed = make_plan(TABLES[4], longer, tmp_path)
    assert plan4.row_runs[("Random init.",)] == changed.row_runs[("Random init.",)]
    ours = [plan4.runs[key] for key in plan4.row_runs[("Ours IN+CC",)]]
    assert {run.kind for run in ours if run.key in changed.runs} == {"synth", "crops"}


def test_the_same_recipe_in_two_tables_is_one_run(tmp_path):
    four = make_plan(TABLES[4], DEMO_RUN, tmp_path)
    # Table 8's rows on Table 4's column: the full model is "Ours IN+CC", the ablations are new runs
    eight = Table(8, "loss ablations on 3D pose", TABLES[8].rows, TABLES[4].columns[1:])
    ablations = make_plan(eight, DEMO_RUN, tmp_path)
    full = ablations.cells[(("Inv. + Equiv. + Lifting",), "PA-MPJPE")]
    assert full == four.cells[(("Ours IN+CC",), "PA-MPJPE")]
    inv = ablations.runs[ablations.row_runs[("Inv.",)][-3]]
    assert inv.spec["config"]["losses"] == "inv"


def test_seeds_repeat_fine_tuning_on_the_same_pre_training(tmp_path):
    plan = make_plan(TABLES[4], DEMO_RUN, tmp_path, seeds=(0, 1, 2))
    assert kinds(plan)["pretrain"] == 7 and kinds(plan)["finetune"] == 24
    cell = plan.cells[(("Ours IN+CC",), "MPJPE")]
    assert len(set(cell)) == 3 and "(seed 2)" in plan.runs[cell[2]].label


def test_extra_method_reuses_mocov2_in(tmp_path, plan4):
    plan = make_plan(with_extra_methods(TABLES[4], ("densecl",)), DEMO_RUN, tmp_path)
    extra = plan.row_runs[("densecl IN+CC",)]
    assert plan4.row_runs[("MoCo-v2 IN",)][1] in extra
    assert plan.runs[extra[-3]].label == "moco-v2 IN → densecl CC"
    with pytest.raises(SuiteError, match="unknown method 'nope'"):
        make_plan(with_extra_methods(TABLES[4], ("nope",)), DEMO_RUN, tmp_path)


def test_tables_whose_tasks_are_not_built_are_refused(tmp_path):
    unbuilt = dataclasses.replace(TABLES[6], columns=(Column("mIoU", "no-such-task", "miou"),))
    with pytest.raises(
        SuiteError, match=r"Table 6 needs the fine-tuning task\(s\) no-such-task.*not built"
    ) as e:
        make_plan(unbuilt, DEMO_RUN, tmp_path)
    assert "4" in e.value.fix and "6" in e.value.fix


def test_paper_profile_takes_the_configured_official_weights(tmp_path, monkeypatch):
    for name in ("SUITE_CONFIG", "SUITE_COCO_ROOT", "SUITE_H36M_ROOT", "SUITE_MPII_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for dataset in ("coco", "h36m", "mpii"):
        monkeypatch.setenv(f"SUITE_{dataset.upper()}_ROOT", str(tmp_path / dataset))
    weights = tmp_path / "moco_v2_200ep_pretrain.pth.tar"
    weights.write_bytes(b"weights")
    monkeypatch.setenv("SUITE_WEIGHTS_MOCO_V2_IN", str(weights))
    plan = make_plan(TABLES[4], PAPER_RUN, tmp_path)
    official = plan.runs[plan.row_runs[("MoCo-v2 IN",)][0]]
    assert official.kind == "weights" and official.inputs["path"] == str(weights)
    assert official.spec["sha256"] == hashlib.sha256(b"weights").hexdigest()
    # stage II reads the official file; rows without configured weights say what to set
    assert official.key in plan.runs[plan.row_runs[("Ours IN+CC",)][-3]].needs
    reason = plan.unavailable[("PixPro IN",)]
    assert "pixpro-in" in reason and "SUITE_WEIGHTS_PIXPRO_IN" in reason
    assert ("Random init.",) not in plan.unavailable and ("Super. IN",) in plan.unavailable


def test_every_kind_has_a_job_section_an_output_and_a_function():
    assert list(KINDS) == [
        "synth",
        "crops",
        "h36m-crops",
        "weights",
        "import",
        "pretrain",
        "finetune",
        "evaluate",
    ]
    for kind in KINDS.values():
        if kind.runs:
            assert kind.job in JOB_KINDS and kind.output
            assert callable(kind.function())  # suite.orchestration.jobs: no torch until it runs
        else:
            assert (kind.job, kind.output) == (None, None)


def test_estimates_come_from_the_profile_the_methods_and_the_tasks(plan4):
    hours = DEMO_RUN.hours
    ours = [plan4.runs[key] for key in plan4.row_runs[("Ours IN+CC",)]]
    by_kind = {run.kind: run for run in ours}
    assert plan4.hours(by_kind["synth"]) == plan4.hours(by_kind["crops"]) == hours["prepare"]
    lifted = ours[-3]
    assert lifted.spec["method"] == "liftedcl"
    assert plan4.hours(lifted) == pytest.approx(hours["pretrain:CC"] * METHODS.get("liftedcl").cost)
    supervised = plan4.runs[plan4.row_runs[("Super. IN",)][1]]
    assert plan4.hours(supervised) == hours["pretrain:supervised"]
    train, test = TASKS.get("h36m-3d").hours["demo"]
    assert (plan4.hours(by_kind["finetune"]), plan4.hours(by_kind["evaluate"])) == (train, test)


def test_a_row_whose_settings_the_task_refuses_cannot_run_and_leaves_no_runs(tmp_path, plan4):
    rows = (*TABLES[4].rows[:3], Row(("Odd",), TABLES[4].rows[2].stages, (("no_such_setting", 1),)))
    plan = make_plan(Table(4, "odd", rows, TABLES[4].columns), DEMO_RUN, tmp_path)
    assert "no_such_setting" in plan.unavailable[("Odd",)]
    assert ("Odd",) not in plan.row_runs and not any(label == ("Odd",) for label, _ in plan.cells)
    assert set(plan.runs) == {key for keys in plan.row_runs.values() for key in keys}
