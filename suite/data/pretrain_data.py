"""The pre-training datasets: images from one of three sources, each turned into two augmented views.

Sources, recognised by pretrain_dataset(path):

- human crops written by `python -m suite data crops` (crops/ and index.json, appendix A), of COCO
  or of Human3.6M's training subjects (Table 7);
- an ImageFolder tree, <path>/train/<class>/<image> (ImageNet and the generic set);
- a flat folder, <path>/train/<image> as the official LiftedCL code reads it, or <path>/<image>.

An item is (view1, view2, geometry1, geometry2, index) with augmentation keyed by (seed, epoch,
index); collate() stacks items into a ViewBatch. EpochSampler deals each process its share of a
permutation drawn from (seed, epoch) and can start an epoch part-way, for resuming.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset

from suite.data import generic
from suite.data.images import open_image
from suite.data.validate import describe, listing, read_json, require_keys
from suite.data.views import TwoViewAugment, ViewBatch
from suite.errors import DatasetError

CROPS_INDEX = "index.json"
CROPS_FOLDER = "crops"
CROPS_FIX = "run python -m suite data crops --coco ROOT --out DIR (or --h36m ROOT)"
TRAIN_FOLDER = "train"
SOURCES_HELP = (
    "point at a crops folder (index.json + crops/), an ImageFolder root (train/<class>/<image>), "
    "or a flat image folder (train/<image>)"
)

Item = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]


class ViewDataset(Dataset):
    """Images (paths) -> two views each; call set_epoch(e) before each epoch's DataLoader iterator.

    The epoch reaches workers with the dataset copy made when the iterator starts, so use
    persistent_workers=False (the DataLoader default).
    """

    def __init__(self, files: Sequence[Path], augment: TwoViewAugment, seed: int, source: str) -> None:
        self.files = tuple(files)
        self.augment = augment
        self.seed = seed
        self.source = source  # "crops", "imagefolder" or "flat"
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Item:
        image = open_image(self.files[index])  # RGB whatever the file's mode
        return (*self.augment(image, self.seed, self.epoch, index), index)  # type: ignore[return-value]


def collate(items: Sequence[Item]) -> ViewBatch:
    """Stack dataset items into the trainer's ViewBatch."""
    view1, view2, geometry1, geometry2, index = zip(*items, strict=True)
    return ViewBatch(
        views=(torch.stack(view1), torch.stack(view2)),
        geometry=(torch.stack(geometry1), torch.stack(geometry2)),
        index=torch.tensor(index, dtype=torch.long),
    )


def pretrain_dataset(path: str | Path, augment: TwoViewAugment, seed: int) -> ViewDataset:
    """The dataset at path, whichever of the three sources it is (see the module docstring)."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError("pre-training data folder not found", path, SOURCES_HELP)
    if (path / CROPS_INDEX).exists() or (path / CROPS_FOLDER).is_dir():
        return ViewDataset(crop_files(path), augment, seed, "crops")
    train = path / TRAIN_FOLDER
    if train.is_dir() and any(child.is_dir() for child in train.iterdir()):
        samples = generic.read_split(path, TRAIN_FOLDER).samples
        return ViewDataset([file for file, _ in samples], augment, seed, "imagefolder")
    for folder in (train, path):
        files = image_files(folder)
        if files:
            return ViewDataset(files, augment, seed, "flat")
    found = listing(path) + (f"; {TRAIN_FOLDER}/ holds {listing(train)}" if train.is_dir() else "")
    raise DatasetError(f"not a pre-training image source (found {found})", path, SOURCES_HELP)


def image_files(folder: Path) -> list[Path]:
    """The images directly in a folder (ImageFolder's suffixes), sorted by name."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in generic.IMAGE_SUFFIXES)


def crop_files(folder: Path) -> list[Path]:
    """The crops listed by a finished `data crops` run, validating its index.json against crops/."""
    index_path = folder / CROPS_INDEX
    index = read_json(index_path, CROPS_FIX)
    require_keys(index, ["crops"], "the crops index", index_path, CROPS_FIX)
    entries = index["crops"]
    if not isinstance(entries, list) or not entries:
        what = f"'crops' is {describe(entries)}, expected a non-empty list"
        raise DatasetError(what, index_path, CROPS_FIX)
    for entry in entries:
        require_keys(entry, ["file"], "a crops entry", index_path, CROPS_FIX)
    if index.get("count", len(entries)) != len(entries):
        what = f"says count {index['count']} but lists {len(entries)} crops"
        raise DatasetError(what, index_path, CROPS_FIX)
    files = [folder / entry["file"] for entry in entries]
    present = {parent: set(os.listdir(parent)) for parent in {f.parent for f in files} if parent.is_dir()}
    missing = [f for f in files if f.name not in present.get(f.parent, ())]
    if missing:
        what = f"crop listed in {CROPS_INDEX} not found ({len(missing)} of {len(files)} missing)"
        raise DatasetError(what, missing[0], CROPS_FIX)
    return files
