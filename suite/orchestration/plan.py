"""A table spec at a profile becomes a DAG of runs, each keyed by a hash of what decides its result.

    plan = make_plan(table(4), run_profile("demo"), workdir)

The kinds of run (synth, crops, h36m-crops, weights, import, pretrain, finetune, evaluate) are in
kinds.py.

A run's key is the SHA-256 of its kind and spec: the method or task with its resolved settings
(paper defaults, profile overrides, the row's changes), the profile's scale, the seed, and the keys
of the runs it reads. Rows and tables that need the same run share it: Table 4's "MoCo-v2 IN" stage
is one run for five rows. Paths (dataset roots, where the work directory is) are not part of a key;
they are the run's inputs. A file the user supplies (official weights, an --extra-weights row's
checkpoint) is keyed by its SHA-256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite.config import dataset_roots, env_var, official_weights, weights_variable
from suite.data.layouts import H36M_RLE_ANNOTATIONS, H36M_TRAIN_SUBJECTS, SYNTH_FOLDERS, SYNTH_VERSION
from suite.errors import SuiteError
from suite.finetune.catalog import TASKS
from suite.orchestration.kinds import KINDS
from suite.orchestration.store import run_dir
from suite.pretrain.catalog import METHODS
from suite.profiles import RunProfile, finetune_profile
from suite.tables import RESIM, SUPERVISED, TABLES, Row, Stage, Table

VERSION = 1  # bump when a change of code changes what an existing key would compute
SUPERVISED_TASK = "classification"  # how a 'Super.' stage I is trained in the profiles that train it
SOURCE_DATASET = {"IN": "generic", "CC": "coco", "H36M": "h36m"}
BUILT_SOURCES = ("IN", "CC", "H36M")  # pre-training sources whose preparation exists
CROPS_SPLIT = "train2017"
# Table 7's "H36M" source (suite/data/h36m_crops.py): the RLE training file's frames of the training
# subjects, every H36M_CROPS_STRIDE-th (every frame: the paper does not say it subsamples).
H36M_CROPS_ANNOTATIONS = H36M_RLE_ANNOTATIONS["train"]
H36M_CROPS_STRIDE = 1


@dataclass(frozen=True)
class Run:
    key: str
    kind: str
    label: str  # what it is, for people
    spec: dict[str, Any]  # everything that decides the result (hashed into the key)
    inputs: dict[str, str]  # where things are: dataset roots, input files (not hashed)
    needs: tuple[str, ...]  # keys of the runs whose outputs it reads

    def output(self, root: Path) -> Path:
        """What the run leaves for the runs after it (an official weights file: the user's file)."""
        output = KINDS[self.kind].output
        return Path(self.inputs["path"]) if output is None else run_dir(root, self.key) / output


@dataclass
class Plan:
    table: Table
    profile: RunProfile
    workdir: Path
    seeds: tuple[int, ...]
    runs: dict[str, Run] = field(default_factory=dict)  # in dependency order
    cells: dict[tuple[tuple[str, ...], str], tuple[str, ...]] = field(default_factory=dict)  # evaluate keys
    row_runs: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)  # a row's runs
    unavailable: dict[tuple[str, ...], str] = field(default_factory=dict)  # rows that cannot run, why
    parts: tuple[Plan, ...] = ()  # the tables' plans, when this one runs several (combine)

    @property
    def name(self) -> str:
        numbers = [plan.table.number for plan in self.parts] or [self.table.number]
        return f"Table{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"

    @property
    def caption(self) -> str:
        return "every run of the tables, each once" if self.parts else self.table.caption

    def add(self, run: Run) -> Run:
        self.runs.setdefault(run.key, run)
        return self.runs[run.key]

    def ancestors(self, key: str) -> list[str]:
        """The key and every run it depends on, in dependency order."""
        seen: dict[str, None] = {}

        def visit(k: str) -> None:
            for parent in self.runs[k].needs:
                visit(parent)
            seen.setdefault(k, None)

        visit(key)
        return list(seen)

    def hours(self, run: Run) -> float:
        """Estimated device-hours of one run (its kind's estimate at the profile)."""
        return KINDS[run.kind].hours(run, self.profile)


def run_key(kind: str, spec: dict[str, Any]) -> str:
    text = json.dumps({"version": VERSION, "kind": kind, **spec}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_run(kind: str, label: str, spec: dict, inputs: dict | None = None, needs=()) -> Run:
    return Run(run_key(kind, spec), kind, label, spec, {k: str(v) for k, v in (inputs or {}).items()}, needs)


def make_plan(table: Table, profile: RunProfile, workdir: Path, seeds: tuple[int, ...] = (0,)) -> Plan:
    """Every run of every row and column of the table (SuiteError if a column's task is not built)."""
    missing = [task for task in table.tasks if task not in TASKS]
    if missing:
        raise SuiteError(
            f"Table {table.number} needs the fine-tuning task(s) {', '.join(missing)}, "
            "which are not built yet",
            fix=f"run a table whose tasks are built ({', '.join(sorted(_runnable_tables()))})",
        )
    plan = Plan(table, profile, Path(workdir), tuple(seeds))
    data = _Data(plan)
    for row in table.rows:
        before = dict(plan.runs)
        try:
            _row(plan, data, row)
        except Unavailable as reason:
            plan.runs = before  # none of the row's runs, unless another row needs them
            plan.unavailable[row.label] = str(reason)
    return plan


def combine(plans: list[Plan]) -> Plan:
    """The plans' runs as one DAG, each run once (a run that two tables need has one key); their rows
    that cannot run, named by table. Each plan lists its runs in dependency order, so the union does."""
    first = plans[0]
    combined = Plan(Table(0, "", (), ()), first.profile, first.workdir, first.seeds, parts=tuple(plans))
    for plan in plans:
        for run in plan.runs.values():
            combined.add(run)
        for label, reason in plan.unavailable.items():
            combined.unavailable[(f"Table {plan.table.number}:", *label)] = reason
    return combined


def _row(plan: Plan, data: _Data, row: Row) -> None:
    """The runs of a row, its cells' evaluations and its run keys, added to the plan."""
    backbone = _stages(plan, data, row)
    keys: list[str] = [] if backbone is None else plan.ancestors(backbone.key)
    cells = {}
    for column in plan.table.columns:
        cell = []
        for seed in plan.seeds:
            trained = _finetune(plan, data, column.task, row, backbone, seed)
            evaluated = _evaluate(plan, data, column.task, row, trained)
            keys += [key for key in plan.ancestors(evaluated.key) if key not in keys]
            cell.append(evaluated.key)
        cells[(row.label, column.name)] = tuple(cell)
    plan.cells.update(cells)
    plan.row_runs[row.label] = tuple(keys)


def _runnable_tables() -> list[str]:
    return [str(n) for n, t in TABLES.items() if all(task in TASKS for task in t.tasks)]


class Unavailable(Exception):
    """A row that cannot run at this profile (the reason is shown in the plan and the table)."""


class _Data:
    """The dataset roots and prepared data of a plan: SynthHuman in the work directory, or configured."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.synth: Run | None = None
        if plan.profile.synth is not None:
            spec = {"n": plan.profile.synth.n, "seed": plan.profile.synth.seed, "generator": SYNTH_VERSION}
            self.synth = plan.add(make_run("synth", "SynthHuman", spec))
        self.configured = dataset_roots() if self.synth is None else {}

    @property
    def identity(self) -> str:
        """Which data the runs see: the SynthHuman run's key, or the configured datasets."""
        return "configured" if self.synth is None else self.synth.key

    @property
    def needs(self) -> tuple[str, ...]:
        return () if self.synth is None else (self.synth.key,)

    def root(self, dataset: str) -> Path:
        if self.synth is not None:
            return self.synth.output(self.plan.workdir) / SYNTH_FOLDERS[dataset]
        root = self.configured.get(dataset)
        if root is None:
            raise SuiteError(
                f"the {dataset} dataset is not configured",
                fix=f'set {dataset} = "/path" under [datasets] in suite.toml, or {env_var(dataset)}',
            )
        return root

    def crops(self) -> Run:
        spec = {"data": self.identity, "split": CROPS_SPLIT, "require_keypoints": True}
        run = make_run("crops", "COCO human crops", spec, {"coco": self.root("coco")}, self.needs)
        return self.plan.add(run)

    def h36m_crops(self) -> Run:
        """Table 7's "H36M" source; its key names the data, the file, the subjects kept and the stride."""
        spec = {
            "data": self.identity,
            "annotations": H36M_CROPS_ANNOTATIONS,
            "subjects": list(H36M_TRAIN_SUBJECTS),
            "stride": H36M_CROPS_STRIDE,
        }
        run = make_run("h36m-crops", "Human3.6M crops", spec, {"h36m": self.root("h36m")}, self.needs)
        return self.plan.add(run)


def _stages(plan: Plan, data: _Data, row: Row) -> Run | None:
    """The runs of a row's pre-training stages; the last one's backbone (None: random init.)."""
    if row.weights is not None:
        return plan.add(_imported(plan, Path(row.weights), row.label[0]))
    previous: Run | None = None
    names = []
    for stage in row.stages:
        names.append(f"{stage.method} {stage.data}")
        label = " → ".join(names)
        if stage.data == "IN" and plan.profile.stage_one == "official":
            previous = plan.add(_official(stage, label))
        else:
            previous = plan.add(_pretrain(plan, data, stage, previous, label))
    return previous


def _official(stage: Stage, label: str) -> Run:
    name = f"{stage.method}-in"
    path = official_weights().get(name)
    if path is None or not path.is_file():
        where = "is not configured" if path is None else f"is configured as {path}, which does not exist"
        raise Unavailable(
            f"needs the official weights '{name}', which {where}: set {name} = \"/path\" under [weights] "
            f"in suite.toml (or {weights_variable(name)})"
        )
    return make_run("weights", label, {"name": name, "sha256": file_sha256(path)}, {"path": path})


def _imported(plan: Plan, path: Path, label: str) -> Run:
    """An --extra-weights row's checkpoint, imported into the backbone its fine-tunings read. Keyed by
    the file's content and the trunk the profile fine-tunes (the import refuses another), not its path."""
    if not path.is_file():
        what = "is a directory, not a checkpoint file" if path.is_dir() else "checkpoint file not found"
        raise SuiteError(what, path, fix=f"check the FILE of --extra-weights {label}=FILE")
    spec = {"sha256": file_sha256(path), "arch": finetune_profile(plan.profile.name).arch}
    return make_run("import", f"import {label} ({path.name})", spec, {"path": path.resolve()})


def _pretrain(plan: Plan, data: _Data, stage: Stage, init: Run | None, label: str) -> Run:
    if stage.method == RESIM:
        raise Unavailable(
            "ReSim has no implementation here: this row needs its official weights, which only the paper "
            "profile takes (ResNet-50; [weights] resim-c4-in)"
        )
    if stage.data not in BUILT_SOURCES:
        raise Unavailable(f"pre-training on {stage.data} is not built yet")
    profile = plan.profile
    inputs = {"data": data.root(SOURCE_DATASET[stage.data])} if stage.data == "IN" else {}
    needs = [*data.needs]
    prepare = {"CC": data.crops, "H36M": data.h36m_crops}.get(stage.data)
    if prepare is not None:
        crops = prepare()
        inputs["data"] = crops.output(plan.workdir)
        needs = [crops.key]
    if init is not None:
        inputs["init"] = init.output(plan.workdir)
        needs.append(init.key)
    spec = {
        "method": stage.method,
        "source": stage.data,
        "data": data.identity,
        "init": None if init is None else init.key,
        "profile": profile.name,
        "seed": 0,
    }
    if stage.method == SUPERVISED:
        spec |= {"task": SUPERVISED_TASK, "settings": _task_settings(SUPERVISED_TASK, profile, {})}
    else:
        changes = dict(stage.settings)
        config = METHODS.settings(stage.method, profile=profile.name, changes=changes, variant=stage.variant)
        resumable = ("workers", "checkpoint_every")
        scale = {k: v for k, v in dataclasses.asdict(profile.pretrain).items() if k not in resumable}
        spec |= {
            "variant": stage.variant,
            "changes": changes,
            "config": dataclasses.asdict(config),
            "scale": scale | {"epochs": profile.epochs(stage.epochs)},
            "epochs": profile.epochs(stage.epochs),
        }
    return make_run("pretrain", label, spec, inputs, tuple(dict.fromkeys(needs)))


def _finetune(plan: Plan, data: _Data, task: str, row: Row, init: Run | None, seed: int) -> Run:
    changes = dict(row.finetune)
    spec = {
        "task": task,
        "init": None if init is None else init.key,
        "profile": plan.profile.name,
        "changes": changes,
        "settings": _task_settings(task, plan.profile, changes),
        "data": data.identity,
        "seed": seed,
    }
    inputs = {**_task_roots(data, task)}
    needs = [*data.needs]
    if init is not None:
        inputs["init"] = init.output(plan.workdir)
        needs.append(init.key)
    return plan.add(
        make_run("finetune", _cell_label("fine-tune", task, row, seed, plan), spec, inputs, tuple(needs))
    )


def _evaluate(plan: Plan, data: _Data, task: str, row: Row, trained: Run) -> Run:
    keep = ("task", "profile", "changes", "settings", "data")
    spec = {"model": trained.key, **{k: trained.spec[k] for k in keep}}
    inputs = {**_task_roots(data, task), "model": trained.output(plan.workdir)}
    label = _cell_label("test", task, row, trained.spec["seed"], plan)
    return plan.add(make_run("evaluate", label, spec, inputs, (trained.key, *data.needs)))


def _cell_label(what: str, task: str, row: Row, seed: int, plan: Plan) -> str:
    return f"{task} {what} ← {row.label[0]}" + (f" (seed {seed})" if len(plan.seeds) > 1 else "")


def _task_roots(data: _Data, task: str) -> dict[str, Path]:
    return {f"root:{name}": data.root(name) for name in TASKS.get(task).datasets}


def _task_settings(task: str, profile: RunProfile, changes: dict) -> dict:
    """What decides a fine-tuning's result besides its data, seed and initial weights: the task's
    resolved settings (the protocol's, the profile's changes, the row's) and the trunk's architecture."""
    try:
        config = TASKS.settings(task, profile=profile.name, changes=changes)
    except SuiteError as error:
        raise Unavailable(error.what) from error  # the row, not the settings list
    return {"config": dataclasses.asdict(config), "arch": finetune_profile(profile.name).arch}


def file_sha256(path: Path) -> str:
    """The file's SHA-256: a run on a user's file is keyed by its content, not its path."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
