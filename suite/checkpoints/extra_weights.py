"""A checkpoint file as a table row of its own (`run --extra-weights LABEL=FILE`): its trunk, read
through the importers with their load report, when it is the ResNet the profile fine-tunes.

    trunk, report = import_for(FILE, "resnet18")

The importers refuse a file whose backbone does not load cleanly into the torchvision ResNet its keys
imply (CheckpointRefused: only the classifier may be missing; heads, projections and key encoders are
dropped). This refuses, with the same report, a clean file of another depth than the profile's trunk
(resnet18 at demo and smoke, resnet50 at paper), which the fine-tunings would not load.
"""

from __future__ import annotations

from pathlib import Path

from suite.checkpoints.importers import LoadReport, StateDict, import_backbone
from suite.errors import SuiteError


def import_for(path: str | Path, arch: str) -> tuple[StateDict, LoadReport]:
    """The file's trunk under torchvision names and its load report; SuiteError unless it is an `arch`."""
    trunk, report = import_backbone(path)
    if report.arch != arch:
        report.notes.append(f"its keys load, but this profile fine-tunes a torchvision {arch}: refused")
        raise SuiteError(
            f"the checkpoint's trunk is a {report.arch}, this profile fine-tunes a {arch}\n{report}",
            path,
            fix=f"pass a {arch} checkpoint (profiles demo and smoke: resnet18; paper: resnet50)",
        )
    return trunk, report
