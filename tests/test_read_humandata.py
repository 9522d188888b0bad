"""mmhuman3d's early HumanData npz: the real Human3.6M and 3DPW samples, and broken files built here."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from suite.data.humandata import read_humandata
from suite.data.images import read_image
from suite.errors import DatasetError


def preprocessed(fixtures: Path, name: str) -> Path:
    return fixtures / "mmhuman3d" / "tests" / "data" / "preprocessed_datasets" / f"{name}.npz"


# The real samples.


@pytest.mark.fixtures
def test_humandata_h36m(fixtures):
    path = preprocessed(fixtures, "sample_h36m_valid_protocol2")
    data = read_humandata(path)
    raw = np.load(path)
    assert data.config == "h36m"
    assert data.image_paths[0].endswith(
        "h36m/S9/images/S9_Sitting_1.60457274/S9_Sitting_1.60457274_001546.jpg"
    )
    np.testing.assert_allclose(data.boxes, [[378.4, 277.65, 223.2, 317.7]])
    assert data.keypoints_2d.shape == (1, 144, 3) and data.keypoints_3d.shape == (1, 144, 4)
    np.testing.assert_array_equal(data.keypoints_3d, raw["keypoints3d"])
    assert list(np.flatnonzero(data.mask)) == [0, 1, 2, 4, 5, 6, 7, 8, 12, 15, 16, 17, 18, 19, 20, 21]
    np.testing.assert_array_equal(data.keypoints_3d[0, 0], [0, 0, 0, 1])
    assert data.betas is None and data.genders is None


@pytest.mark.fixtures
@pytest.mark.parametrize(
    ("split", "image", "box", "gender"),
    [
        ("test", "imageFiles/downtown_sitOnStairs_00/image_00812.jpg", [669.04, 318.02, 312.02, 27.97], "m"),
        (
            "train",
            "imageFiles/courtyard_rangeOfMotions_00/image_00311.jpg",
            [79.56, 593.92, 427.09, 1969.05],
            "f",
        ),
    ],
)
def test_humandata_3dpw(fixtures, split, image, box, gender):
    path = preprocessed(fixtures, f"sample_3dpw_{split}")
    data = read_humandata(path)
    assert data.config == "3dpw"
    assert data.image_paths == (image,)
    assert data.genders == (gender,)
    np.testing.assert_allclose(data.boxes, [box], atol=0.006)
    assert data.body_pose.dtype == np.float64 and data.body_pose.shape == (1, 23, 3)
    assert data.global_orient.shape == (1, 3) and data.betas.shape == (1, 10)
    smpl = np.load(path, allow_pickle=True)["smpl"].item()  # the fixture is trusted; README checked it
    for key in ("body_pose", "global_orient", "betas"):
        np.testing.assert_array_equal(getattr(data, key), smpl[key].astype(float))
    assert data.keypoints_2d is None and data.mask is None


@pytest.mark.fixtures
def test_humandata_3dpw_train_image(fixtures):
    root = fixtures / "mmhuman3d" / "tests" / "data" / "datasets" / "3dpw"
    image = read_image(root / read_humandata(preprocessed(fixtures, "sample_3dpw_train")).image_paths[0])
    assert image.shape == (1920, 1080, 3)


# Broken files built here.


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch ran-code",))


def test_humandata_object_array_running_code_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    smpl = np.empty((), dtype=object)
    smpl[()] = {"betas": np.zeros((1, 10)), "hook": RunsCode()}
    path = tmp_path / "evil.npz"
    np.savez(
        path, image_path=np.array(["a.jpg"]), bbox_xywh=np.zeros((1, 4)), config=np.array("3dpw"), smpl=smpl
    )
    with pytest.raises(DatasetError, match=r"refusing to load (posix|os)\.system") as error:
        read_humandata(path)
    assert error.value.path == path
    assert not (tmp_path / "ran-code").exists()


def test_humandata_truncated(tmp_path):
    path = tmp_path / "short.npz"
    np.savez(path, image_path=np.array(["a.jpg"]), bbox_xywh=np.zeros((1, 4)), config=np.array("3dpw"))
    path.write_bytes(path.read_bytes()[:150])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        read_humandata(path)
