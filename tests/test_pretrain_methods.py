"""Every registered method on the one trainer: kill + resume gives bit-identical state."""

from dataclasses import replace

import numpy as np
import pytest
import torch
import torchvision
from test_trainer import assert_identical

from suite.data.pretrain_data import pretrain_dataset
from suite.data.synth import generic
from suite.data.views import TwoViewAugment, augment_options
from suite.pretrain.catalog import METHODS
from suite.pretrain.run import build_method
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


def _run(name, images, out, max_steps, resume=False, profile=TINY):
    torch.manual_seed(0)
    method = build_method(name, profile)
    data = pretrain_dataset(
        images, TwoViewAugment(augment_options(method.augmentation, profile.image_size)), seed=0
    )
    train(method, data, profile, out, seed=0, max_steps=max_steps, resume=resume, device="cpu")
    return torch.load(out / "checkpoint.pt", weights_only=True)


# the suite's own methods (tests register toy ones of their own)
SUITE_METHODS = [entry.name for entry in METHODS.entries() if entry.implementation.startswith("suite.")]


@pytest.mark.parametrize("name", SUITE_METHODS)
def test_resume_is_bit_identical(name, images, tmp_path):
    straight = _run(name, images, tmp_path / "straight", STEPS)
    _run(name, images, tmp_path / "killed", KILL_AT)
    resumed = _run(name, images, tmp_path / "killed", STEPS, resume=True)
    assert straight["step"] == resumed["step"] == STEPS
    for key in ("model", "optimizers", "backbone", "rng"):
        assert_identical(straight[key], resumed[key], key)


def test_variants_and_settings_are_checked():
    from suite.errors import SuiteError

    official = build_method("liftedcl", TINY, "official", real_skeletons=None)
    assert (official.config.variant, official.config.alignment) == ("official", "official")
    assert official.config.queue_size == 16  # the profile still scales the queues
    with pytest.raises(SuiteError, match="no variant"):
        build_method("moco-v2", TINY, "official")
    with pytest.raises(SuiteError, match="no setting losses"):
        build_method("moco-v2", TINY, losses="inv")
    with pytest.raises(SuiteError, match="unknown method"):
        build_method("simclr", TINY)


@pytest.mark.parametrize("name", SUITE_METHODS)
def test_initial_weights_start_the_backbone_and_its_momentum_copies(name):
    from suite.errors import SuiteError
    from suite.models.backbone import ResNetTrunk

    torch.manual_seed(1)
    weights = torchvision.models.resnet18().state_dict()  # with fc, as torchvision gives it
    method = build_method(name, TINY, weights=weights)
    trunks = [module for module in method.modules() if isinstance(module, ResNetTrunk)]
    assert method.backbone() in trunks and len(trunks) >= 2  # the online trunk and its momentum copy
    for trunk in trunks:
        for key, value in trunk.state_dict().items():
            assert torch.equal(value, weights[key]), key
    with pytest.raises(SuiteError, match="does not fit a resnet18"):
        build_method(name, TINY, weights=torchvision.models.resnet50().state_dict())
