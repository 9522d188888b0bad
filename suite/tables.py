"""Tables 1-9 of the paper as data: rows are pre-training recipes, columns are task metrics.

A row's recipe is its pre-training stages in order, each a method trained on a data source
starting from the previous stage's backbone (no stage: random initialisation), plus any
fine-tuning settings (Table 9's "+ prior"). Sources:

    IN    ImageNet (the generic image set in the demo profile). In the paper profile an IN
          stage is the method's official 200-epoch weights (section 4.1), read from the file the
          user configures (suite.toml [weights] "<method>-in").
    CC    the COCO human crops of appendix A (`data crops`).
    H36M  Human3.6M training frames (Table 7).

LiftedCL's stage I is MoCo-v2's IN weights (section 4.1); "Ours*" starts from PixPro's. Row labels
and column names are the paper's, as in results/paper/tableN.csv; a test checks they match.
Adding a row is adding a Row here; `run --extra-method NAME` adds one for any registered method, and
`run --extra-weights LABEL=FILE` one fine-tuned from a checkpoint file (a row with `weights`, no stage).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suite.errors import SuiteError

SUPERVISED = "supervised"  # stage I of the 'Super.' rows: supervised classification, not an SSL method
RESIM = "resim-c4"  # ReSim-C4: no implementation here, only its official weights
SOURCES = ("IN", "CC", "H36M")
PAPER_EPOCHS = 200  # "Each model is pre-trained for 200 epochs" (Table 1's caption)


@dataclass(frozen=True)
class Stage:
    """One pre-training stage: `method` on `data`, from the previous stage's backbone."""

    method: str  # a registered pre-training method, SUPERVISED or RESIM
    data: str  # one of SOURCES
    epochs: int = PAPER_EPOCHS  # as the paper states it; a profile may scale it
    variant: str | None = None  # a named variant of the method's settings (suite pretrain --variant)
    settings: tuple[tuple[str, Any], ...] = ()  # the method's settings changed (suite pretrain --set)


@dataclass(frozen=True)
class Row:
    label: tuple[str, ...]  # as printed (Table 7 names a row by method, data set and epochs)
    stages: tuple[Stage, ...]  # () is random initialisation, unless `weights` names a file
    finetune: tuple[tuple[str, Any], ...] = ()  # the task's settings changed (Table 9's 3D prior)
    weights: str | None = None  # a checkpoint file the row starts from instead of stages (--extra-weights)


@dataclass(frozen=True)
class Column:
    name: str  # as printed
    task: str  # the fine-tuning task that produces it
    metric: str  # the key of the task's metrics
    lower_is_better: bool = False


@dataclass(frozen=True)
class Table:
    number: int
    caption: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(column.task for column in self.columns))

    def row(self, label: tuple[str, ...]) -> Row:
        for row in self.rows:
            if row.label == label:
                return row
        raise KeyError(label)


def _in(method: str, epochs: int = PAPER_EPOCHS) -> Stage:
    return Stage(method, "IN", epochs)


def _cc(method: str, **settings: Any) -> Stage:
    return Stage(method, "CC", settings=tuple(sorted(settings.items())))


RANDOM = Row(("Random init.",), ())
SUPER_IN = Row(("Super. IN",), (_in(SUPERVISED, 100),))  # torchvision's weights: 100 epochs (Table 7)
IN_ROWS = (
    RANDOM,
    SUPER_IN,
    Row(("MoCo-v2 IN",), (_in("moco-v2"),)),
    Row(("DenseCL IN",), (_in("densecl"),)),
    Row(("ReSim-C4 IN",), (_in(RESIM),)),
    Row(("PixPro IN",), (_in("pixpro"),)),
)
OURS = (_in("moco-v2"), _cc("liftedcl"))
TWO_STAGE_ROWS = (
    Row(("MoCo-v2 IN+CC",), (_in("moco-v2"), _cc("moco-v2"))),
    Row(("PixPro IN+CC",), (_in("pixpro"), _cc("pixpro"))),
    Row(("Ours IN+CC",), OURS),
)
OURS_STAR = Row(("Ours* IN+CC",), (_in("pixpro"), _cc("liftedcl")))


def _columns(task: str, names_and_metrics: tuple[tuple[str, str], ...], lower: bool = False):
    return tuple(Column(name, task, metric, lower) for name, metric in names_and_metrics)


COCO = _columns(
    "coco-2d",
    (("mAP", "ap"), ("AP50", "ap50"), ("AP75", "ap75"), ("APM", "ap_m"), ("APL", "ap_l"), ("AR", "ar")),
)
MPII = _columns(
    "mpii-2d",
    (
        ("Hea", "head"), ("Sho", "shoulder"), ("Elb", "elbow"), ("Wri", "wrist"),
        ("Hip", "hip"), ("Kne", "knee"), ("Ank", "ankle"), ("Total", "total"),
    ),
)  # fmt: skip
JDR = Column("JDR", "h36m-2d", "total")
H36M_2D = (
    Column("root", "h36m-2d", "root"),
    Column("rhip", "h36m-2d", "r_hip"),
    Column("Total", JDR.task, JDR.metric),
)
MPJPE = Column("MPJPE", "h36m-3d", "mpjpe", lower_is_better=True)
PA_MPJPE = Column("PA-MPJPE", "h36m-3d", "pa_mpjpe", lower_is_better=True)
ABLATION = (JDR, PA_MPJPE)


TABLES: dict[int, Table] = {
    1: Table(
        1,
        "2D Pose Estimation fine-tuned on MS COCO (SimpleBaseline ResNet-50, OKS AP)",
        (*IN_ROWS, *TWO_STAGE_ROWS, OURS_STAR),
        COCO,
    ),
    2: Table(
        2, "2D Pose Estimation fine-tuned on MPII (PCKh@0.5)", (*IN_ROWS, *TWO_STAGE_ROWS, OURS_STAR), MPII
    ),
    3: Table(3, "2D Pose Estimation fine-tuned on Human3.6M (JDR)", (*IN_ROWS, *TWO_STAGE_ROWS), H36M_2D),
    4: Table(
        4,
        "3D Pose Estimation fine-tuned on Human3.6M (RLE ResNet-50; MPJPE and PA-MPJPE in mm)",
        (*IN_ROWS, *TWO_STAGE_ROWS),
        (MPJPE, PA_MPJPE),
    ),
    5: Table(
        5,
        "Human shape recovery fine-tuned on 3DPW (reconstruction error in mm)",
        (RANDOM, SUPER_IN, *TWO_STAGE_ROWS),
        (Column("Reconst. error", "pw3d-shape", "reconstruction_error", lower_is_better=True),),
    ),
    6: Table(
        6,
        "Human parsing fine-tuned on LIP",
        (RANDOM, SUPER_IN, *TWO_STAGE_ROWS),
        (Column("mACC", "lip-parsing", "macc"), Column("mIoU", "lip-parsing", "miou")),
    ),
    7: Table(
        7,
        "Ablation study of the pre-training dataset",
        (
            Row(("Random init.", "-", "-"), ()),
            Row(("Supervise", "ImageNet", "100"), SUPER_IN.stages),
            Row(("MoCo-v2", "H36M", "200"), (Stage("moco-v2", "H36M"),)),
            Row(("MoCo-v2", "COCO", "200"), (_cc("moco-v2"),)),
            Row(("MoCo-v2", "ImageNet", "200"), (_in("moco-v2"),)),
            Row(("MoCo-v2", "ImageNet + COCO", "200"), (_in("moco-v2"), _cc("moco-v2"))),
            Row(("Ours", "H36M", "200"), (Stage("liftedcl", "H36M"),)),
            Row(("Ours", "COCO", "200"), (_cc("liftedcl"),)),
            Row(("Ours", "ImageNet + COCO", "200"), OURS),
        ),
        ABLATION,
    ),
    # Table 8's "Inv." prints the MoCo-v2 IN+CC numbers of Table 7; here it is LiftedCL with L_inv alone.
    8: Table(
        8,
        "Ablation study of the loss functions",
        (
            Row(("Supervise IN",), SUPER_IN.stages),
            Row(("Inv.",), (_in("moco-v2"), _cc("liftedcl", losses="inv"))),
            Row(("Inv. + Equiv.",), (_in("moco-v2"), _cc("liftedcl", losses="inv+equiv"))),
            Row(("Lifting",), (_in("moco-v2"), _cc("liftedcl", losses="lifting"))),
            Row(("Inv. + Equiv. + Lifting",), OURS),
        ),
        ABLATION,
    ),
    9: Table(
        9,
        "Ablation study of fine-tuning with and without the 3D prior",
        (
            Row(("Supervise IN",), SUPER_IN.stages),
            Row(("Supervise IN + prior",), SUPER_IN.stages, (("prior", True),)),
            Row(("Ours",), OURS),
            Row(("Ours + prior",), OURS, (("prior", True),)),
        ),
        ABLATION,
    ),
}


def table(number: int) -> Table:
    if number not in TABLES:
        raise SuiteError(f"the paper has no Table {number}", fix=f"use one of {', '.join(map(str, TABLES))}")
    return TABLES[number]


def extra_row(method: str, table: Table) -> Row:
    """The row `run --extra-method NAME` adds: NAME on COCO crops from MoCo-v2's IN weights, as LiftedCL."""
    return Row((f"{method} IN+CC", *("",) * (len(table.rows[0].label) - 1)), (_in("moco-v2"), _cc(method)))


def with_extra_methods(base: Table, methods: tuple[str, ...]) -> Table:
    """The table with one extra row per method (after the paper's rows)."""
    rows = [extra_row(method, base) for method in methods]
    return _with_rows(base, rows, "leave out the --extra-method whose row the table already has")


def weights_row(label: str, path: str, table: Table) -> Row:
    """The row `run --extra-weights LABEL=FILE` adds: every task of the table fine-tuned from FILE."""
    return Row((label, *("",) * (len(table.rows[0].label) - 1)), (), weights=path)


def with_extra_weights(base: Table, weights: tuple[tuple[str, str], ...]) -> Table:
    """The table with one extra row per (label, checkpoint file), after its other rows."""
    rows = [weights_row(label, path, base) for label, path in weights]
    return _with_rows(base, rows, "give each --extra-weights row a label of its own, none of the table's")


def _with_rows(base: Table, rows: list[Row], fix: str) -> Table:
    taken = {row.label[0] for row in base.rows}
    added = [row.label[0] for row in rows]
    clash = sorted({label for label in added if label in taken or added.count(label) > 1})
    if clash:
        raise SuiteError(
            f"Table {base.number} would have two rows named {', '.join(map(repr, clash))}",
            fix=fix,
        )
    return Table(base.number, base.caption, (*base.rows, *rows), base.columns)
