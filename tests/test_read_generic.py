"""The ImageFolder reader on small trees built in tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.data import generic
from suite.errors import DatasetError


def image(path: Path, suffix: str = ".png") -> Path:
    path = path.with_suffix(suffix)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 6, 3), 100, np.uint8)).save(path)
    return path


@pytest.fixture
def root(tmp_path) -> Path:
    """train: dog (2 images), cat (1 image and a text file); val: cat and dog, 1 image each."""
    for name in ("train/dog/b", "train/dog/a", "train/cat/c", "val/cat/d", "val/dog/e"):
        image(tmp_path / name, ".jpg" if name.endswith("a") else ".png")
    (tmp_path / "train/cat/notes.txt").write_text("not an image")
    return tmp_path


def test_classes_sorted_by_name_and_samples_labelled(root):
    split = generic.read_split(root, "train")
    assert split.classes == ("cat", "dog")
    assert split.samples == (
        (root / "train/cat/c.png", 0),
        (root / "train/dog/a.jpg", 1),
        (root / "train/dog/b.png", 1),
    )
    assert split.not_images == 1


def test_check_summary(root):
    assert (
        generic.check(root)
        == "train: 3 images / 2 classes (1 other files ignored); val: 2 images / 2 classes"
    )


def test_empty_class_is_an_error(root):
    (root / "val/bird").mkdir()
    (root / "val/bird/readme.md").write_text("")
    with pytest.raises(DatasetError, match="class bird has no images") as error:
        generic.check(root)
    assert error.value.path == root / "val/bird"


def test_images_without_class_folders(tmp_path):
    image(tmp_path / "train/a")
    with pytest.raises(
        DatasetError, match=r"no class folders \(images directly in it, found a\.png"
    ) as error:
        generic.read_split(tmp_path, "train")
    assert error.value.path == tmp_path / "train"


def test_missing_split_says_what_was_found(root):
    with pytest.raises(DatasetError, match="no train/ in the image set root; found cat/, dog/"):
        generic.check(root / "val")


def test_unreadable_image_is_named(root):
    path = root / "train/dog/a.jpg"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        generic.check(root)
    assert error.value.path == path
