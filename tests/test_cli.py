"""The command line: --help on every verb, clean errors, the skeletons verb end to end."""

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
