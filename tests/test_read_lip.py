"""LIP reader on the pseudo-LIP samples, its label validation and the layout check."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.data import lip
from suite.errors import DatasetError

LIP_SAMPLES = "mmsegmentation/tests/data/pseudo_lip_dataset"
IDS = {"train": "684_2150041", "val": "86_185913"}


@pytest.fixture
def lip_root(fixtures, tmp_path) -> Path:
    """A copy of the pseudo-LIP tree (no id files) that tests may change."""
    return Path(shutil.copytree(fixtures / LIP_SAMPLES, tmp_path / "lip"))


@pytest.mark.fixtures
def test_samples_match_the_readme(fixtures):
    root = fixtures / LIP_SAMPLES
    train, val = lip.read_split(root, "train"), lip.read_split(root, "val")
    assert [s.id for s in train.samples] == [IDS["train"]] and [s.id for s in val.samples] == [IDS["val"]]
    image, label = lip.read_sample(train.samples[0])
    assert image.shape == (220, 154, 3) and label.shape == (220, 154) and label.dtype == np.uint8
    assert set(np.unique(label).tolist()) == {0, 2, 5, 13, 14, 15}
    image, label = lip.read_sample(val.samples[0])
    assert image.shape == (377, 130, 3) and set(np.unique(label).tolist()) == {0, 1, 5, 9, 13, 15}
    with Image.open(val.samples[0].image) as gray:  # the val JPEG has one channel; RGB repeats it
        assert gray.mode == "L"
        np.testing.assert_array_equal(image[..., 0], np.asarray(gray))
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


@pytest.mark.fixtures
def test_ids_listed_from_the_segmentations_are_said_so(fixtures):
    split = lip.read_split(fixtures / LIP_SAMPLES, "train")
    assert split.ids_from == "train_segmentations/ (no train_id.txt)"
    summary = lip.check(fixtures / LIP_SAMPLES)
    assert summary == (
        "train: 1 pairs (ids from train_segmentations/ (no train_id.txt)); "
        "val: 1 pairs (ids from val_segmentations/ (no val_id.txt))"
    )


@pytest.mark.fixtures
def test_id_file_is_used_when_present(lip_root):
    (lip_root / "train_id.txt").write_text(f"{IDS['train']}\n")
    assert lip.read_split(lip_root, "train").ids_from == "train_id.txt"
    (lip_root / "train_id.txt").write_text(f"{IDS['train']}\n100_1\n")
    with pytest.raises(DatasetError, match=r"100_1 \(ids from train_id\.txt\) has no file here") as error:
        lip.read_split(lip_root, "train")
    assert error.value.path == lip_root / "train_images/100_1.jpg"


@pytest.mark.fixtures
def test_label_values_outside_the_classes_are_refused(lip_root):
    path = lip_root / "val_segmentations" / f"{IDS['val']}.png"
    label = np.asarray(Image.open(path)).copy()
    label[0, :3] = [255, 20, 19]  # 255 (ignore) and 19 are fine, 20 is not
    Image.fromarray(label).save(path)
    with pytest.raises(DatasetError, match=r"label values \[20\]") as error:
        lip.check(lip_root)
    assert error.value.path == path


@pytest.mark.fixtures
def test_label_size_must_match_the_image(lip_root):
    path = lip_root / "train_segmentations" / f"{IDS['train']}.png"
    Image.fromarray(np.zeros((220, 150), np.uint8)).save(path)
    with pytest.raises(DatasetError, match="label map is 150x220, its image 154x220") as error:
        lip.check(lip_root)
    assert error.value.path == path


@pytest.mark.fixtures
def test_truncated_jpeg_and_missing_files_are_named(lip_root):
    image = lip_root / "val_images" / f"{IDS['val']}.jpg"
    image.write_bytes(image.read_bytes()[:2000])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        lip.check(lip_root)
    assert error.value.path == image
    image.unlink()
    with pytest.raises(DatasetError, match=r"86_185913 .* has no file here") as error:
        lip.check(lip_root)
    assert error.value.path == image


@pytest.mark.fixtures
def test_wrong_folder_says_what_was_found(lip_root):
    with pytest.raises(DatasetError, match=r"no train_images/ in the LIP root; found 684_2150041\.jpg"):
        lip.check(lip_root / "train_images")
    for path in lip_root.glob("train_segmentations/*"):
        path.unlink()
    with pytest.raises(DatasetError, match="no ids for train"):
        lip.read_split(lip_root, "train")
