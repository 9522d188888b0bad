"""The baselines of the paper's tables (MoCo v2, DenseCL, PixPro), each one file registered by name,
and importers of official checkpoints (importers.py)."""

from suite.baselines import densecl, moco, pixpro

__all__ = ["densecl", "moco", "pixpro"]
