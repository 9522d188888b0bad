"""Fine-tuning entry points: a registered task trained at a profile's scale, and its official test.

    train_task(task, data, profile, out, init=CKPT)     # -> out/model.pt, written last
    evaluate_task(task, data, profile, model, out)      # -> out/metrics.json, predictions.npz, samples.npz
    finetune(task, data, profile, out, init=CKPT)       # both in one folder: `python -m suite finetune`

`data` maps dataset keys to roots (task_data resolves them from a SynthHuman tree or suite.toml).
`init` is any checkpoint the importers read (ours, the official MoCo / LiftedCL / PixPro / DenseCL /
ReSim files, torchvision weights); None trains from the trunk's random initialisation (the tables'
"Random init." row). The model file holds the whole model, the task's config and the trunk alone
under torchvision names (backbone_state), from which later stages can start.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor

from suite.checkpoints.formats import MODEL_FORMAT, MODEL_VERSION
from suite.config import dataset_roots, env_var
from suite.data.layouts import SYNTH_FOLDERS
from suite.errors import SuiteError
from suite.evaluate.samples import SAMPLES_FILE, to_bytes
from suite.finetune.catalog import TASKS
from suite.finetune.task import Task
from suite.io import atomic_write_bytes
from suite.models.backbone import ResNetTrunk
from suite.profiles import FinetuneProfile, finetune_profile
from suite.training import checkpoint

MODEL_FILE = "model.pt"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.npz"


def task_config(name: str, profile: FinetuneProfile, changes: Mapping[str, Any] | None = None):
    """The class of task `name` and its Config: the protocol's values, the profile's changes (the task's
    catalogue entry) and any explicit changes (checked and typed; JSON lists become tuples)."""
    return TASKS.load(name), TASKS.settings(name, profile=profile.name, changes=changes)


def build_task(
    name: str, roots: Mapping[str, Path], profile: FinetuneProfile, changes: dict | None = None
) -> Task:
    """The task `name` configured as task_config says, reading the datasets at `roots`."""
    cls, config = task_config(name, profile, changes)
    missing = [dataset for dataset in TASKS.get(name).datasets if dataset not in roots]
    if missing:
        raise SuiteError(f"{name} needs the datasets {missing}", fix="resolve the roots with task_data()")
    return cls(config, roots)


def task_data(task: str, data: Path | None) -> dict[str, Path]:
    """The roots of the task's datasets: DATA's SynthHuman sub-folders if it holds them all (DIR/h36m,
    DIR/mpii, ...); else DATA is the primary dataset's root and the others come from suite.toml or
    SUITE_<NAME>_ROOT."""
    needed = TASKS.get(task).datasets
    if data is not None and all((Path(data) / SYNTH_FOLDERS[name]).is_dir() for name in needed):
        return {name: Path(data) / SYNTH_FOLDERS[name] for name in needed}
    configured = dataset_roots()
    roots = {}
    for position, name in enumerate(needed):
        root = Path(data) if position == 0 and data is not None else configured[name]
        if root is None:
            raise SuiteError(
                f"{task} needs the {name} dataset, whose root is not configured",
                fix=f"set {name} = DIR under [datasets] in suite.toml, or {env_var(name)}=DIR"
                + (f", or pass it as --data (the primary dataset, {needed[0]})" if position == 0 else ""),
            )
        roots[name] = root
    return roots


def train_task(
    task: str,
    data: Mapping[str, Path],
    profile: str,
    out: Path,
    *,
    init: Path | None,
    seed: int = 0,
    resume: bool = True,
    max_steps: int | None = None,
    changes: dict | None = None,
) -> Path:
    """Fine-tune in the folder `out`; returns out/model.pt, written atomically once training is done.

    resume: go on from out/checkpoint.pt if there is one; a folder whose model.pt is of this very run
    (task, config, profile scale, seed, init, max_steps) is returned as it is.
    """
    from suite.checkpoints.importers import import_backbone
    from suite.finetune.trainer import train
    from suite.training.process import rank, world_size

    settings = finetune_profile(profile)
    job = build_task(task, data, settings, changes)
    out = Path(out)
    identity = {
        "task": job.name,
        "config": dataclasses.asdict(job.config),
        "arch": settings.arch,
        "seed": seed,
        "init": None if init is None else str(init),
        "max_steps": max_steps,
    }
    path = out / MODEL_FILE
    if path.is_file():
        _refuse_another_model(path, identity, resume)
        return path
    if resume and checkpoint.latest(out) is None:
        resume = False
    weights = None
    if init is not None and not resume:  # a resumed run takes its weights from its checkpoint
        weights, report = import_backbone(init)
        if rank() == 0:
            print(report)
    torch.manual_seed(seed)  # the initial weights follow the seed
    trunk = ResNetTrunk(settings.arch, init=job.config.init, weights=weights)
    model = job.build_model(trunk)
    train(job, model, job.train_set(seed), settings, out, seed=seed, max_steps=max_steps, resume=resume)
    if rank() == 0:
        content = {
            "format": MODEL_FORMAT,
            "version": MODEL_VERSION,
            **identity,
            "model": {key: value.detach().cpu() for key, value in model.state_dict().items()},
            "backbone": {key: value.detach().cpu() for key, value in model.trunk.state_dict().items()},
        }
        checkpoint.save(content, path)
        # the model file holds the final weights: the resumable state (~3x their size) is done with
        (out / checkpoint.LATEST).unlink(missing_ok=True)
    if world_size() > 1:
        dist.barrier()  # rank 0 has written the model file
    return path


def read_model(path: Path) -> dict[str, Any]:
    """A model file of train_task, on the CPU; SuiteError naming it if it is missing or foreign."""
    return checkpoint.load(path, MODEL_FORMAT, MODEL_VERSION)


def backbone_state(model: Path) -> dict[str, Tensor]:
    """The trained trunk of a model file under torchvision ResNet names, without a classifier."""
    return read_model(model)["backbone"]


def evaluate_task(
    task: str, data: Mapping[str, Path], profile: str, model: Path, out: Path, *, changes: dict | None = None
) -> dict[str, float]:
    """The task's official test protocol on a trained model; writes out/predictions.npz, the per-sample
    values of its metrics (out/samples.npz, suite.evaluate.samples) and the task's own files
    (Evaluation.files), then out/metrics.json (each atomically), and returns the metrics."""
    from suite.training.process import init_process

    settings = finetune_profile(profile)
    job = build_task(task, data, settings, changes)
    saved = read_model(model)
    _check_evaluable(saved, job, settings, model)
    process = init_process()
    torch.manual_seed(0)  # the model's weights all come from the file; this only fixes the build
    network = job.build_model(ResNetTrunk(settings.arch, init=job.config.init))
    network.load_state_dict(saved["model"])
    network.to(process.device)
    result = job.evaluate(network, process.device, settings.eval_batch_size, settings.workers)
    metrics = {key: float(value) for key, value in result.metrics.items()}
    if process.is_main:
        out = Path(out)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **result.predictions)
        atomic_write_bytes(out / PREDICTIONS_FILE, buffer.getvalue())
        if result.samples:
            atomic_write_bytes(out / SAMPLES_FILE, to_bytes(result.samples))
        for name, content in result.files.items():
            atomic_write_bytes(out / name, content)
        atomic_write_bytes(out / METRICS_FILE, (json.dumps(metrics, indent=2) + "\n").encode())
    return metrics


def finetune(
    task: str,
    data: Mapping[str, Path],
    profile: str,
    out: Path,
    *,
    init: Path | None,
    seed: int = 0,
    resume: bool = True,
    max_steps: int | None = None,
    changes: dict | None = None,
) -> dict[str, float]:
    """train_task, then evaluate_task on its model, in the folder `out`."""
    model = train_task(
        task, data, profile, out, init=init, seed=seed, resume=resume, max_steps=max_steps, changes=changes
    )
    return evaluate_task(task, data, profile, model, out, changes=changes)


def _refuse_another_model(path: Path, identity: dict, resume: bool) -> None:
    """A finished model may be returned again only to a resuming call of the same run."""
    saved = read_model(path)
    differing = sorted(key for key, value in identity.items() if saved.get(key) != value)
    if not resume or differing:
        what = f"it is of another run (differs in {', '.join(differing)})" if differing else "it is finished"
        raise SuiteError(
            f"the folder already holds a trained model; {what}",
            path,
            fix="use a new folder or delete this one",
        )


def _check_evaluable(saved: dict, job: Task, settings: FinetuneProfile, path: Path) -> None:
    """The model file must be of this task and architecture, trained with the config evaluated (apart
    from the settings the task lets an evaluation change)."""
    free = set(job.entry.evaluation_settings)
    now = {k: v for k, v in dataclasses.asdict(job.config).items() if k not in free}
    then = {k: v for k, v in saved["config"].items() if k not in free}
    differing = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
    if saved["task"] != job.name or saved["arch"] != settings.arch or differing:
        raise SuiteError(
            f"the model is a {saved['task']} {saved['arch']} model"
            + (f" trained with other settings ({', '.join(differing)})" if differing else "")
            + f"; evaluating {job.name} on {settings.arch}",
            path,
            fix="evaluate with the task, profile and settings it was trained with",
        )
