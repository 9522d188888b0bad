"""The catalogue of downstream tasks: what the planner, the report and --help read, without torch.

Each task is registered here by a torch-free settings module: its Config dataclass (the protocol's
values), the changes each profile makes to it (sizes and budgets: a task owns its scale), its cost
per profile, the datasets it reads and the metrics it writes. Its torch code (the Task subclass,
task.py) is imported only when a job trains or tests it (TASKS.load(name)). A plugin's
`@register_task` class registers the same kind of entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from suite.registry import Entry, Registry

# What the trainer reads of every task's Config: the global batch (split over processes), the epochs
# and how a trunk without initial weights is initialised (suite/models/backbone.py INITS).
REQUIRED_CONFIG = ("batch_size", "epochs", "init")


@dataclass(frozen=True)
class TaskEntry(Entry):
    datasets: tuple[str, ...] = ()  # suite.data.layouts.DATASETS keys it reads, primary first
    metrics: tuple[str, ...] = ()  # what its evaluation returns first, in table order
    lower_is_better: Mapping[str, bool] = field(default_factory=dict)  # for each of `metrics`
    # settings an evaluation may set differently from the training run (e.g. the flip test)
    evaluation_settings: tuple[str, ...] = ()
    # a reference a model must beat to have learned anything; the evaluation also returns it as
    # `baseline/<metric>` and the table shows it in a footnote
    baseline: str | None = None
    # device-hours of one fine-tuning and of one evaluation, per profile: {"demo": (train, test)}
    hours: Mapping[str, tuple[float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not dataclasses.is_dataclass(self.settings):
            return  # Registry.add refuses it
        fields = {f.name for f in dataclasses.fields(self.settings)}
        missing = [name for name in REQUIRED_CONFIG if name not in fields]
        if missing or set(self.lower_is_better) != set(self.metrics):
            raise ValueError(
                f"task {self.name!r}: its Config lacks {missing} or lower_is_better does not name each metric"
            )


TASKS = Registry(
    "task",
    builtins=(
        "suite.finetune.h36m_3d_settings",
        "suite.finetune.classification_settings",
        "suite.finetune.mpii_2d_settings",
        "suite.finetune.h36m_2d_settings",
        "suite.finetune.coco_2d_settings",
        "suite.finetune.lip_parsing_settings",
        "suite.finetune.pw3d_shape_settings",
    ),
)
