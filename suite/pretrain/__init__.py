"""Pre-training: the trainer's contract, shared contrastive blocks, and the methods (registered on import)."""

from suite.pretrain import liftedcl  # noqa: F401  (registers "liftedcl")
