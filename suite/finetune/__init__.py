"""Fine-tuning: the downstream tasks' contract (task.py), one trainer for all of them (trainer.py), and
the entry points (run.py). Each task is one torch file and a torch-free settings module that lists it
in the catalogue (catalog.py): h36m-3d (RLE on Human3.6M), classification (supervised ImageNet-style
training, the "Super. IN" backbone)."""
