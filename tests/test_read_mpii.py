"""MPII json and gt_valid.mat readers, the protocol's centre/scale helper and the layout check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from suite.data import mpii
from suite.errors import DatasetError

MPII_IMAGES = ("004645041.jpg", "005808361.jpg", "051423444.jpg", "052475643.jpg", "060754485.jpg")
MAT_NAMES = ("rank", "rkne", "rhip", "lhip", "lkne", "lank", "pelv", "thor", "neck", "head")
MAT_NAMES += ("rwri", "relb", "rsho", "lsho", "lelb", "lwri")


def write_gt(path: Path, headboxes: np.ndarray, **override) -> Path:
    """A gt_valid.mat as MATLAB wrote HRNet's: a 1 x 16 cell of names and N persons."""
    n = headboxes.shape[-1]
    names = np.empty((1, 16), dtype=object)
    names[0, :] = MAT_NAMES
    arrays = {
        "dataset_joints": names,
        "jnt_missing": np.zeros((16, n)),
        "pos_gt_src": np.arange(16 * 2 * n, dtype=float).reshape(16, 2, n),
        "headboxes_src": headboxes,
    }
    scipy.io.savemat(path, {**arrays, **override})
    return path


def edited(fixture: Path, tmp_path: Path, edit) -> Path:
    data = json.loads(fixture.read_text())
    edit(data)
    path = tmp_path / fixture.name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.fixtures
def test_json_records_keep_the_file_values(fixtures):
    folder = fixtures / "mmpose/tests/data/mpii"
    persons = mpii.read_annotations(folder / "test_mpii.json", folder)
    raw = json.loads((folder / "test_mpii.json").read_text())
    assert len(persons) == 5 and sorted(p.image for p in persons) == list(MPII_IMAGES)
    for person, entry in zip(persons, raw, strict=True):
        np.testing.assert_array_equal(person.joints, entry["joints"])
        np.testing.assert_array_equal(person.joints_vis, entry["joints_vis"])
        assert person.scale == entry["scale"] and person.center.tolist() == entry["center"]
    first = persons[0]
    assert first.image == "005808361.jpg" and first.joints.shape == (16, 2)
    assert first.joints[0].tolist() == [804.0, 711.0]  # r_ankle, read off the file
    assert first.joints0[0].tolist() == [803.0, 710.0] and first.center0.tolist() == [965.0, 339.0]


@pytest.mark.fixtures
def test_protocol_center_scale_by_hand(fixtures):
    first = mpii.read_annotations(fixtures / "mmpose/tests/data/mpii/test_mpii.json")[0]
    center, scale = mpii.protocol_center_scale(first)  # center (966, 340), scale 4.718488
    np.testing.assert_allclose(center, [965.0, 340 + 15 * 4.718488 - 1])
    assert scale == pytest.approx(5.89811)
    assert first.center.tolist() == [966.0, 340.0]  # the record is left as it was


def test_protocol_leaves_a_missing_centre_unadjusted():
    person = mpii.MpiiPerson("x.jpg", np.array([-1.0, -1.0]), 2.0, np.zeros((16, 2)), np.zeros(16))
    center, scale = mpii.protocol_center_scale(person)
    assert center.tolist() == [-2.0, -2.0] and scale == 2.0


def test_ground_truth_and_head_sizes(tmp_path):
    # Person 0: head box (10, 20)-(40, 60), diagonal 50; person 1: (0, 0)-(6, 8), diagonal 10.
    headboxes = np.zeros((2, 2, 2))
    headboxes[:, :, 0] = [[10, 20], [40, 60]]
    headboxes[:, :, 1] = [[0, 0], [6, 8]]
    gt = mpii.read_ground_truth(write_gt(tmp_path / "gt_valid.mat", headboxes))
    assert len(gt) == 2 and gt.dataset_joints == MAT_NAMES and gt.dataset_joints.index("head") == 9
    assert gt.pos_gt_src.shape == (16, 2, 2) and gt.jnt_missing.shape == (16, 2)
    np.testing.assert_allclose(gt.head_sizes(), [30.0, 6.0])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"pos_gt_src": np.zeros((16, 3, 2))}, r"pos_gt_src has shape \(16, 3, 2\), expected \(16, 2, 2\)"),
        ({"headboxes_src": np.zeros((2, 2, 3))}, "headboxes_src has shape"),
        ({"dataset_joints": np.array([["head"]], dtype=object)}, "expected 16 joint names"),
    ],
)
def test_malformed_ground_truth(tmp_path, override, message):
    path = write_gt(tmp_path / "gt_valid.mat", np.zeros((2, 2, 2)), **override)
    with pytest.raises(DatasetError, match=message) as error:
        mpii.read_ground_truth(path)
    assert error.value.path == path


def test_unreadable_ground_truth(tmp_path):
    path = tmp_path / "gt_valid.mat"
    with pytest.raises(DatasetError, match="file not found"):
        mpii.read_ground_truth(path)
    scipy.io.savemat(path, {"jnt_missing": np.zeros((16, 2))})
    with pytest.raises(
        DatasetError, match=r"the MATLAB file lacks \['dataset_joints', 'pos_gt_src', 'headboxes_src'\]"
    ):
        mpii.read_ground_truth(path)
    full = write_gt(tmp_path / "full.mat", np.zeros((2, 2, 200)))
    path.write_bytes(full.read_bytes()[:300])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        mpii.read_ground_truth(path)
    assert error.value.path == path


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d[2].pop("joints_vis"), r"person 2 lacks \['joints_vis'\]"),
        (lambda d: d[1]["joints"].pop(), r"person 1 joints has shape \(15, 2\), expected \(16, 2\)"),
        (lambda d: d[0].update(center=[1, 2, 3]), r"person 0 center has shape \(3,\)"),
        (lambda d: d[4]["joints_vis"].append(1), r"person 4 joints_vis has shape \(17,\)"),
        (lambda d: d[3].update(scale="big"), "person 3 scale is not a float64 array"),
    ],
)
def test_malformed_json_names_the_file(fixtures, tmp_path, edit, message):
    path = edited(fixtures / "mmpose/tests/data/mpii/test_mpii.json", tmp_path, edit)
    with pytest.raises(DatasetError, match=message) as error:
        mpii.read_annotations(path)
    assert error.value.path == path


@pytest.mark.fixtures
def test_json_that_is_not_the_hrnet_list(fixtures, tmp_path):
    with pytest.raises(DatasetError, match="expected a list of persons, found a dict"):
        mpii.read_annotations(fixtures / "mmpose/tests/data/mpii/test_mpii_trb.json")
    path = tmp_path / "valid.json"
    path.write_bytes((fixtures / "mmpose/tests/data/mpii/test_mpii.json").read_bytes()[:999])
    with pytest.raises(DatasetError, match="not valid JSON") as error:
        mpii.read_annotations(path)
    assert error.value.path == path


# --- the dataset layout --------------------------------------------------------------------------


@pytest.fixture
def mpii_root(fixtures, tmp_path) -> Path:
    """An MPII root in the HRNet layout: the sample json as both splits, a 5-person gt_valid.mat."""
    folder = fixtures / "mmpose/tests/data/mpii"
    root = tmp_path / "mpii"
    (root / "annot").mkdir(parents=True)
    (root / "images").mkdir()
    for split in ("train", "valid"):
        shutil.copy(folder / "test_mpii.json", root / f"annot/{split}.json")
    for name in MPII_IMAGES:
        shutil.copy(folder / name, root / "images" / name)
    write_gt(root / "annot/gt_valid.mat", np.ones((2, 2, 5)))
    return root


@pytest.mark.fixtures
def test_check_summarises_a_valid_root(mpii_root):
    assert mpii.check(mpii_root) == (
        "train: 5 persons / 5 images; valid: 5 persons / 5 images; gt_valid.mat: 5 persons"
    )


@pytest.mark.fixtures
def test_check_needs_as_many_ground_truth_persons_as_valid_json(mpii_root):
    write_gt(mpii_root / "annot/gt_valid.mat", np.ones((2, 2, 4)))
    with pytest.raises(DatasetError, match=r"holds 4 persons, valid\.json 5") as error:
        mpii.check(mpii_root)
    assert error.value.path == mpii_root / "annot/gt_valid.mat"


@pytest.mark.fixtures
def test_check_names_a_missing_or_corrupt_image(mpii_root):
    image = mpii_root / "images/051423444.jpg"
    image.write_bytes(image.read_bytes()[:3000])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        mpii.check(mpii_root)
    assert error.value.path == image
    image.unlink()
    with pytest.raises(DatasetError, match=r"051423444\.jpg, referenced by train\.json") as error:
        mpii.check(mpii_root)
    assert error.value.path == image


@pytest.mark.fixtures
def test_check_recognises_wrong_layouts(mpii_root):
    with pytest.raises(DatasetError, match="this is the annot folder"):
        mpii.check(mpii_root / "annot")
    (mpii_root / "annot").rename(mpii_root / "annotations")
    with pytest.raises(DatasetError, match="found annotations/, images/"):
        mpii.check(mpii_root)
    (mpii_root / "annotations/valid.json").rename(mpii_root / "annotations/mpii_val.json")
    with pytest.raises(DatasetError, match="mmpose's MPII layout"):
        mpii.check(mpii_root)
