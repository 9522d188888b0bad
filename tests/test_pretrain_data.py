"""Pre-training datasets (crops, ImageFolder, flat folder), the ViewBatch collate, and EpochSampler."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from suite.data import coco
from suite.data.pretrain_data import collate, pretrain_dataset
from suite.data.synth import coco as synth_coco
from suite.data.synth import generic as synth_generic
from suite.data.views import TwoViewAugment, augment_options
from suite.errors import DatasetError
from suite.training.sampler import EpochSampler

SIZE = 16
AUGMENT = TwoViewAugment(augment_options("mocov2", SIZE))


@pytest.fixture(scope="module")
def crops(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    synth_coco.write(root / "coco", 6, np.random.default_rng(0))
    coco.write_crops(root / "coco", root / "crops")
    return root / "crops"


def test_crops_folder_lists_every_indexed_crop(crops):
    entries = json.loads((crops / "index.json").read_text())["crops"]
    dataset = pretrain_dataset(crops, AUGMENT, seed=0)
    assert dataset.source == "crops" and len(dataset) == len(entries) >= 6
    assert dataset.files == tuple(crops / entry["file"] for entry in entries)


def test_imagefolder_and_flat_folders(tmp_path):
    synth_generic.write(tmp_path / "generic", 10, np.random.default_rng(0))
    expected = sorted((tmp_path / "generic" / "train").rglob("*.jpg"))
    dataset = pretrain_dataset(tmp_path / "generic", AUGMENT, seed=0)
    assert dataset.source == "imagefolder" and sorted(dataset.files) == expected

    flat = tmp_path / "flat" / "train"  # the official LiftedCL layout <data>/train/*.jpg
    flat.mkdir(parents=True)
    for k, path in enumerate(expected[:3]):
        path.rename(flat / f"{k}.jpg")
    Image.new("L", (30, 20), 90).save(flat / "grey.png")  # grayscale files become RGB views
    (flat / "notes.txt").write_text("not an image")
    dataset = pretrain_dataset(tmp_path / "flat", AUGMENT, seed=0)
    assert dataset.source == "flat"
    assert [p.name for p in dataset.files] == ["0.jpg", "1.jpg", "2.jpg", "grey.png"]
    view1, view2, geometry1, _, index = dataset[3]
    assert view1.shape == view2.shape == (3, SIZE, SIZE) and index == 3
    assert geometry1[5:].tolist() == [20, 30]
    assert pretrain_dataset(flat, AUGMENT, seed=0).files == dataset.files  # the image folder itself


def test_unrecognised_folder_says_what_it_found(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    with pytest.raises(DatasetError, match=r"not a pre-training image source \(found readme.txt\)"):
        pretrain_dataset(tmp_path, AUGMENT, seed=0)
    with pytest.raises(DatasetError, match="not found"):
        pretrain_dataset(tmp_path / "absent", AUGMENT, seed=0)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "index.json").unlink(), "index.json: file not found"),
        (lambda d: (d / "index.json").write_text('{"crops": [{"fi'), "not valid JSON"),
        (lambda d: (d / "index.json").write_text('{"source": "x"}'), r"lacks \['crops'\]"),
        (lambda d: (d / "index.json").write_text('{"crops": []}'), "expected a non-empty list"),
        (lambda d: next((d / "crops").iterdir()).unlink(), r"not found \(1 of"),
    ],
)
def test_damaged_crops_folder_names_the_file_and_the_fix(crops, tmp_path, damage, message):
    broken = tmp_path / "crops"
    (broken / "crops").mkdir(parents=True)
    (broken / "index.json").write_bytes((crops / "index.json").read_bytes())
    for path in (crops / "crops").iterdir():
        (broken / "crops" / path.name).write_bytes(path.read_bytes())
    damage(broken)
    with pytest.raises(DatasetError, match=message) as error:
        pretrain_dataset(broken, AUGMENT, seed=0)
    assert "python -m suite data crops --coco ROOT --out DIR" in str(error.value)


def test_collate_builds_a_view_batch_and_epochs_change_the_views(crops):
    dataset = pretrain_dataset(crops, AUGMENT, seed=1)
    batch = collate([dataset[i] for i in (4, 0, 2)])
    assert [tuple(v.shape) for v in batch.views] == [(3, 3, SIZE, SIZE)] * 2
    assert [tuple(g.shape) for g in batch.geometry] == [(3, 7)] * 2
    assert batch.views[0].dtype == batch.geometry[0].dtype == torch.float32
    assert batch.index.dtype == torch.long and batch.index.tolist() == [4, 0, 2]
    assert batch.geometry[0][:, 5:].tolist() == [list(coco.CROP_SIZE)] * 3
    dataset.set_epoch(1)
    assert not torch.equal(dataset[4][0], batch.views[0][0])
    dataset.set_epoch(0)
    assert torch.equal(dataset[4][0], batch.views[0][0])


def test_worker_processes_give_the_views_of_the_main_process(crops):
    dataset = pretrain_dataset(crops, AUGMENT, seed=5)
    dataset.set_epoch(3)
    sampler = EpochSampler(len(dataset), seed=5)
    sampler.set_epoch(3)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler, num_workers=2, collate_fn=collate)
    for batch in loader:
        direct = collate([dataset[i] for i in batch.index.tolist()])
        assert torch.equal(batch.views[0], direct.views[0]) and torch.equal(batch.views[1], direct.views[1])
        assert torch.equal(batch.geometry[1], direct.geometry[1])


@pytest.mark.parametrize("length, world", [(23, 4), (24, 3), (7, 1)])
def test_sampler_shares_a_permutation_without_overlap(length, world):
    shares = []
    for rank in range(world):
        sampler = EpochSampler(length, world, rank, seed=9)
        sampler.set_epoch(2)
        shares.append(list(sampler))
        assert len(sampler) == length // world == len(shares[-1])
    taken = [i for share in shares for i in share]
    assert len(set(taken)) == len(taken) == (length // world) * world  # no index twice
    assert set(taken) <= set(range(length))
    # interleaved, the shares are the first world * (length // world) entries of one permutation
    dealt = [shares[k % world][k // world] for k in range(len(taken))]
    assert dealt == np.random.default_rng([9, 2]).permutation(length).tolist()[: len(taken)]
    other = EpochSampler(length, world, 0, seed=9)
    other.set_epoch(3)
    if length > 2:
        assert list(other) != shares[0]


def test_sampler_without_drop_last_pads_by_wrapping():
    shares = [list(EpochSampler(10, 4, rank, seed=0, drop_last=False)) for rank in range(4)]
    assert [len(share) for share in shares] == [3] * 4
    assert set(i for share in shares for i in share) == set(range(10))


def test_sampler_resumes_an_epoch_with_exactly_the_remaining_indices():
    sampler = EpochSampler(50, 2, 1, seed=4)
    sampler.set_epoch(6)
    whole = list(sampler)
    sampler.set_epoch(6, start=16)  # e.g. 4 batches of 4 done before the kill
    assert list(sampler) == whole[16:] and len(sampler) == len(whole) - 16
    fresh = EpochSampler(50, 2, 1, seed=4)  # a new process after the restart
    fresh.set_epoch(6, start=16)
    assert list(fresh) == whole[16:]
    with pytest.raises(ValueError):
        sampler.set_epoch(6, start=26)
