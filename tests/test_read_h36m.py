"""Human3.6M readers: the real mmpose samples, and RLE and multiview trees built here."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from suite.data import h36m
from suite.data.images import write_image
from suite.data.layouts import H36M_MULTIVIEW_ANNOTATIONS, H36M_RLE_ANNOTATIONS
from suite.data.validate import verify_images
from suite.errors import DatasetError

CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
EVIL_PICKLE = b"cos\nsystem\n(S'echo unsafe'\ntR."


def mmpose_h36m(fixtures: Path) -> Path:
    return fixtures / "mmpose" / "tests" / "data" / "h36m"


# The real samples.


@pytest.mark.fixtures
def test_mmpose_cameras_keys_and_conversion(fixtures):
    path = mmpose_h36m(fixtures) / "cameras.pkl"
    cameras = h36m.read_mmpose_cameras(path)
    assert set(cameras) == {(f"S{s}", camera) for s in range(1, 12) for camera in CAMERA_IDS}
    assert len(cameras) == 44
    with path.open("rb") as handle:
        raw = pickle.load(handle)[("S1", "54138969")]
    camera = cameras[("S1", "54138969")]
    np.testing.assert_array_equal(camera.R, raw["R"].T)
    np.testing.assert_allclose(camera.t, raw["T"].ravel() * 1000)
    np.testing.assert_array_equal(camera.f, raw["f"].ravel())
    np.testing.assert_array_equal(camera.c, raw["c"].ravel())
    assert camera.k.shape == (3,) and camera.p.shape == (2,)


@pytest.mark.fixtures
def test_mmpose_camera_frame_gt_projects_onto_2d_gt(fixtures):
    """Camera-frame 3D GT (body3d npz) through its frame's camera lands on the 2D GT (no distortion)."""
    folder = mmpose_h36m(fixtures)
    cameras = h36m.read_mmpose_cameras(folder / "cameras.pkl")
    annotations = h36m.read_mmpose_npz(folder / "test_h36m_body3d.npz")
    for name, joints_3d, joints_2d in zip(
        annotations.imgnames, annotations.keypoints_3d, annotations.keypoints_2d, strict=True
    ):
        subject, _, camera_id, _ = h36m.parse_mmpose_name(name)
        uv = cameras[(subject, camera_id)].project(joints_3d[:, :3] * 1000)
        assert np.abs(uv - joints_2d[:, :2]).max() < 3.0


@pytest.mark.fixtures
def test_mmpose_camera_maps_world_gt_to_camera_gt(fixtures):
    """h36m_coco.json's keypoints_3d are world metres; R·(X − t) with the converted camera gives S."""
    folder = mmpose_h36m(fixtures)
    cameras = h36m.read_mmpose_cameras(folder / "cameras.pkl")
    annotations = h36m.read_mmpose_npz(folder / "test_h36m_body3d.npz")
    coco = json.loads((folder / "h36m_coco.json").read_text())
    for i, annotation in enumerate(coco["annotations"]):
        world = np.array(annotation["keypoints_3d"]).reshape(17, 4)[:, :3] * 1000
        subject, _, camera_id, _ = h36m.parse_mmpose_name(annotations.imgnames[i])
        camera = cameras[(subject, camera_id)]
        expected = annotations.keypoints_3d[i, :, :3] * 1000
        np.testing.assert_allclose(camera.world_to_camera(world), expected, atol=1e-3)
        # mmpose's R read as world-to-camera instead would miss by metres.
        assert np.abs((world - camera.t) @ camera.R - expected).max() > 1000


@pytest.mark.fixtures
def test_mmpose_body3d_npz(fixtures):
    path = mmpose_h36m(fixtures) / "test_h36m_body3d.npz"
    annotations = h36m.read_mmpose_npz(path)
    raw = np.load(path)
    assert annotations.imgnames[0] == "S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg"
    assert annotations.imgnames == tuple(raw["imgname"])
    assert annotations.keypoints_2d.shape == (4, 17, 3) and annotations.keypoints_3d.shape == (4, 17, 4)
    np.testing.assert_array_equal(annotations.centers, raw["center"])
    np.testing.assert_array_equal(annotations.keypoints_3d, raw["S"])
    assert np.all(annotations.keypoints_3d[..., 3] == 1) and np.all(annotations.keypoints_2d[..., 2] == 1)
    assert annotations.pose is None and annotations.shape is None
    assert h36m.parse_mmpose_name(annotations.imgnames[3]) == ("S8", "WalkDog_1", "55011271", 26)
    images = [mmpose_h36m(fixtures) / name for name in annotations.imgnames]
    assert verify_images(images, "fix") == 4


@pytest.mark.fixtures
def test_mmpose_mesh_npz(fixtures):
    path = mmpose_h36m(fixtures) / "test_h36m.npz"
    annotations = h36m.read_mmpose_npz(path)
    raw = np.load(path)
    assert annotations.imgnames == tuple(raw["imgname"])
    assert annotations.imgnames[1] == "S5_SittingDown.54138969_002061.jpg"
    assert annotations.keypoints_2d.shape == (4, 24, 3) and annotations.keypoints_3d.shape == (4, 24, 4)
    np.testing.assert_array_equal(annotations.pose, raw["pose"])
    np.testing.assert_array_equal(annotations.shape, raw["shape"])
    assert list((annotations.keypoints_3d[..., 3] > 0).sum(axis=1)) == [17] * 4


@pytest.mark.fixtures
def test_mmpose_detections(fixtures):
    folder = mmpose_h36m(fixtures)
    detections = h36m.read_detections(folder / "test_h36m_2d_detection.npy")
    ground_truth = np.load(folder / "test_h36m_body3d.npz")["part"]
    assert detections.shape == (4, 17, 3) and np.all(detections[..., 2] == 1.0)
    assert 0 < np.abs(detections[..., :2] - ground_truth[..., :2]).max() < 30


def test_mmpose_npz_wrong_shape_names_the_file(tmp_path):
    path = tmp_path / "h36m_test.npz"
    names = np.array(["S1/S1_Directions_1.54138969/S1_Directions_1.54138969_000001.jpg"])
    np.savez(
        path,
        imgname=names,
        center=np.zeros((1, 2)),
        scale=np.ones(1),
        part=np.zeros((1, 17, 2)),
        S=np.zeros((1, 17, 4)),
    )
    with pytest.raises(DatasetError, match=r"part has shape \(1, 17, 2\), expected \(1, \*, 3\)") as error:
        h36m.read_mmpose_npz(path)
    assert error.value.path == path


def test_camera_pickle_running_code_is_refused(tmp_path):
    path = tmp_path / "cameras.pkl"
    path.write_bytes(EVIL_PICKLE)
    with pytest.raises(DatasetError, match="refusing to load"):
        h36m.read_mmpose_cameras(path)


# The RLE / PoseNet layout, built here. Camera: R swaps world y/z (world z up, camera y down),
# centre t = (0, −5000, 1000) mm, f = 1000, c = 500; joint j sits at (100, 10j, 1000 + 10j) mm in
# the world, so by hand x_cam = (100, −10j, 5000 + 10j).

R_RLE = [[1, 0, 0], [0, 0, -1], [0, 1, 0]]
T_RLE = [0, -5000, 1000]


def rle_entry(image_id: int, name: str) -> tuple[dict, dict]:
    joints = [[100, 10 * j, 1000 + 10 * j] for j in range(17)]
    image = {
        "id": image_id,
        "file_name": f"{name}/{name}_000001.jpg",
        "width": 1000,
        "height": 1002,
        "cam_param": {"R": R_RLE, "t": T_RLE, "f": [1000, 1000], "c": [500, 500]},
    }
    annotation = {"id": image_id, "image_id": image_id, "bbox": [10, 20, 300, 400], "keypoints_world": joints}
    return image, annotation


def write_rle(root: Path, names: list[str], split: str = "test") -> Path:
    entries = [rle_entry(i + 1, name) for i, name in enumerate(names)]
    data = {
        "images": [image for image, _ in entries],
        "annotations": [annotation for _, annotation in entries],
    }
    path = root / H36M_RLE_ANNOTATIONS[split]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


RLE_NAMES = ["s_09_act_02_subact_01_ca_01", "s_09_act_05_subact_02_ca_03", "s_11_act_16_subact_02_ca_04"]


def test_rle_geometry_and_blocked_sequences(tmp_path):
    write_rle(tmp_path, RLE_NAMES)
    rle = h36m.read_rle(tmp_path, "test")
    assert rle.skipped == {"blocked sequence s_09_act_05_subact_02": 1}
    assert [(s.subject, s.action, s.subaction, s.camera_index) for s in rle.samples] == [
        (9, 2, 1, 1),
        (11, 16, 2, 4),
    ]
    sample = rle.samples[1]
    assert (
        sample.image
        == tmp_path / "images" / "s_11_act_16_subact_02_ca_04/s_11_act_16_subact_02_ca_04_000001.jpg"
    )
    assert sample.frame == 1 and sample.image_id == 3
    j = np.arange(17)
    np.testing.assert_allclose(
        sample.joints_cam, np.stack([np.full(17, 100), -10 * j, 5000 + 10 * j], axis=1)
    )
    z = 5000 + 10 * j
    np.testing.assert_allclose(sample.joints_img[:, 0], 100 / z * 1000 + 500)
    np.testing.assert_allclose(sample.joints_img[:, 1], -10 * j / z * 1000 + 500)
    np.testing.assert_allclose(sample.joints_img[:, 2], 10 * j)
    np.testing.assert_array_equal(sample.box, [10, 20, 300, 400])


def test_rle_check_stats_and_decodes_images(tmp_path):
    write_rle(tmp_path, RLE_NAMES)
    images = [sample.image for sample in h36m.read_rle(tmp_path, "test").samples]
    for image in images:
        write_image(image, np.full((8, 8, 3), 128, np.uint8))
    assert h36m.check(tmp_path) == "RLE test 2 samples (1 blocked); 2 images present, 2 decoded"
    images[1].write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(DatasetError, match="truncated or corrupt") as error:
        h36m.check(tmp_path)
    assert error.value.path == images[1]
    images[0].unlink()
    with pytest.raises(DatasetError, match="1 of 2 referenced images") as error:
        h36m.check(tmp_path)
    assert error.value.path == images[0]


def test_check_without_annotations(tmp_path):
    with pytest.raises(DatasetError, match="no annotation file found"):
        h36m.check(tmp_path)


def test_rle_missing_file_names_it(tmp_path):
    with pytest.raises(DatasetError, match="file not found") as error:
        h36m.read_rle(tmp_path, "train")
    assert error.value.path == tmp_path / H36M_RLE_ANNOTATIONS["train"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data["annotations"].pop(), "3 images but 2 annotations"),
        (
            lambda data: data["annotations"][0].update(image_id=7),
            "annotation for image 7 is paired with image 1",
        ),
        (
            lambda data: data["annotations"][0]["keypoints_world"].pop(),
            r"shape \(16, 3\), expected \(17, 3\)",
        ),
        (lambda data: data["images"][0].pop("cam_param"), r"lacks \['cam_param'\]"),
        (lambda data: data["images"][0].update(file_name="S9/img.jpg"), "is not like 's_09_act_02"),
    ],
)
def test_rle_bad_annotations(tmp_path, damage, message):
    path = write_rle(tmp_path, RLE_NAMES)
    data = json.loads(path.read_text())
    damage(data)
    path.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=message) as error:
        h36m.read_rle(tmp_path, "test")
    assert error.value.path == path


def test_rle_truncated_json(tmp_path):
    path = write_rle(tmp_path, RLE_NAMES)
    path.write_text(path.read_text()[:100])
    with pytest.raises(DatasetError, match="not valid JSON"):
        h36m.read_rle(tmp_path, "test")


# The multiview / H36M-Toolbox layout, built here.


def multiview_entry(camera_id: int) -> dict:
    rng = np.random.default_rng(camera_id)
    rotation = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    centre = rng.normal(size=(3, 1)) * 1000
    world = rng.normal(size=(17, 3)) * 500
    sequence = f"s_01_act_02_subact_01_ca_0{camera_id + 1}"
    return {
        "image": f"{sequence}/{sequence}_000001.jpg",
        "joints_2d": rng.normal(size=(17, 2)),
        "joints_3d": world,
        "joints_3d_camera": np.einsum("ij,kj->ki", rotation, world - centre.T),
        "joints_vis": np.ones((17, 3)),
        "video_id": 0,
        "image_id": 1,
        "subject": 1,
        "action": 2,
        "subaction": 1,
        "camera_id": camera_id,
        "source": "h36m",
        "camera": {
            "R": rotation,
            "T": centre,
            "fx": 1145.0,
            "fy": 1143.0,
            "cx": 512.0,
            "cy": 515.0,
            "k": np.zeros((3, 1)),
            "p": np.zeros((2, 1)),
        },
        "center": (500.0, 400.0),
        "scale": (2.0, 2.0),
        "box": np.array([300.0, 200.0, 700.0, 600.0]),
    }


def write_multiview(root: Path, entries: list, split: str = "validation") -> Path:
    path = root / H36M_MULTIVIEW_ANNOTATIONS[split]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(entries))
    return path


def test_multiview_reads_every_entry(tmp_path):
    entries = [multiview_entry(0), multiview_entry(3)]
    write_multiview(tmp_path, entries)
    samples = h36m.read_multiview(tmp_path, "validation")
    assert [sample.camera_id for sample in samples] == [0, 3]
    sample = samples[1]
    assert sample.image == tmp_path / "images" / entries[1]["image"]
    assert (sample.subject, sample.action, sample.subaction, sample.image_id, sample.source) == (
        1,
        2,
        1,
        1,
        "h36m",
    )
    np.testing.assert_array_equal(sample.camera.f, [1145.0, 1143.0])
    np.testing.assert_array_equal(sample.camera.c, [512.0, 515.0])
    np.testing.assert_array_equal(sample.scale, [2.0, 2.0])
    np.testing.assert_allclose(sample.camera.world_to_camera(sample.joints_3d), sample.joints_3d_camera)
    images = [sample.image for sample in samples]
    for image in images:
        write_image(image, np.zeros((8, 8, 3), np.uint8))
    assert h36m.check(tmp_path) == "multiview validation 2 samples; 2 images present, 2 decoded"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda entry: entry.pop("joints_3d_camera"), r"entry 1 lacks \['joints_3d_camera'\]"),
        (lambda entry: entry.update(joints_2d=np.zeros((16, 2))), r"entry 1 joints_2d has shape \(16, 2\)"),
        (lambda entry: entry["camera"].pop("fx"), r"entry 1 camera lacks \['fx'\]"),
    ],
)
def test_multiview_bad_entries(tmp_path, damage, message):
    entries = [multiview_entry(0), multiview_entry(1)]
    damage(entries[1])
    path = write_multiview(tmp_path, entries)
    with pytest.raises(DatasetError, match=message) as error:
        h36m.read_multiview(tmp_path, "validation")
    assert error.value.path == path


def test_multiview_truncated_and_unsafe_pickles(tmp_path):
    path = write_multiview(tmp_path, [multiview_entry(0)])
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match="truncated"):
        h36m.read_multiview(tmp_path, "validation")
    path.write_bytes(EVIL_PICKLE)
    with pytest.raises(DatasetError, match="refusing to load"):
        h36m.read_multiview(tmp_path, "validation")
    path.write_bytes(pickle.dumps({"not": "a list"}))
    with pytest.raises(DatasetError, match="expected a list of frame dicts, found dict"):
        h36m.read_multiview(tmp_path, "validation")
