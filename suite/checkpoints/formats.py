"""The names of the checkpoint formats, without torch: what `export --format` and `--to` accept."""

# The formats importers.py reads, in its detection order (importers.IMPORTERS' names).
FORMATS = (
    "suite", "liftedcl", "resim", "moco", "pixpro", "timm", "densecl", "solo-learn", "mmpretrain", "vissl",
    "torchvision",
)  # fmt: skip
# Our own files, as their writers stamp them and the `suite` importer reads them: a pre-training's checkpoint
# (suite.pretrain.checkpoint) and a fine-tuned model (suite.finetune.run). Bump a version when its layout
# changes.
PRETRAIN_FORMAT, PRETRAIN_VERSION = "suite-pretrain", 1
MODEL_FORMAT, MODEL_VERSION = "suite-finetune-model", 1
# What export.py writes.
TARGETS = ("torchvision", "mmpose")
