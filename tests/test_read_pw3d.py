"""3DPW readers: sequence pickles built here, SPIN's test-set preprocessing and the layout check."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from suite.data import pw3d
from suite.data.images import write_image
from suite.errors import DatasetError

FRAMES = 4


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch ran-code",))


# Sequence pickles built here: two people over four frames.


def rotation_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def sequence_data() -> dict:
    rng = np.random.default_rng(0)
    poses2d = [rng.uniform(0, 1000, size=(FRAMES, 3, 18)) for _ in range(2)]
    for person in poses2d:
        person[:, 2, ::3] = 0.0  # every third joint unseen
    poses2d[1][0, 2, :] = 0.0  # person 1 sees nothing in frame 0
    poses = [rng.normal(size=(FRAMES, 72)) * 0.2 for _ in range(2)]
    poses[0][1, :3] = [np.pi / 2, 0, 0]  # a quarter turn about x
    poses[0][3, :3] = [0, 0, np.pi / 6]
    cam_poses = np.tile(np.eye(4), (FRAMES, 1, 1))
    cam_poses[:, :3, :3] = rotation_z(np.pi / 2)
    cam_poses[:, :3, 3] = [0.1, 0.2, 3.0]
    return {
        "sequence": "downtown_test_00",
        "betas": [np.arange(12.0), np.arange(10.0) + 1],
        "genders": ["f", "m"],
        "poses": poses,
        "trans": [np.zeros((FRAMES, 3))] * 2,
        "poses2d": poses2d,
        "jointPositions": [np.zeros((FRAMES, 72))] * 2,
        "cam_poses": cam_poses,
        "cam_intrinsics": np.array([[1960.0, 0, 540], [0, 1960, 960], [0, 0, 1]]),
        "img_frame_ids": np.arange(FRAMES),
        "campose_valid": [np.array([1, 1, 0, 1], bool), np.array([1, 1, 0, 0], bool)],
        "texture_maps": None,
    }


def write_sequence(root: Path, data: dict, split: str = "test") -> Path:
    path = root / "sequenceFiles" / split / f"{data['sequence']}.pkl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data))
    return path


def test_read_sequence(tmp_path):
    data = sequence_data()
    sequence = pw3d.read_sequence(write_sequence(tmp_path, data))
    assert sequence.name == "downtown_test_00" and sequence.num_frames == FRAMES
    assert [person.gender for person in sequence.people] == ["f", "m"]
    np.testing.assert_array_equal(sequence.people[1].poses2d, data["poses2d"][1])
    assert sequence.people[0].betas.shape == (12,)
    assert sequence.people[1].campose_valid.tolist() == [True, True, False, False]
    assert sequence.image(tmp_path, 3) == tmp_path / "imageFiles" / "downtown_test_00" / "image_00003.jpg"


def spin_box(poses2d: np.ndarray) -> tuple[np.ndarray, float]:
    """SPIN's pw3d.py, literally: visible joints' box, its centre and 1.2 · max side / 200."""
    part = poses2d.T
    part = part[part[:, 2] > 0, :]
    bbox = [min(part[:, 0]), min(part[:, 1]), max(part[:, 0]), max(part[:, 1])]
    center = np.array([(bbox[2] + bbox[0]) / 2, (bbox[3] + bbox[1]) / 2])
    return center, 1.2 * max(bbox[2] - bbox[0], bbox[3] - bbox[1]) / 200


def test_spin_samples(tmp_path):
    data = sequence_data()
    write_sequence(tmp_path, data)
    result = pw3d.spin_samples(tmp_path)
    assert result.skipped == {"campose_valid false": 3, "no visible 2D joint": 1}
    assert [(sample.person, sample.frame) for sample in result.samples] == [(0, 0), (0, 1), (0, 3), (1, 1)]
    for sample in result.samples:
        center, scale = spin_box(data["poses2d"][sample.person][sample.frame])
        np.testing.assert_allclose(sample.center, center)
        assert sample.scale == pytest.approx(scale)
        np.testing.assert_array_equal(sample.pose[3:], data["poses"][sample.person][sample.frame, 3:])
        assert sample.image == tmp_path / "imageFiles" / "downtown_test_00" / f"image_{sample.frame:05d}.jpg"
    # R_z(90°)·R_x(90°) is a 120° turn about (1, 1, 1)/√3; R_z(90°)·R_z(30°) is 120° about z.
    np.testing.assert_allclose(result.samples[1].pose[:3], np.full(3, 2 * np.pi / 3 / np.sqrt(3)))
    np.testing.assert_allclose(result.samples[2].pose[:3], [0, 0, 2 * np.pi / 3], atol=1e-12)
    np.testing.assert_array_equal(result.samples[0].betas, np.arange(10.0))
    assert (result.samples[0].gender, result.samples[3].gender) == ("f", "m")


def test_check_stats_every_frame(tmp_path):
    data = sequence_data()
    write_sequence(tmp_path, data)
    images = [
        tmp_path / "imageFiles" / "downtown_test_00" / f"image_{frame:05d}.jpg" for frame in range(FRAMES)
    ]
    for image in images:
        write_image(image, np.zeros((8, 8, 3), np.uint8))
    assert pw3d.check(tmp_path) == "test 1 sequences, 4 frames; 4 images present, 4 decoded"
    images[2].unlink()
    with pytest.raises(DatasetError, match="1 of 4 referenced images") as error:
        pw3d.check(tmp_path)
    assert error.value.path == images[2]


def test_missing_split_and_root(tmp_path):
    with pytest.raises(DatasetError, match=r"no sequence pickles \(folder missing\)"):
        pw3d.spin_samples(tmp_path)
    with pytest.raises(DatasetError, match="no sequence folder found"):
        pw3d.check(tmp_path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data.pop("cam_poses"), r"lacks \['cam_poses'\]"),
        (
            lambda data: data["poses2d"].__setitem__(1, np.zeros((FRAMES, 2, 18))),
            r"person 1 poses2d has shape",
        ),
        (lambda data: data["genders"].pop(), "genders should hold one entry per person"),
        (lambda data: data["genders"].__setitem__(0, "x"), "gender is 'x'"),
        (lambda data: data["betas"].__setitem__(0, np.zeros(8)), "has 8 betas, expected at least 10"),
        (
            lambda data: data.update(img_frame_ids=np.arange(3)),
            r"img_frame_ids has shape \(3,\), expected \(4,\)",
        ),
    ],
)
def test_bad_sequences(tmp_path, damage, message):
    data = sequence_data()
    damage(data)
    path = write_sequence(tmp_path, data)
    with pytest.raises(DatasetError, match=message) as error:
        pw3d.read_sequence(path)
    assert error.value.path == path


def test_truncated_and_unsafe_sequence_pickles(tmp_path):
    path = write_sequence(tmp_path, sequence_data())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DatasetError, match="truncated"):
        pw3d.read_sequence(path)
    path.write_bytes(pickle.dumps({"sequence": RunsCode()}))
    with pytest.raises(DatasetError, match="refusing to load"):
        pw3d.read_sequence(path)
