"""Every registered method on the one trainer: kill + resume gives bit-identical state."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from suite.data.pretrain_data import pretrain_dataset
from suite.data.synth import generic
from suite.data.views import TwoViewAugment, augment_options
from suite.pretrain.run import build_method, registered_methods
from suite.pretrain.trainer import train
from suite.profiles import PRETRAIN_PROFILES

TINY = replace(
    PRETRAIN_PROFILES["demo"],
    image_size=32,
    batch_size=4,
    epochs=2,
    checkpoint_every=100,
    method_overrides={"*": {"queue_size": 16}},
)
STEPS, KILL_AT = 5, 2


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    root = tmp_path_factory.mktemp("generic")
    generic.write(root, 12, np.random.default_rng(0))
    return root


def _run(name, images, out, max_steps, resume=False):
    torch.manual_seed(0)
    method = build_method(name, TINY)
    data = pretrain_dataset(
        images, TwoViewAugment(augment_options(method.augmentation, TINY.image_size)), seed=0
    )
    train(method, data, TINY, out, seed=0, max_steps=max_steps, resume=resume, device="cpu")
    return torch.load(out / "checkpoint.pt", weights_only=True)


def _assert_identical(a, b, where="checkpoint"):
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _assert_identical(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_identical(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@pytest.mark.parametrize("name", sorted(registered_methods()))
def test_resume_is_bit_identical(name, images, tmp_path):
    straight = _run(name, images, tmp_path / "straight", STEPS)
    _run(name, images, tmp_path / "killed", KILL_AT)
    resumed = _run(name, images, tmp_path / "killed", STEPS, resume=True)
    assert straight["step"] == resumed["step"] == STEPS
    for key in ("model", "optimizers", "backbone", "rng"):
        _assert_identical(straight[key], resumed[key], key)
