"""The baselines of the paper's tables (MoCo v2, DenseCL, PixPro): each one torch file and one torch-free
settings module that lists it in the catalogue (suite/pretrain/catalog.py)."""
