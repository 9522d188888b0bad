"""`--extra-weights LABEL=FILE`: a row fine-tuned from the user's checkpoint, in any table, at any profile.

The row's first run imports the file through the importers (load report and all) into the backbone its
fine-tunings read, keyed by the file's SHA-256 and the profile's trunk. The files are written here in
each new format (tests/test_importers.py's layouts); the slow test runs Table 4 at the smoke profile.
"""

from __future__ import annotations

import hashlib
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchvision
from e2e import records, suite
from test_importers import mmpretrain, solo_learn, timm_train, trunk_of, vissl

from suite.cli import main
from suite.errors import SuiteError
from suite.orchestration.jobs import LOAD_REPORT, execute
from suite.orchestration.plan import make_plan
from suite.orchestration.store import run_dir
from suite.profiles import PAPER_RUN, SMOKE_RUN
from suite.tables import TABLES, with_extra_weights

ROOT = Path(__file__).resolve().parents[1]
FORMATS = {  # the new formats, each written around a full torchvision state dict (fc included)
    "mmpretrain": lambda full: mmpretrain(trunk_of(full)),
    "solo-learn": lambda full: solo_learn(trunk_of(full)),
    "timm": timm_train,
    "vissl": lambda full: vissl(trunk_of(full)),
}


def resnet(arch: str = "resnet18", seed: int = 0, cifar: bool = False) -> dict[str, torch.Tensor]:
    """A freshly initialised torchvision ResNet's state dict (BN statistics as a real one's); `cifar`:
    the 3x3 stem that solo-learn's CIFAR models use."""
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)()
    if cifar:
        model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, 1, bias=False)
    return model.state_dict()


def write(folder: Path, name: str, checkpoint: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, folder / name)
    return folder / name


def row_plan(path: Path, root: Path, label: str = "mine", profile=SMOKE_RUN):
    return make_plan(with_extra_weights(TABLES[4], ((label, str(path)),)), profile, root)


def row_runs(plan, label: str = "mine") -> dict[str, object]:
    return {plan.runs[key].kind: plan.runs[key] for key in plan.row_runs[(label,)]}


def test_the_row_is_keyed_by_the_file_content_and_the_other_rows_keep_their_keys(tmp_path):
    full = resnet()
    path = write(tmp_path / "a", "mine.pth", mmpretrain(trunk_of(full)))
    plan = row_plan(path, tmp_path / "work")
    runs = row_runs(plan)
    assert sorted(runs) == ["evaluate", "finetune", "import", "synth"]
    imported = runs["import"]
    assert imported.spec == {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "arch": "resnet18"}
    assert imported.inputs["path"] == str(path.resolve())
    assert runs["finetune"].spec["init"] == imported.key and imported.key in runs["finetune"].needs
    assert runs["finetune"].inputs["init"] == str(run_dir(tmp_path / "work", imported.key) / "backbone.pt")
    # every paper row keeps its runs and keys
    paper = make_plan(TABLES[4], SMOKE_RUN, tmp_path / "work")
    assert {label: keys for label, keys in plan.row_runs.items() if label != ("mine",)} == paper.row_runs
    # the same bytes elsewhere are the same runs; other bytes are other runs
    copy = tmp_path / "b" / "renamed.ckpt"
    copy.parent.mkdir()
    shutil.copy(path, copy)
    assert row_plan(copy, tmp_path / "work").row_runs[("mine",)] == plan.row_runs[("mine",)]
    other = write(tmp_path / "c", "mine.pth", mmpretrain(trunk_of(resnet(seed=1))))
    changed = row_runs(row_plan(other, tmp_path / "work"))
    assert all(changed[kind].key != runs[kind].key for kind in ("import", "finetune", "evaluate"))


def test_at_the_paper_profile_the_row_imports_a_resnet50(tmp_path, monkeypatch):
    monkeypatch.delenv("SUITE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    for dataset in ("coco", "h36m", "mpii"):
        monkeypatch.setenv(f"SUITE_{dataset.upper()}_ROOT", str(tmp_path / dataset))
    path = write(tmp_path, "r50.pth", resnet("resnet50"))
    plan = row_plan(path, tmp_path / "work", profile=PAPER_RUN)
    runs = row_runs(plan)
    assert sorted(runs) == ["evaluate", "finetune", "import"] and runs["import"].spec["arch"] == "resnet50"
    assert runs["import"].key != row_runs(row_plan(path, tmp_path / "work"))["import"].key


def test_every_table_takes_the_row_on_each_of_its_tasks(tmp_path):
    path = write(tmp_path, "mine.pth", resnet())
    for number, table in TABLES.items():
        plan = make_plan(with_extra_weights(table, (("mine", str(path)),)), SMOKE_RUN, tmp_path / "work")
        label = ("mine", *("",) * (len(table.rows[0].label) - 1))
        finetuned = {
            plan.runs[key].spec["task"] for key in plan.row_runs[label] if plan.runs[key].kind == "finetune"
        }
        assert finetuned == set(table.tasks), number
        assert all(plan.cells[(label, column.name)] for column in table.columns)


def test_a_missing_file_or_a_label_the_table_has_is_refused(tmp_path):
    with pytest.raises(SuiteError, match="checkpoint file not found") as error:
        row_plan(tmp_path / "absent.pth", tmp_path / "work")
    assert error.value.path == tmp_path / "absent.pth"
    path = write(tmp_path, "mine.pth", resnet())
    with pytest.raises(SuiteError, match="two rows named 'Ours IN\\+CC'"):
        row_plan(path, tmp_path / "work", label="Ours IN+CC")
    with pytest.raises(SuiteError, match="two rows named 'mine'"):
        with_extra_weights(TABLES[4], (("mine", str(path)), ("mine", str(path))))


@pytest.mark.parametrize("layout", FORMATS)
def test_the_import_run_leaves_the_trunk_and_its_load_report(tmp_path, layout):
    full = resnet(seed=3)
    path = write(tmp_path, f"mine.{layout}", FORMATS[layout](full))
    imported = row_runs(row_plan(path, tmp_path / "work"))["import"]
    folder = run_dir(tmp_path / "work", imported.key)
    folder.mkdir(parents=True)
    record = execute(imported, folder)
    assert record["format"] == layout and "verdict     OK" in record["load_report"]
    assert (folder / LOAD_REPORT).read_text().startswith(f"LOAD REPORT {path.resolve()}")
    backbone = torch.load(imported.output(tmp_path / "work"), weights_only=True)
    assert backbone.keys() == trunk_of(full).keys()
    assert all(torch.equal(backbone[key], full[key]) for key in backbone)


def test_the_import_run_refuses_a_file_changed_since_the_plan(tmp_path):
    path = write(tmp_path, "mine.pth", resnet())
    imported = row_runs(row_plan(path, tmp_path / "work"))["import"]
    write(tmp_path, "mine.pth", resnet(seed=1))
    with pytest.raises(SuiteError, match="changed after the plan"):
        execute(imported, tmp_path / "folder")


@pytest.mark.parametrize(
    ("checkpoint", "words"),
    [
        (solo_learn(trunk_of(resnet(cifar=True))), r"conv1\.weight \(64, 3, 3, 3\) vs \(64, 3, 7, 7\)"),
        (
            vissl(trunk_of(resnet("resnet50"))),
            r"the checkpoint's trunk is a resnet50, this profile fine-tunes",
        ),
    ],
    ids=["cifar-stem", "resnet50-at-smoke"],
)
def test_run_refuses_a_wrong_trunk_with_the_load_report_before_anything_runs(
    tmp_path, capsys, checkpoint, words
):
    path = write(tmp_path, "wrong.ckpt", checkpoint)
    workdir = tmp_path / "work"
    command = ["run", "--table", "4", "--profile", "smoke", "--workdir", str(workdir), "--executor", "debug"]
    assert main([*command, "--extra-weights", f"mine={path}"]) == 2
    error = capsys.readouterr().err
    assert f"LOAD REPORT {path}" in error and "verdict" in error
    assert re.search(words, error)
    assert not (workdir / "runs").exists()


def test_plan_shows_the_row_without_torch_and_rejects_a_malformed_option(tmp_path, capsys):
    path = write(tmp_path, "mine.pth", resnet())
    code = (
        "import sys\nfrom suite.cli import main\n"
        f"main(['plan', '--table', '4', '--profile', 'smoke', '--workdir', {str(tmp_path / 'work')!r}, "
        f"'--extra-weights', 'mine={path}'])\n"
        "print('torch loaded' if 'torch' in sys.modules else 'no torch')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "import mine (mine.pth)" in result.stdout and "h36m-3d fine-tune ← mine" in result.stdout
    assert result.stdout.rstrip().endswith("no torch")
    with pytest.raises(SystemExit) as exit:
        main(["plan", "--table", "4", "--extra-weights", str(path)])
    assert exit.value.code == 2 and "expected LABEL=FILE" in capsys.readouterr().err


@pytest.mark.slow
def test_run_table4_at_smoke_has_the_rows_with_numbers(tmp_path):
    """The acceptance run: Table 4 at the smoke profile with two rows of the user's files (MMPretrain's
    layout and VISSL's), then `status` and `report` with the same options."""
    mine = write(tmp_path / "ckpt", "mine.pth", mmpretrain(trunk_of(resnet(seed=5))))
    theirs = write(
        tmp_path / "ckpt", "model_final_checkpoint_phase199.torch", vissl(trunk_of(resnet(seed=6)))
    )
    workdir, results = tmp_path / "work", tmp_path / "results"
    options = ["--extra-weights", f"mine={mine}", "--extra-weights", f"vissl r18={theirs}"]
    command = [
        *suite("run", "--table", "4", workdir=workdir),
        "--executor",
        "local",
        "--results",
        str(results),
    ]
    result = subprocess.run([*command, *options], capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count("verdict     OK") == 2  # each file's load report, before anything ran
    frame = pd.read_csv(results / "table4.csv")
    for label in ("mine", "vissl r18"):
        row = frame[frame.row == label]
        assert len(row) == 2 and (row.status == "done").all(), label
        assert all(math.isfinite(value) for value in row["mean"]), label
    assert "| mine " in (results / "table4.md").read_text()
    imports = [r for r in records(workdir).values() if r["kind"] == "import"]
    assert sorted(r["format"] for r in imports) == ["mmpretrain", "vissl"]
    status = subprocess.run(
        [*suite("status", "--table", "4", workdir=workdir), *options], capture_output=True, text=True
    )
    assert status.returncode == 0 and "31 runs: 31 done" in status.stdout
