"""What one run of a plan does inside its job: the same functions as the command line's verbs.

execute(run, folder) runs on every process of the job (pre-training and fine-tuning are distributed
over them); it resumes whatever the folder already holds, so a requeued or rerun job goes on from
its last checkpoint. Only rank 0 writes the run's outputs. Returns what goes into the run's record.
Each kind names its function here in kinds.KINDS; this module imports torch and the stages only
inside them.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from suite.errors import SuiteError
from suite.io import atomic_write_bytes
from suite.orchestration.kinds import KINDS
from suite.orchestration.plan import Run, file_sha256
from suite.tables import SUPERVISED


def execute(run: Run, folder: Path) -> dict[str, Any]:
    return KINDS[run.kind].function()(run, Path(folder))


def _output(run: Run, folder: Path) -> Path:
    return folder / KINDS[run.kind].output


def run_synth(run: Run, folder: Path) -> dict[str, Any]:
    from suite.data.synth import generate

    generate(_output(run, folder), n=run.spec["n"], seed=run.spec["seed"])
    return {}


def run_crops(run: Run, folder: Path) -> dict[str, Any]:
    from suite.data.coco import write_crops

    index = write_crops(
        Path(run.inputs["coco"]),
        _output(run, folder),
        split=run.spec["split"],
        require_keypoints=run.spec["require_keypoints"],
    )
    return {"index": str(index)}


def run_h36m_crops(run: Run, folder: Path) -> dict[str, Any]:
    from suite.data.h36m_crops import write_h36m_crops

    spec = run.spec
    index = write_h36m_crops(
        Path(run.inputs["h36m"]),
        _output(run, folder),
        stride=spec["stride"],
        subjects=tuple(spec["subjects"]),
    )
    return {"index": str(index)}


LOAD_REPORT = "load_report.txt"


def run_import(run: Run, folder: Path) -> dict[str, Any]:
    """An --extra-weights row's checkpoint: the importers' trunk to backbone.pt (torchvision names, as a
    pre-training leaves its backbone), its load report to load_report.txt and to the record."""
    import torch

    from suite.checkpoints.extra_weights import import_for

    path = Path(run.inputs["path"])
    if file_sha256(path) != run.spec["sha256"]:
        raise SuiteError(
            "the file changed after the plan keyed this run by its SHA-256",
            path,
            fix="run the command again: the new content is a new run",
        )
    trunk, report = import_for(path, run.spec["arch"])
    (folder / LOAD_REPORT).write_text(f"{report}\n")
    buffer = io.BytesIO()
    torch.save({key: value.detach().clone() for key, value in trunk.items()}, buffer)  # no shared storage
    atomic_write_bytes(_output(run, folder), buffer.getvalue())
    return {"format": report.format, "load_report": str(report)}


def run_pretrain(run: Run, folder: Path) -> dict[str, Any]:
    """One stage of a recipe; its backbone (torchvision names) goes to backbone.pt for the next run."""
    import torch

    from suite.pretrain.checkpoint import read_backbone
    from suite.training.process import rank

    spec, init = run.spec, _optional_path(run.inputs.get("init"))
    if spec["method"] == SUPERVISED:
        from suite.finetune.run import backbone_state, train_task

        model = train_task(
            spec["task"], {"generic": Path(run.inputs["data"])}, spec["profile"], folder, init=init,
            seed=spec["seed"],
        )  # fmt: skip
        backbone = backbone_state(model) if rank() == 0 else None
    else:
        from suite.pretrain.run import pretrain

        checkpoint = pretrain(
            spec["method"],
            Path(run.inputs["data"]),
            spec["profile"],
            folder,
            init=init,
            seed=spec["seed"],
            resume=True,
            variant=spec["variant"],
            epochs=spec["epochs"],
            changes=spec["changes"],
        )
        backbone = read_backbone(checkpoint) if rank() == 0 else None
    if backbone is not None:
        buffer = io.BytesIO()
        torch.save(backbone, buffer)
        atomic_write_bytes(_output(run, folder), buffer.getvalue())
    return {}


def run_finetune(run: Run, folder: Path) -> dict[str, Any]:
    from suite.finetune.run import train_task

    spec = run.spec
    train_task(
        spec["task"],
        _roots(run),
        spec["profile"],
        folder,
        init=_optional_path(run.inputs.get("init")),
        seed=spec["seed"],
        resume=True,
        changes=spec["changes"],
    )
    return {}


def run_evaluate(run: Run, folder: Path) -> dict[str, Any]:
    from suite.finetune.run import evaluate_task

    spec = run.spec
    metrics = evaluate_task(
        spec["task"], _roots(run), spec["profile"], Path(run.inputs["model"]), folder, changes=spec["changes"]
    )
    return {"metrics": metrics}


def _roots(run: Run) -> dict[str, Path]:
    return {
        name.removeprefix("root:"): Path(path)
        for name, path in run.inputs.items()
        if name.startswith("root:")
    }


def _optional_path(value: str | None) -> Path | None:
    return None if value is None else Path(value)
