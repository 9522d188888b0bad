"""The kinds of run a plan holds, in the order they depend on each other, each defined once.

    synth       SynthHuman, the demo profile's every dataset (`data synth`)
    crops       the COCO human crops of appendix A (`data crops --coco`), the "CC" pre-training source
    h36m-crops  Human3.6M's training subjects as person crops (`data crops --h36m`), Table 7's "H36M"
    weights     an official checkpoint the user supplies (paper profile, "IN" stages); nothing to run
    import      a checkpoint file as a row of its own (`run --extra-weights LABEL=FILE`): the importers'
                trunk, with their load report, as the backbone its fine-tunings read
    pretrain    one stage of a row's recipe (`pretrain`), from the previous stage's backbone
    finetune    a task's training on a row's backbone (random initialisation for "Random init.")
    evaluate    the task's official test protocol on the fine-tuned model: the table's numbers

A kind says what its run leaves in its folder for the runs after it (`output`), which section of a
cluster profile its job takes (`job`: cluster.JOB_KINDS), which function runs it inside the job
(`execute`, "module:function", imported only there: it imports torch) and what it costs (`hours`,
device-hours at a run profile: the profile's own figures, a method's relative cost, a task's hours).
Reading this table imports no torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.tables import PAPER_EPOCHS, SUPERVISED

if TYPE_CHECKING:
    from suite.orchestration.plan import Run
    from suite.profiles import RunProfile


@dataclass(frozen=True)
class Kind:
    name: str
    output: str | None  # file or folder in the run's folder; None: the run's input "path" (weights)
    job: str | None  # the cluster profile section its job takes; None: nothing to run
    execute: str | None  # "module:function(run, folder) -> record fields", run inside the job
    hours: Callable[[Run, RunProfile], float]  # estimated device-hours of one run at a profile
    # files of the run's folder that only a resume reads, deleted once the run is done (launch.prune)
    prunable: tuple[str, ...] = ()

    @property
    def runs(self) -> bool:
        """Whether a job runs it (an official weights file is only checked for)."""
        return self.execute is not None

    def function(self) -> Callable[[Run, Path], dict[str, Any]]:
        """The function that executes a run of this kind (imports its module: torch, for most)."""
        if self.execute is None:
            raise ValueError(f"a {self.name} run has nothing to execute")
        module, _, name = self.execute.partition(":")
        return getattr(importlib.import_module(module), name)


# -- cost estimates ------------------------------------------------------------------------------


def _free(run: Run, profile: RunProfile) -> float:
    return 0.0


def _prepare_hours(run: Run, profile: RunProfile) -> float:
    return profile.hours["prepare"]


def _pretrain_hours(run: Run, profile: RunProfile) -> float:
    """A MoCo-v2 pre-training of profile.epochs(200) epochs on the run's source, scaled by the method's
    step cost (MethodEntry.cost) and the run's epochs; a supervised stage I is the profile's own figure."""
    if run.spec["method"] == SUPERVISED:
        return profile.hours["pretrain:supervised"]
    from suite.pretrain.catalog import METHODS

    scale = METHODS.get(run.spec["method"]).cost * run.spec["epochs"] / profile.epochs(PAPER_EPOCHS)
    return profile.hours[f"pretrain:{run.spec['source']}"] * scale


def task_hours(task: str, profile: str) -> tuple[float, float]:
    """(fine-tuning, evaluation) device-hours of a task at a profile (TaskEntry.hours; 0 if not given)."""
    from suite.finetune.catalog import TASKS

    return tuple(TASKS.get(task).hours.get(profile, (0.0, 0.0)))


def _finetune_hours(run: Run, profile: RunProfile) -> float:
    return task_hours(run.spec["task"], profile.name)[0]


def _evaluate_hours(run: Run, profile: RunProfile) -> float:
    return task_hours(run.spec["task"], profile.name)[1]


# -- the table -----------------------------------------------------------------------------------

_JOBS = "suite.orchestration.jobs"
KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("synth", "synth", "prepare", f"{_JOBS}:run_synth", _prepare_hours),
        Kind("crops", "crops", "prepare", f"{_JOBS}:run_crops", _prepare_hours),
        Kind("h36m-crops", "crops", "prepare", f"{_JOBS}:run_h36m_crops", _prepare_hours),
        Kind("weights", None, None, None, _free),
        Kind("import", "backbone.pt", "prepare", f"{_JOBS}:run_import", _free),
        Kind(
            "pretrain",
            "backbone.pt",
            "pretrain",
            f"{_JOBS}:run_pretrain",
            _pretrain_hours,
            # both encoders, queues, optimisers and RNG states: ~3x backbone.pt, read by a resume alone
            prunable=("checkpoint.pt",),
        ),
        Kind("finetune", "model.pt", "finetune", f"{_JOBS}:run_finetune", _finetune_hours),
        Kind("evaluate", "metrics.json", "evaluate", f"{_JOBS}:run_evaluate", _evaluate_hours),
    )
}
