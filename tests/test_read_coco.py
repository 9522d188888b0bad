"""COCO-format readers on the real samples, their errors, the layout check and the appendix-A crops."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from suite.data import coco
from suite.data.skeleton import COCO_JOINTS
from suite.errors import DatasetError

COCO_IMAGES = ("000000000785.jpg", "000000040083.jpg", "000000196141.jpg", "000000197388.jpg")


def raw(path: Path) -> dict:
    return json.loads(path.read_text())


def edited(fixture: Path, tmp_path: Path, edit) -> Path:
    """A copy of a fixture json in tmp_path, changed by edit(data)."""
    data = raw(fixture)
    edit(data)
    path = tmp_path / fixture.name
    path.write_text(json.dumps(data))
    return path


# --- keypoint files ------------------------------------------------------------------------------


@pytest.mark.fixtures
def test_coco_keypoints_match_the_file_and_readme(fixtures):
    folder = fixtures / "mmpose/tests/data/coco"
    data = coco.read_keypoints(folder / "test_coco.json", folder)
    assert data.keypoint_names == COCO_JOINTS
    assert data.num_keypoints == 17
    assert len(data.images) == 4 and len(data.persons) == 14
    assert Counter(p.image_id for p in data.persons) == {785: 1, 40083: 3, 196141: 5, 197388: 5}
    assert sum(p.num_keypoints == 0 for p in data.persons) == 2
    assert (data.images[785].width, data.images[785].height) == (640, 425)
    assert data.images[785].path == folder / "000000000785.jpg"
    for person, ann in zip(data.persons, raw(folder / "test_coco.json")["annotations"], strict=True):
        assert person.id == ann["id"]
        assert person.bbox == tuple(ann["bbox"])
        np.testing.assert_array_equal(person.keypoints, np.reshape(ann["keypoints"], (17, 3)))
    first = data.persons[0]
    assert (first.id, first.image_id, first.iscrowd, first.area) == (442619, 785, False, 27789.11055)
    assert first.keypoints[0].tolist() == [367, 81, 2]  # nose, read off the file


@pytest.mark.fixtures
def test_wholebody_body_keypoints(fixtures):
    folder = fixtures / "mmpose/tests/data/coco"
    body = coco.read_keypoints(folder / "test_coco_wholebody.json")
    plain = coco.read_keypoints(folder / "test_coco.json")
    assert [p.id for p in body.persons] == [p.id for p in plain.persons]
    assert body.num_keypoints == 17 and body.images[785].path is None
    anns = raw(folder / "test_coco_wholebody.json")["annotations"]
    np.testing.assert_array_equal(body.persons[4].keypoints, np.reshape(anns[4]["keypoints"], (17, 3)))


@pytest.mark.fixtures
def test_merged_wholebody_needs_its_keypoint_count(fixtures):
    path = fixtures / "mmpose/tests/data/coco/test_keypoint_partition_metric.json"
    with pytest.raises(DatasetError, match="num_keypoints=133") as error:
        coco.read_keypoints(path)
    assert error.value.path == path
    data = coco.read_keypoints(path, num_keypoints=133)
    assert data.num_keypoints == 133 and len(data.keypoint_names) == 17
    anns = raw(path)["annotations"]
    assert data.persons[0].num_keypoints == anns[0]["num_keypoints"] == 112
    np.testing.assert_array_equal(data.persons[0].keypoints, np.reshape(anns[0]["keypoints"], (133, 3)))
    with pytest.raises(DatasetError, match="fewer than the 17 names"):
        coco.read_keypoints(path, num_keypoints=16)


@pytest.mark.fixtures
def test_mpii_trb_has_40_keypoints_and_no_boxes(fixtures):
    folder = fixtures / "mmpose/tests/data/mpii"
    data = coco.read_keypoints(folder / "test_mpii_trb.json", folder)
    anns = raw(folder / "test_mpii_trb.json")["annotations"]
    assert data.num_keypoints == 40 and len(data.persons) == 5
    assert data.images[5808361].file_name == "005808361.jpg"
    assert all(p.bbox is None and p.area is None for p in data.persons)
    # No num_keypoints in TRB: the labelled count stands in, and equals the file's num_joints.
    assert [p.num_keypoints for p in data.persons] == [a["num_joints"] for a in anns] == [38, 40, 32, 32, 39]


@pytest.mark.fixtures
def test_h36m_coco_keeps_3d_keypoints(fixtures):
    path = fixtures / "mmpose/tests/data/h36m/h36m_coco.json"
    data = coco.read_keypoints(path)
    anns = raw(path)["annotations"]
    assert sorted(data.images) == [1, 2, 3, 4] and len(data.persons) == 4
    assert data.keypoint_names[0] == "root (pelvis)"  # as the file spells it
    for person, ann in zip(data.persons, anns, strict=True):
        np.testing.assert_array_equal(person.keypoints_3d, np.reshape(ann["keypoints_3d"], (17, 4)))
        assert person.bbox[2] == person.bbox[3]  # square boxes


@pytest.mark.fixtures
def test_detections(fixtures):
    path = fixtures / "mmpose/tests/data/coco/test_coco_det_AP_H_56.json"
    detections = coco.read_detections(path)
    assert len(detections) == 118
    assert Counter(d.image_id for d in detections) == {197388: 37, 196141: 33, 40083: 26, 785: 22}
    first = raw(path)[0]
    assert detections[0] == coco.Detection(first["image_id"], 1, tuple(first["bbox"]), first["score"])


# --- bad inputs ----------------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path):
    with pytest.raises(DatasetError, match="file not found") as error:
        coco.read_keypoints(tmp_path / "nope.json")
    assert error.value.path == tmp_path / "nope.json"


@pytest.mark.fixtures
def test_truncated_json(fixtures, tmp_path):
    path = tmp_path / "person_keypoints_val2017.json"
    path.write_bytes((fixtures / "mmpose/tests/data/coco/test_coco.json").read_bytes()[:5000])
    with pytest.raises(DatasetError, match="not valid JSON") as error:
        coco.read_keypoints(path)
    assert error.value.path == path


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["annotations"][3].pop("keypoints"), r"an annotation lacks \['keypoints'\]"),
        (lambda d: d["annotations"][3]["keypoints"].pop(), r"annotation 1202706 keypoints has shape \(50,\)"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2, 3]), "annotation 442619 bbox"),
        (lambda d: d["annotations"][0].update(image_id=9), "refers to image 9"),
        (lambda d: d["annotations"][0].update(category_id=2), "has category 2"),
        (lambda d: d["images"][0].pop("width"), r"images\[0\] lacks \['width'\]"),
        (lambda d: d["images"].append(d["images"][0]), "image id 785 appears twice"),
        (lambda d: d["categories"][0].pop("keypoints"), "no keypoints list"),
        (lambda d: d.pop("annotations"), "expected a COCO keypoints file"),
    ],
)
def test_malformed_keypoints_name_the_file(fixtures, tmp_path, edit, message):
    path = edited(fixtures / "mmpose/tests/data/coco/test_coco.json", tmp_path, edit)
    with pytest.raises(DatasetError, match=message) as error:
        coco.read_keypoints(path)
    assert error.value.path == path


@pytest.mark.fixtures
def test_detections_passed_as_keypoints_are_recognised(fixtures):
    with pytest.raises(DatasetError, match=r"a list of 118 entries \(detection results"):
        coco.read_keypoints(fixtures / "mmpose/tests/data/coco/test_coco_det_AP_H_56.json")


@pytest.mark.fixtures
def test_malformed_detections(fixtures, tmp_path):
    path = edited(
        fixtures / "mmpose/tests/data/coco/test_coco_det_AP_H_56.json", tmp_path, lambda d: d[5].pop("score")
    )
    with pytest.raises(DatasetError, match=r"detection 5 lacks \['score'\]") as error:
        coco.read_detections(path)
    assert error.value.path == path
    with pytest.raises(DatasetError, match="expected a list of detections"):
        coco.read_detections(fixtures / "mmpose/tests/data/coco/test_coco.json")


@pytest.mark.fixtures
def test_missing_image_is_named(fixtures, tmp_path):
    with pytest.raises(DatasetError, match="image 785") as error:
        coco.read_keypoints(fixtures / "mmpose/tests/data/coco/test_coco.json", tmp_path)
    assert error.value.path == tmp_path / "000000000785.jpg"


# --- the dataset layout --------------------------------------------------------------------------


@pytest.fixture
def coco_root(fixtures, tmp_path) -> Path:
    """A COCO root in the HRNet layout holding the four sample images in both splits."""
    folder = fixtures / "mmpose/tests/data/coco"
    root = tmp_path / "coco"
    for split in ("train2017", "val2017"):
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        shutil.copy(folder / "test_coco.json", root / f"annotations/person_keypoints_{split}.json")
        (root / "images" / split).mkdir(parents=True)
        for name in COCO_IMAGES:
            shutil.copy(folder / name, root / "images" / split / name)
    (root / "person_detection_results").mkdir()
    shutil.copy(folder / "test_coco_det_AP_H_56.json", root / coco.COCO_DETECTIONS)
    return root


@pytest.mark.fixtures
def test_check_summarises_a_valid_root(coco_root):
    summary = coco.check(coco_root)
    assert (
        summary == "train2017: 14 persons / 4 images; val2017: 14 persons / 4 images; detections: 118 boxes"
    )


@pytest.mark.fixtures
def test_mmpose_layout_reads_too(coco_root):
    for split in ("train2017", "val2017"):
        (coco_root / "images" / split).rename(coco_root / split)
    assert coco.images_folder(coco_root, "val2017") == coco_root / "val2017"
    assert len(coco.read_split(coco_root, "val2017").persons) == 14


@pytest.mark.fixtures
def test_wrong_folder_says_what_was_found(coco_root):
    with pytest.raises(DatasetError, match="this is the annotations folder") as error:
        coco.check(coco_root / "annotations")
    assert str(coco_root) in error.value.fix
    with pytest.raises(DatasetError, match="found annotations/, images/, person_detection_results/"):
        coco.keypoints_file(coco_root, "test2017")
    shutil.rmtree(coco_root / "images" / "val2017")
    with pytest.raises(DatasetError, match="no images/val2017/"):
        coco.check(coco_root)


@pytest.mark.fixtures
def test_check_finds_a_truncated_jpeg(coco_root):
    path = coco_root / "images/val2017/000000196141.jpg"
    path.write_bytes(path.read_bytes()[:20000])
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        coco.check(coco_root)
    assert error.value.path == path


@pytest.mark.fixtures
def test_check_finds_detections_of_other_images(coco_root):
    path = coco_root / coco.COCO_DETECTIONS
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1.0}]))
    with pytest.raises(DatasetError, match="1 detected image ids are not in val2017"):
        coco.check(coco_root)


# --- appendix-A crops ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((10, 20, 30, 40), (10, 20, 30, 40)),  # already 4:3
        ((0, 0, 3, 40), (-13.5, 0, 30, 40)),  # tall: width grows to 40 * 3/4
        ((0, 0, 40, 10), (0, 5 - 80 / 3, 40, 160 / 3)),  # wide: height grows to 40 * 4/3 about y = 5
        ((5, 5, 30, 30), (5, 0, 30, 40)),  # square
    ],
)
def test_crop_box_grows_the_short_side_about_the_centre(box, expected):
    np.testing.assert_allclose(coco.crop_box(box), expected)


@pytest.mark.parametrize("box", [(0, 0, 0, 10), (0, 0, 10, 0), (0, 0, -5, 10), (0, 0, float("nan"), 10)])
def test_crop_box_refuses_boxes_without_area(box):
    with pytest.raises(ValueError, match="no area"):
        coco.crop_box(box)


def test_human_crop_samples_the_box_at_pixel_centres():
    ys, xs = np.mgrid[0:150, 0:200].astype(np.uint8)
    crop = coco.human_crop(np.stack([xs, ys, xs], -1), (20, 30, 60, 80))  # 4:3; 3.2 output px per image px
    assert crop.shape == (256, 192, 3) and crop.dtype == np.uint8
    # Output column u shows image x = 20 + (u + 0.5) / 3.2 - 0.5 (pixel centres); rows likewise from y = 30.
    # Tolerance: rounding to uint8 (0.5) plus OpenCV's 1/32-pixel interpolation grid.
    u, v = np.arange(192), np.arange(256)
    np.testing.assert_allclose(crop[100, :, 0], 20 + (u + 0.5) / 3.2 - 0.5, atol=0.55)
    np.testing.assert_allclose(crop[:, 50, 1], 30 + (v + 0.5) / 3.2 - 0.5, atol=0.55)


def test_human_crop_of_the_whole_image_is_the_image():
    image = np.random.default_rng(0).integers(0, 256, (256, 192, 3), dtype=np.uint8)
    np.testing.assert_array_equal(coco.human_crop(image, (0, 0, 192, 256)), image)


def test_human_crop_pads_outside_the_image_with_zeros():
    image = np.full((100, 100, 3), 255, np.uint8)
    crop = coco.human_crop(image, (50, 0, 75, 100))  # 4:3; image ends 50 px into the 75 px box
    # 192 / 75 = 2.56 output pixels per image pixel: the image covers the first 50 * 2.56 = 128 columns.
    assert np.all(crop[:, :128] == 255) and np.all(crop[:, 128:] == 0)
    corner = coco.human_crop(image, (-50, -50, 75, 100))  # only the bottom-right part lies in the image
    assert np.all(corner[:128, :] == 0) and np.all(corner[:, :128] == 0) and np.all(corner[128:, 128:] == 255)


@pytest.mark.fixtures
def test_write_crops_writes_every_kept_person_and_the_index(fixtures, tmp_path):
    source = fixtures / "mmpose/tests/data/coco/test_coco.json"
    index_path = coco.write_crops(source, tmp_path / "out", require_keypoints=False)
    index = json.loads(index_path.read_text())
    anns = raw(source)["annotations"]
    assert index["count"] == 14 and index["skipped"] == {}
    assert [c["annotation_id"] for c in index["crops"]] == [a["id"] for a in anns]
    entry = index["crops"][0]
    assert entry["file"] == "crops/000000000785_442619.jpg" and entry["image_id"] == 785
    np.testing.assert_allclose(entry["crop_box"], coco.crop_box(anns[0]["bbox"]))
    for crop in index["crops"]:
        with Image.open(tmp_path / "out" / crop["file"]) as image:
            assert image.size == (192, 256)
    assert not list((tmp_path / "out").rglob("*.tmp"))


@pytest.mark.fixtures
def test_write_crops_counts_what_it_skips(fixtures, tmp_path):
    def edit(data):
        anns = data["annotations"]
        anns[0]["iscrowd"] = 1
        anns[1]["bbox"][2] = 0
        del anns[2]["bbox"]

    source = edited(fixtures / "mmpose/tests/data/coco/test_coco.json", tmp_path, edit)
    for name in COCO_IMAGES:
        (tmp_path / name).symlink_to(fixtures / "mmpose/tests/data/coco" / name)
    everyone = json.loads(coco.write_crops(source, tmp_path / "all", require_keypoints=False).read_text())
    assert everyone["count"] == 11 and everyone["skipped"] == {"crowd": 1, "empty box": 1, "no box": 1}
    # The default, the paper's set: of the 11, annotation 1202706 (40083) and 508900 (196141) have no
    # labelled keypoint.
    index = json.loads(coco.write_crops(source, tmp_path / "out").read_text())
    assert index["count"] == 9
    assert index["skipped"] == {"crowd": 1, "empty box": 1, "no box": 1, "no keypoints": 2}
    kept = {c["annotation_id"] for c in index["crops"]}
    assert {c["annotation_id"] for c in everyone["crops"]} - kept == {1202706, 508900}


@pytest.mark.fixtures
def test_write_crops_keeps_crops_already_written(fixtures, tmp_path):
    source = fixtures / "mmpose/tests/data/coco/test_coco.json"
    crop = tmp_path / "crops/000000000785_442619.jpg"
    crop.parent.mkdir()
    crop.write_bytes(b"a finished crop")  # atomic writes make any present crop whole
    coco.write_crops(source, tmp_path)
    assert crop.read_bytes() == b"a finished crop"
