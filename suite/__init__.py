"""suite: a benchmark and reproduction suite for human-centric self-supervised pre-training."""

__version__ = "0.1.0"
