"""Pre-training: the trainer's contract (method.py), shared contrastive blocks, LiftedCL, and the
catalogue of methods (catalog.py), which imports no torch."""
