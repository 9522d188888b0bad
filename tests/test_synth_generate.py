"""SynthHuman's driver and formats: reproducible bytes, consistent geometry, the .complete marker."""

import hashlib
import json
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from suite.data import layouts
from suite.data.skeleton import BONES
from suite.data.synth import generate
from suite.data.synth.generate import MARKER

N = 8
WRITTEN = ("coco", "mpii", "h36m", "lip", "generic")


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def trees(tmp_path_factory) -> dict[str, Path]:
    """Seed 0 twice and seed 1 once, each in its own folder."""
    roots = {key: tmp_path_factory.mktemp(key) for key in ("first", "second", "other")}
    for key, seed in (("first", 0), ("second", 0), ("other", 1)):
        generate(roots[key], n=N, seed=seed)
    return roots


def folder(trees, key: str, name: str) -> Path:
    return trees[key] / layouts.SYNTH_FOLDERS[name]


def test_same_seed_gives_identical_bytes(trees):
    first, second = digests(trees["first"]), digests(trees["second"])
    assert len(first) > 50 and first == second
    for name in WRITTEN:
        assert (folder(trees, "first", name) / MARKER).is_file()


def test_another_seed_gives_other_data(trees):
    first, other = digests(trees["first"]), digests(trees["other"])
    common = set(first) & set(other)
    changed = [path for path in common if first[path] != other[path]]
    keypoints = layouts.COCO_KEYPOINTS.format(split="train2017")
    assert first[f"coco/{keypoints}"] != other[f"coco/{keypoints}"]
    assert len(changed) > len(common) // 2


def test_h36m_2d_joints_are_the_projection_of_the_3d_joints(trees):
    root = folder(trees, "first", "h36m")
    for rle_split, toolbox_split in (("train", "train"), ("test", "validation")):
        rle = json.loads((root / layouts.H36M_RLE_ANNOTATIONS[rle_split]).read_text())
        with (root / layouts.H36M_MULTIVIEW_ANNOTATIONS[toolbox_split]).open("rb") as handle:
            toolbox = {entry["image"]: entry for entry in pickle.load(handle)}
        assert len(rle["images"]) == len(rle["annotations"]) == len(toolbox) >= N // 4
        for image, annotation in zip(rle["images"], rle["annotations"], strict=True):
            assert annotation["image_id"] == image["id"]
            assert (root / layouts.H36M_IMAGES / image["file_name"]).is_file()
            camera = {key: np.array(value) for key, value in image["cam_param"].items()}
            world = np.array(annotation["keypoints_world"])
            cam = np.einsum("ij,kj->ki", camera["R"], world - camera["t"])
            pixels = cam[:, :2] / cam[:, 2:] * camera["f"] + camera["c"]
            entry = toolbox[image["file_name"]]
            np.testing.assert_allclose(entry["joints_2d"], pixels, atol=1e-9)
            np.testing.assert_allclose(entry["joints_3d"], world, atol=1e-9)
            np.testing.assert_allclose(entry["joints_3d_camera"], cam, atol=1e-9)
            np.testing.assert_allclose(entry["camera"]["T"].ravel(), camera["t"], atol=1e-12)
            np.testing.assert_allclose([entry["camera"]["fx"], entry["camera"]["fy"]], camera["f"])
            np.testing.assert_allclose(camera["R"] @ camera["R"].T, np.eye(3), atol=1e-9)
            x1, y1, x2, y2 = entry["box"]
            np.testing.assert_allclose(annotation["bbox"], [x1, y1, x2 - x1, y2 - y1], atol=1e-9)
            np.testing.assert_allclose(entry["scale"], [(x2 - x1) / 200, (y2 - y1) / 200])
            # the toolbox box is 2000 mm wide at the root's depth
            np.testing.assert_allclose(x2 - x1, 2000.0 * camera["f"][0] / cam[0, 2], rtol=1e-9)


def test_h36m_subjects_keep_their_bone_lengths(trees):
    root = folder(trees, "first", "h36m")
    with (root / layouts.H36M_MULTIVIEW_ANNOTATIONS["train"]).open("rb") as handle:
        entries = pickle.load(handle)
    parents, children = np.array(BONES).T
    for subject in {entry["subject"] for entry in entries}:
        joints = np.array([entry["joints_3d"] for entry in entries if entry["subject"] == subject])
        lengths = np.linalg.norm(joints[:, children] - joints[:, parents], axis=-1)
        np.testing.assert_allclose(lengths, np.broadcast_to(lengths[0], lengths.shape), atol=1e-6)
        assert joints[..., 2].min() > 0  # z up, above the floor


def test_coco_keypoints_agree_with_masks_and_visibility(trees):
    root = folder(trees, "first", "coco")
    for split in layouts.COCO_SPLITS:
        data = json.loads((root / layouts.COCO_KEYPOINTS.format(split=split)).read_text())
        sizes = {image["id"]: (image["width"], image["height"]) for image in data["images"]}
        assert sum(1 for _ in data["annotations"]) >= (N if split == "train2017" else 4)
        for annotation in data["annotations"]:
            points = np.array(annotation["keypoints"]).reshape(17, 3)
            width, height = sizes[annotation["image_id"]]
            labelled = points[:, 2] > 0
            assert annotation["num_keypoints"] == labelled.sum()
            assert np.all(points[~labelled, :2] == 0)
            assert np.all(
                (points[labelled, :2] >= -0.5) & (points[labelled, :2] < (width - 0.5, height - 0.5))
            )
            polygons = [
                np.array(polygon, dtype=np.float32).reshape(-1, 1, 2)
                for polygon in annotation["segmentation"]
            ]
            for x, y in points[points[:, 2] == 2, :2]:  # a visible keypoint lies on its own person
                assert max(cv2.pointPolygonTest(p, (float(x), float(y)), True) for p in polygons) > -1.5
            x, y, w, h = annotation["bbox"]
            corners = np.concatenate(polygons).reshape(-1, 2)
            assert np.all(corners >= (x, y)) and np.all(corners <= (x + w - 1, y + h - 1))
    detections = json.loads((root / layouts.COCO_DETECTIONS).read_text())
    assert {item["image_id"] for item in detections} <= set(sizes)


def test_mpii_mat_matches_the_validation_json(trees):
    root = folder(trees, "first", "mpii")
    valid = json.loads((root / layouts.MPII_ANNOTATIONS.format(split="valid")).read_text())
    gt = scipy.io.loadmat(root / layouts.MPII_GT_VALID)
    assert gt["pos_gt_src"].shape == (16, 2, len(valid)) and gt["headboxes_src"].shape == (2, 2, len(valid))
    assert np.where(gt["dataset_joints"] == "head")[1][0] == 9  # as the HRNet evaluation looks it up
    np.testing.assert_array_equal(gt["pos_gt_src"].transpose(2, 0, 1), [entry["joints"] for entry in valid])
    np.testing.assert_array_equal(1 - gt["jnt_missing"].T, [entry["joints_vis"] for entry in valid])
    heads = gt["headboxes_src"].transpose(2, 0, 1)
    assert np.all(heads[:, 1] > heads[:, 0])
    for entry, head in zip(valid, heads, strict=True):  # the head top (1-based) is near its head box
        assert np.all(np.abs(np.array(entry["joints"][9]) - head.mean(0)) < (head[1] - head[0]))


def test_lip_label_maps_match_their_images(trees):
    from suite.data.images import read_image, read_label_map

    root = folder(trees, "first", "lip")
    for split in layouts.LIP_SPLITS:
        ids = (root / layouts.LIP_IDS.format(split=split)).read_text().split()
        assert len(ids) >= 4
        for name in ids:
            image = read_image(root / layouts.LIP_IMAGES.format(split=split) / f"{name}.jpg")
            labels = read_label_map(root / layouts.LIP_SEGMENTATIONS.format(split=split) / f"{name}.png")
            assert image.shape[:2] == labels.shape and labels.max() < len(layouts.LIP_CLASSES)
            assert (labels > 0).any() and (labels == 0).any()


def test_complete_marker_skips_finished_and_redoes_the_rest(tmp_path, trees):
    generate(tmp_path, n=N, seed=0)
    sentinels = {name: tmp_path / layouts.SYNTH_FOLDERS[name] / "sentinel" for name in ("coco", "mpii")}
    for sentinel in sentinels.values():
        sentinel.write_text("kept unless the dataset is rewritten")
    generate(tmp_path, n=N, seed=0)  # all finished: nothing is rewritten
    assert all(sentinel.exists() for sentinel in sentinels.values())

    (tmp_path / layouts.SYNTH_FOLDERS["coco"] / MARKER).unlink()  # as if cut short
    generate(tmp_path, n=N, seed=0)
    assert not sentinels["coco"].exists() and sentinels["mpii"].exists()
    sentinels["mpii"].unlink()
    assert digests(tmp_path) == digests(trees["first"])

    generate(tmp_path, n=N + 1, seed=0)  # another n: everything is rewritten
    assert digests(tmp_path)["coco/" + MARKER] != digests(trees["first"])["coco/" + MARKER]
