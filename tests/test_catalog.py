"""The catalogues of methods and tasks: torch-free entries that point at their implementations, typed
settings per profile, and the plugin decorators that build the same entries from a class."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from dataclasses import dataclass
from typing import ClassVar

import pytest

from suite.errors import SuiteError
from suite.finetune.catalog import TASKS, TaskEntry
from suite.pretrain.catalog import METHODS, MethodEntry


def test_reading_the_catalogues_imports_no_torch():
    code = (
        "import sys, suite.pretrain.catalog, suite.finetune.catalog\n"
        "suite.pretrain.catalog.METHODS.names(); suite.finetune.catalog.TASKS.names()\n"
        "import suite.pretrain, suite.baselines, suite.finetune\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("registry", [METHODS, TASKS], ids=["methods", "tasks"])
def test_every_entry_names_its_implementation(registry):
    from suite.finetune.task import Task
    from suite.pretrain.method import Method

    base = Method if registry is METHODS else Task
    for entry in (e for e in registry.entries() if e.implementation.startswith("suite.")):  # not tests'
        cls = registry.load(entry.name)
        assert issubclass(cls, base) and cls.name == entry.name and cls.Config is entry.settings
        assert entry.summary, entry.name
        for profile in ("paper", "demo", "smoke"):
            registry.settings(entry.name, profile=profile)  # every profile's changes fit the settings


def test_profiles_scale_the_settings_the_entries_have():
    assert METHODS.settings("moco-v2", profile="demo").queue_size == 256  # the demo profile's "*"
    assert METHODS.settings("moco-v2", profile="paper").queue_size == 65536
    assert METHODS.settings("pixpro", profile="demo") == METHODS.settings("pixpro")  # no queue
    official = METHODS.settings("liftedcl", profile="smoke", variant="official")
    assert (official.queue_size, official.variant) == (256, "official")
    demo = TASKS.settings("h36m-3d", profile="demo", changes={"milestones": [3], "epochs": "4"})
    assert (demo.input_size, demo.epochs, demo.milestones) == (64, 4, (3,))  # JSON lists are tuples
    with pytest.raises(SuiteError, match="no variant 'official'"):
        METHODS.settings("moco-v2", variant="official")
    with pytest.raises(SuiteError, match="setting epochs takes an integer, not 'x'"):
        TASKS.settings("classification", changes={"epochs": "x"})


def test_task_entries_name_a_direction_for_each_metric_and_the_trainers_settings():
    @dataclass(frozen=True)
    class Settings:
        batch_size: int = 1
        epochs: int = 1

    with pytest.raises(ValueError, match=r"lacks \['init'\]"):
        TaskEntry("x", Settings, "m:X", metrics=("a",), lower_is_better={"a": True})


def test_the_decorators_build_entries_from_the_class():
    from suite.finetune.task import Task, register_task
    from suite.pretrain.method import Method, register

    @dataclass(frozen=True)
    class ToySettings:
        batch_size: int = 2
        epochs: int = 1
        init: str = "torchvision"

    class ToyTask(Task):
        """A toy task."""

        name = "toy-catalogue-task"
        Config = ToySettings
        datasets = ("generic",)
        metrics = ("score",)
        lower_is_better: ClassVar[dict[str, bool]] = {"score": False}
        profiles: ClassVar[dict] = {"demo": {"epochs": 3}}

    class ToyMethod(Method):
        """A toy method."""

        name = "toy-catalogue-method"
        Config = ToySettings
        cost = 3.0

    try:
        register_task(ToyTask)
        register(ToyMethod)
        task, method = TASKS.get("toy-catalogue-task"), METHODS.get("toy-catalogue-method")
        assert isinstance(task, TaskEntry) and isinstance(method, MethodEntry)
        assert (task.summary, task.datasets, task.metrics) == ("A toy task.", ("generic",), ("score",))
        assert task.implementation.endswith(
            ":test_the_decorators_build_entries_from_the_class.<locals>.ToyTask"
        )
        assert (
            TASKS.load("toy-catalogue-task") is ToyTask and METHODS.load("toy-catalogue-method") is ToyMethod
        )
        assert TASKS.settings("toy-catalogue-task", profile="demo").epochs == 3
        assert method.cost == 3.0 and dataclasses.asdict(METHODS.settings(method.name))["batch_size"] == 2

        class Another(ToyMethod):
            pass

        with pytest.raises(ValueError, match="already registered"):
            register(Another)
        del ToyTask.metrics
        with pytest.raises(ValueError, match="lacks metrics"):
            register_task(ToyTask)
    finally:
        TASKS.remove("toy-catalogue-task")
        METHODS.remove("toy-catalogue-method")
