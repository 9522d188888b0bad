"""The README's "Adding a method" example registers, trains on the trainer and exports as promised."""

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import torchvision

from suite.checkpoints.importers import import_backbone
from suite.data.pretrain_data import pretrain_dataset
from suite.data.synth import generic
from suite.data.views import TwoViewAugment, augment_options
from suite.pretrain.catalog import METHODS
from suite.pretrain.run import build_method
from suite.pretrain.trainer import train
from suite.profiles import PRETRAIN_PROFILES

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_method_trains_and_exports(tmp_path):
    code = re.search(r"### Adding a method.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    try:
        profile = replace(PRETRAIN_PROFILES["demo"], image_size=32, batch_size=4, epochs=1)
        method = build_method("simsiam-lite", profile)
        generic.write(tmp_path / "images", 8, np.random.default_rng(0))
        data = pretrain_dataset(tmp_path / "images", TwoViewAugment(augment_options("mocov2", 32)), seed=0)
        checkpoint = train(method, data, profile, tmp_path / "run", seed=0, device="cpu")
        state, report = import_backbone(checkpoint)
        assert report.ok and report.arch == "resnet18"
        torchvision.models.resnet18().load_state_dict(state, strict=False)
    finally:
        METHODS.remove("simsiam-lite")
