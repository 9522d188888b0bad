"""The command line: --help on every verb, clean errors, the skeletons verb end to end."""

import re
import subprocess
import sys

import numpy as np
import pytest

from suite.cli import build_parser, main


def _verbs(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from _verbs(sub, (*prefix, name))


@pytest.mark.parametrize("verb", list(_verbs(build_parser())))
def test_help_on_every_verb(verb, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*verb, "--help"])
    assert exit_.value.code == 0
    assert "usage: python -m suite " + " ".join(verb) in capsys.readouterr().out


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "suite", "--help"], capture_output=True, text=True, check=True
    )
    assert "data" in result.stdout


def test_skeletons_verb_writes_array_and_figure(tmp_path):
    out, plot = tmp_path / "s.npy", tmp_path / "s.png"
    assert (
        main(["data", "skeletons", "--n", "40", "--seed", "2", "--out", str(out), "--plot", str(plot)]) == 0
    )
    skeletons = np.load(out)
    assert skeletons.shape == (40, 17, 3) and skeletons.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(skeletons.reshape(40, -1), axis=1), 1, atol=1e-5)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_user_errors_print_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SUITE_CONFIG", str(tmp_path / "nope.toml"))
    assert main(["data", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "nope.toml" in err and "Traceback" not in err


def _fake_stage(monkeypatch, module: str, function: str) -> dict:
    """Replace a stage's entry point by one that records its arguments (no torch, no training)."""
    import types

    calls: dict = {}

    def record(*args, **kwargs):
        calls.update(kwargs, args=args)
        return {} if function == "finetune" else "checkpoint.pt"

    fake = types.SimpleNamespace(**{function: record, "task_data": lambda task, data: {}})
    monkeypatch.setitem(sys.modules, module, fake)
    return calls


def test_set_values_take_their_settings_types(monkeypatch, tmp_path):
    calls = _fake_stage(monkeypatch, "suite.pretrain.run", "pretrain")
    common = ["--data", str(tmp_path), "--out", str(tmp_path / "run"), "--profile", "demo"]
    sets = ["--set", "real_skeletons=none", "--set", "queue_size=1024", "--set", "temperature=1/5"]
    assert main(["pretrain", "--method", "liftedcl", *common, *sets, "--set", "losses=inv"]) == 0
    assert calls["changes"] == {
        "real_skeletons": None,
        "queue_size": 1024,
        "temperature": 0.2,
        "losses": "inv",
    }

    calls = _fake_stage(monkeypatch, "suite.finetune.run", "finetune")
    sets = ["occlusion=false", "flip_test=true", "milestones=1,2", "occlusion_area=(0, 0.5)", "lr=1e-3"]
    assert main(["finetune", "--task", "h36m-3d", *common, *(f"--set={s}" for s in sets)]) == 0
    assert calls["changes"] == {
        "occlusion": False,
        "flip_test": True,
        "milestones": (1, 2),
        "occlusion_area": (0.0, 0.5),
        "lr": 1e-3,
    }
    assert type(calls["changes"]["lr"]) is float and type(calls["changes"]["occlusion"]) is bool


@pytest.mark.parametrize(
    ("verb", "setting", "words"),
    [
        (["pretrain", "--method", "moco-v2"], "queue_size=abc", ("queue_size", "an integer", "'abc'")),
        (["pretrain", "--method", "moco-v2"], "queue_size", ("queue_size", "no value", "an integer")),
        (["pretrain", "--method", "liftedcl"], "losses=inv+adv", ("losses", "inv+adv")),
        (["pretrain", "--method", "pixpro"], "queue_size=16", ("no setting queue_size",)),
        (["finetune", "--task", "h36m-3d"], "occlusion=maybe", ("occlusion", "true/false")),
        (["finetune", "--task", "h36m-3d"], "occlusion_area=1,2,3", ("occlusion_area", "2 comma-separated")),
    ],
)
def test_a_set_that_does_not_fit_stops_with_the_setting_and_its_type(verb, setting, words, tmp_path, capsys):
    arguments = [*verb, "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--set", setting]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith("error: ") and all(word in first for word in words), err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


def test_unknown_method_or_task_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["pretrain", "--method", "simclr", "--data", "d", "--out", "o"])
    assert exit_.value.code == 2 and "invalid choice: 'simclr'" in capsys.readouterr().err


@pytest.mark.parametrize(("verb", "registry"), [("pretrain", "METHODS"), ("finetune", "TASKS")])
def test_help_lists_every_setting_with_its_type_and_default(verb, registry, capsys):
    from suite.finetune.catalog import TASKS
    from suite.pretrain.catalog import METHODS
    from suite.registry import setting_rows

    with pytest.raises(SystemExit):
        main([verb, "--help"])
    out = capsys.readouterr().out
    for entry in {"METHODS": METHODS, "TASKS": TASKS}[registry].entries():
        heading = f"  {entry.name}: {entry.summary}\n" if entry.summary else f"  {entry.name}\n"
        assert heading in out
        for name, kind, default in setting_rows(entry.settings):
            assert re.search(rf"^    {re.escape(name)} +{re.escape(kind)} +{re.escape(default)}$", out, re.M)
    assert ("variants (--variant): official" in out) == (verb == "pretrain")
    assert "at demo: " in out


@pytest.mark.parametrize("verb", ["pretrain", "finetune"])
def test_help_of_the_stages_imports_no_torch(verb):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "suite", verb, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not {name for name in loaded if name.split(".")[0] in ("torch", "torchvision")}
    assert "queue_size" in result.stdout or "input_size" in result.stdout


def test_the_parsers_torch_free_names_are_the_modules():
    from suite.checkpoints.export import TARGETS
    from suite.checkpoints.formats import FORMATS
    from suite.checkpoints.importers import IMPORTERS

    assert FORMATS == tuple(importer.name for importer in IMPORTERS)
    assert TARGETS == ("torchvision", "mmpose")
