"""The names of the checkpoint formats, without torch: what `export --format` and `--to` accept."""

# The formats importers.py reads, in its detection order (importers.IMPORTERS' names).
FORMATS = (
    "suite", "liftedcl", "resim", "moco", "pixpro", "timm", "densecl", "solo-learn", "mmpretrain", "vissl",
    "torchvision",
)  # fmt: skip
# What export.py writes.
TARGETS = ("torchvision", "mmpose")
