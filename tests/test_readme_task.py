"""The README's "Adding a task" example: its settings module lists it in the catalogue without torch,
and the task fine-tunes and tests on the one trainer as promised."""

import re
import sys
import types
from pathlib import Path

import numpy as np

from suite.cli import main
from suite.data.synth import generic
from suite.finetune.catalog import TASKS
from suite.finetune.run import finetune

README = Path(__file__).resolve().parents[1] / "README.md"
MODULES = ("suite.finetune.rotation_settings", "suite.finetune.rotation")


def test_readme_example_task_is_listed_fine_tunes_and_tests(tmp_path, monkeypatch, capsys):
    section = re.search(r"### Adding a task(.*?)\n## ", README.read_text(), re.S).group(1)
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == len(MODULES)
    try:
        for name, code in zip(MODULES, blocks, strict=True):
            module = types.ModuleType(name)
            monkeypatch.setitem(sys.modules, name, module)  # where the entry's implementation points
            exec(compile(code, str(README), "exec"), module.__dict__)
        config = TASKS.settings("rotation", profile="smoke", changes={"lr": "0.05"})
        assert (config.input_size, config.epochs, config.lr) == (32, 1, 0.05)
        try:
            main(["finetune", "--help"])
        except SystemExit:
            pass
        assert "rotation: Which of four quarter turns" in capsys.readouterr().out

        generic.write(tmp_path / "generic", 8, np.random.default_rng(0))
        metrics = finetune(
            "rotation", {"generic": tmp_path / "generic"}, "smoke", tmp_path / "run", init=None, seed=0
        )
        assert 0 <= metrics["accuracy"] <= 100
        assert (tmp_path / "run" / "metrics.json").is_file()
    finally:
        TASKS.remove("rotation")
