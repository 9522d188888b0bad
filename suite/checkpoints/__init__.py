"""Checkpoint formats: reading every supported file into a torchvision backbone (importers.py, with a
load report), and writing ours out as torchvision or mmpose checkpoints (export.py); a file as a table
row of its own, checked against the profile's trunk (extra_weights.py, `run --extra-weights`)."""
