"""Shuffle BN in one process: BatchNorm over groups of the batch (suite/training/split_bn.py), the keys
shuffled before them (process.shuffled_forward), and the profile's bn_groups applied by the trainer."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from test_pretrain_methods import TINY, _run
from test_trainer import assert_identical
from torch import nn

from suite.data.synth import generic
from suite.errors import SuiteError
from suite.pretrain.run import build_method
from suite.pretrain.trainer import MethodAdapter
from suite.profiles import PRETRAIN_PROFILES
from suite.training.process import Process, shuffled_forward
from suite.training.split_bn import SplitBatchNorm2d, bn_splits, split_batch_norm

CPU = Process(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))


def _batch_norm(seed: int = 0) -> nn.BatchNorm2d:
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.5, 0.5)
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
    return bn


def test_each_group_is_normalised_as_its_own_batch_and_the_running_statistics_are_their_mean():
    splits, x = 3, torch.randn(12, 3, 4, 5) * 2 + 1
    reference = _batch_norm()
    groups = [copy.deepcopy(reference) for _ in range(splits)]
    split = split_batch_norm(copy.deepcopy(reference), splits)
    assert isinstance(split, SplitBatchNorm2d) and split.splits == splits
    xs = x.clone().requires_grad_(True)
    out = split(xs)
    for g, bn in enumerate(groups):  # group g: samples g, g + 3, g + 6, g + 9
        torch.testing.assert_close(out[g::splits], bn(x[g::splits]), rtol=1e-5, atol=1e-5)
    for name in ("running_mean", "running_var"):
        expected = torch.stack([getattr(bn, name) for bn in groups]).mean(dim=0)
        torch.testing.assert_close(getattr(split, name), expected)
    assert split.num_batches_tracked.item() == 1
    # gradients: the parameters' are the groups' summed, the input's each group's own
    weights = torch.randn_like(out)
    (out * weights).sum().backward()
    leaves = [x[g::splits].clone().requires_grad_(True) for g in range(splits)]
    sum(
        (
            (bn(leaf) * weights[g::splits]).sum()
            for g, (bn, leaf) in enumerate(zip(groups, leaves, strict=True))
        ),
        0,
    ).backward()
    torch.testing.assert_close(split.weight.grad, sum(bn.weight.grad for bn in groups), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(split.bias.grad, sum(bn.bias.grad for bn in groups), rtol=1e-5, atol=1e-5)
    for g in range(splits):
        torch.testing.assert_close(xs.grad[g::splits], leaves[g].grad, rtol=1e-4, atol=1e-5)


def test_in_evaluation_and_with_one_group_it_is_a_batch_norm():
    x = torch.randn(8, 3, 2, 2)
    reference, split = _batch_norm(), split_batch_norm(_batch_norm(), 2)
    assert torch.equal(split.eval()(x), reference.eval()(x))
    one, reference = split_batch_norm(_batch_norm(), 1), _batch_norm()
    assert torch.equal(one(x), reference(x)) and torch.equal(one.running_var, reference.running_var)
    with pytest.raises(ValueError, match="cannot be split"):
        split.train()(torch.randn(7, 3, 2, 2))


def test_the_state_dict_is_a_batch_norms_and_bn_splits_finds_the_groups():
    trunk = nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4)
    )
    before = {key: value.clone() for key, value in trunk.state_dict().items()}
    assert bn_splits(trunk) == 1
    split_batch_norm(trunk, 4)
    assert_identical(before, trunk.state_dict())
    assert bn_splits(trunk) == 4 and bn_splits(trunk.forward) == 4 and bn_splits(len) == 1


def test_one_process_shuffles_the_keys_before_their_groups_and_returns_them_in_order():
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Conv2d(3, 3, 1, bias=False), nn.BatchNorm2d(3), nn.Flatten())
    x = torch.randn(8, 3, 2, 2)
    assert torch.equal(shuffled_forward(encoder, x), encoder(x))  # no groups: unshuffled, unchanged
    split_batch_norm(encoder, 2)
    torch.manual_seed(5)
    permutation = torch.randperm(8)
    torch.manual_seed(5)
    keys = shuffled_forward(encoder, x)
    # by hand: position j of the shuffled batch is in group j % 2; each group normalised as a batch
    features = encoder[0](x)
    for g in range(2):
        members = permutation[g::2]
        mean = features[members].mean(dim=(0, 2, 3), keepdim=True)
        var = features[members].var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        bn = encoder[1]
        expected = (features[members] - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1)
        expected = expected + bn.bias.view(1, -1, 1, 1)
        torch.testing.assert_close(keys[members], expected.flatten(1), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(keys, encoder.eval()(x))  # batch statistics of 4, not the running ones


def test_the_trainer_splits_shuffle_bn_methods_by_the_profiles_groups_per_process():
    profile = replace(PRETRAIN_PROFILES["smoke"], bn_groups=4, batch_size=8)
    adapter = MethodAdapter(build_method("moco-v2", profile), profile)
    adapter.place(CPU)
    norms = [m for m in adapter.model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(isinstance(m, SplitBatchNorm2d) and m.splits == 4 for m in norms)
    two = Process(rank=0, world_size=2, local_rank=0, device=torch.device("cpu"))  # 2 groups a process
    adapter = MethodAdapter(build_method("liftedcl", profile), profile)
    adapter.place(two)
    assert bn_splits(adapter.model) == 2
    four = Process(rank=0, world_size=4, local_rank=0, device=torch.device("cpu"))  # one group a device
    adapter = MethodAdapter(build_method("densecl", profile), profile)
    adapter.place(four)
    assert bn_splits(adapter.model) == 1
    adapter = MethodAdapter(build_method("pixpro", profile), profile)  # SyncBN, not shuffle BN
    adapter.place(CPU)
    assert bn_splits(adapter.model) == 1
    odd = replace(profile, batch_size=6)
    with pytest.raises(SuiteError, match="cannot be split into 4"):
        MethodAdapter(build_method("moco-v2", odd), odd).place(CPU)
    assert PRETRAIN_PROFILES["paper"].bn_groups == 4 and PRETRAIN_PROFILES["demo"].bn_groups == 1


def test_a_split_run_resumes_bit_identically_and_differs_from_an_unsplit_one(tmp_path):
    root = tmp_path / "images"
    generic.write(root, 12, np.random.default_rng(0))
    split, unsplit = replace(TINY, bn_groups=2), replace(TINY, bn_groups=1)
    straight = _run("moco-v2", root, tmp_path / "straight", 5, profile=split)
    _run("moco-v2", root, tmp_path / "killed", 2, profile=split)
    resumed = _run("moco-v2", root, tmp_path / "killed", 5, resume=True, profile=split)
    for key in ("model", "optimizers", "backbone", "rng"):
        assert_identical(straight[key], resumed[key], key)
    plain = _run("moco-v2", root, tmp_path / "unsplit", 5, profile=unsplit)
    assert not torch.equal(straight["backbone"]["conv1.weight"], plain["backbone"]["conv1.weight"])
