"""The top-down pipeline (suite.finetune.topdown): centre and size from boxes and MPII's annotations, the
augmentation's geometry on drawn keypoints, its distributions and draws, and the test-time predictions
of a model that knows the answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from suite.data.images import write_image
from suite.data.mpii import MpiiPerson
from suite.finetune.heatmap import encode
from suite.finetune.topdown import (
    Person,
    Pipeline,
    TopdownDataset,
    crop_person,
    flip_joints,
    half_body,
    mean_pose,
    mpii_center_scale,
    normalise,
    predict,
    xywh_center_scale,
)

PAIRS = ((0, 1),)


def test_box_center_scale_is_hrnets_xywh2cs():
    center, scale = xywh_center_scale((10.0, 20.0, 30.0, 100.0), 192 / 256)
    np.testing.assert_allclose(center, [25.0, 70.0])
    np.testing.assert_allclose(scale, [75.0 * 1.25, 100.0 * 1.25])  # too narrow: widened to 3:4
    _, scale = xywh_center_scale((0.0, 0.0, 120.0, 100.0), 192 / 256)
    np.testing.assert_allclose(scale, [120.0 * 1.25, 160.0 * 1.25])  # too wide: made taller


def test_mpii_center_scale_is_the_protocols():
    person = MpiiPerson("a.jpg", np.array([101.0, 51.0]), 1.2, np.zeros((16, 2)), np.zeros(16))
    center, scale = mpii_center_scale(person)
    np.testing.assert_allclose(center, [100.0, 50.0 + 15 * 1.2])
    np.testing.assert_allclose(scale, [1.2 * 1.25 * 200] * 2)


def blob_image(points: np.ndarray, shape=(240, 320), sigma=4.0) -> np.ndarray:
    """Black image with a Gaussian blob of channel k at points[k] (k < 3)."""
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    image = np.zeros((*shape, 3))
    for k, (x, y) in enumerate(points):
        image[..., k] = 255 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return np.round(image).astype(np.uint8)


def centroid(channel: np.ndarray) -> np.ndarray:
    ys, xs = np.mgrid[: channel.shape[0], : channel.shape[1]]
    weights = channel.astype(np.float64)
    return np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()


@pytest.mark.parametrize("flip_p", [0.0, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_augmented_joints_land_on_their_drawn_keypoints(flip_p, seed):
    points = np.array([[130.3, 100.6], [190.2, 140.1]])
    image = blob_image(points)
    person = Person(Path("-"), np.array([160.0, 120.0]), np.array([150.0, 200.0]), points, np.ones(2))
    pipeline = Pipeline(
        (96, 128), (24, 32), PAIRS, scale_factor=0.25, rotation_factor=30.0, rotation_p=1.0, flip_p=flip_p
    )
    crop = crop_person(image, person, pipeline, np.random.default_rng(seed))
    assert crop.image.shape == (128, 96, 3) and crop.rotation != 0 and crop.flipped == bool(flip_p)
    for joint in range(2):
        drawn = (joint + 1) % 2 if crop.flipped else joint  # a mirrored image shows left as right
        assert np.abs(centroid(crop.image[..., drawn]) - crop.joints[joint]).max() < 1.0
    np.testing.assert_array_equal(crop.visible, [1, 1])


def test_flip_joints_mirrors_and_swaps():
    joints = np.array([[10.0, 5.0], [20.0, 6.0], [30.0, 7.0]])
    flipped, visible = flip_joints(joints, np.array([1.0, 0.0, 1.0]), 100, ((0, 2),))
    np.testing.assert_allclose(flipped, [[69.0, 7.0], [79.0, 6.0], [89.0, 5.0]])
    np.testing.assert_array_equal(visible, [1, 0, 1])


def test_draws_follow_the_official_distributions():
    image = np.zeros((20, 20, 3), dtype=np.uint8)
    person = Person(Path("-"), np.array([10.0, 10.0]), np.array([10.0, 10.0]), np.zeros((2, 2)), np.ones(2))
    pipeline = Pipeline((8, 8), (2, 2), PAIRS, scale_factor=0.25, rotation_factor=30.0, flip_p=0.5)
    crops = [crop_person(image, person, pipeline, np.random.default_rng([7, 0, i])) for i in range(2000)]
    scales = np.array([crop.scale[0] / 10 for crop in crops])
    rotations = np.array([crop.rotation for crop in crops])
    assert scales.min() == pytest.approx(0.75) and scales.max() == pytest.approx(1.25)  # clipped, not cut
    assert 0.10 < (scales == 0.75).mean() < 0.20  # P(N < −1) = 0.16
    assert np.abs(rotations).max() == pytest.approx(60.0) and 0.35 < (rotations == 0).mean() < 0.45
    assert 0.45 < np.mean([crop.flipped for crop in crops]) < 0.55
    unaugmented = crop_person(image, person, pipeline, None)
    assert (unaugmented.rotation, unaugmented.flipped) == (0.0, False)
    np.testing.assert_array_equal(unaugmented.scale, [10.0, 10.0])


def test_half_body_takes_one_half_of_the_visible_joints():
    joints = np.array([[float(i), 2.0 * i] for i in range(12)])
    visible = np.ones(12)
    visible[11] = 0
    pipeline = Pipeline((192, 256), (48, 64), (), half_body_p=1.0, upper_body=tuple(range(6)))
    halves = set()
    for seed in range(20):
        center, scale = half_body(joints, visible, pipeline, np.random.default_rng(seed))
        chosen = list(range(6)) if center[0] < 5 else list(range(6, 11))
        np.testing.assert_allclose(center, joints[chosen].mean(axis=0), rtol=1e-6)
        height = np.ptp(joints[chosen, 1])
        np.testing.assert_allclose(scale, np.array([height * 0.75, height]) * 1.5, rtol=1e-6)
        halves.add(len(chosen))
    assert halves == {5, 6}
    assert half_body(joints, np.eye(12)[0], pipeline, np.random.default_rng(0)) is None


def test_joints_leaving_the_crop_become_invisible_when_asked():
    image = np.zeros((100, 100, 3), dtype=np.uint8)
    joints = np.array([[50.0, 50.0], [99.0, 50.0]])
    person = Person(Path("-"), np.array([50.0, 50.0]), np.array([40.0, 40.0]), joints, np.ones(2))
    kept = crop_person(image, person, Pipeline((16, 16), (4, 4), ()), None)
    dropped = crop_person(image, person, Pipeline((16, 16), (4, 4), (), invisible_outside=True), None)
    np.testing.assert_array_equal(kept.visible, [1, 1])
    np.testing.assert_array_equal(dropped.visible, [1, 0])


def test_official_normalisation_feeds_bgr():
    image = np.random.default_rng(0).integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    torch.testing.assert_close(normalise(image, "official"), normalise(image[..., ::-1].copy(), "rgb"))
    assert normalise(image)[0, 0, 0].item() == pytest.approx((image[0, 0, 0] / 255 - 0.485) / 0.229, rel=1e-5)


@pytest.fixture(scope="module")
def persons(tmp_path_factory) -> list[Person]:
    """Four persons in two images, joints inside their crops."""
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(3)
    out = []
    for n in range(4):
        path = root / f"{n // 2}.png"
        if not path.exists():
            write_image(path, rng.integers(0, 256, size=(120, 160, 3), dtype=np.uint8))
        center = np.array([60.0 + 20 * n, 60.0])
        joints = center + rng.uniform(-30, 30, size=(4, 2))
        out.append(Person(path, center, np.array([90.0, 90.0]), joints, np.array([1.0, 1.0, 0.0, 1.0])))
    return out


def test_items_are_drawn_from_seed_epoch_and_index(persons):
    pipeline = Pipeline((32, 32), (8, 8), ((0, 1), (2, 3)), scale_factor=0.25, rotation_factor=30, flip_p=0.5)
    data = TopdownDataset(persons, pipeline, seed=5)
    first = data[2]
    assert torch.equal(first["image"], data[2]["image"]) and torch.equal(first["target"], data[2]["target"])
    assert (
        first["image"].shape == (3, 32, 32)
        and first["target"].shape == (4, 8, 8)
        and first["weight"].shape == (4,)
    )
    data.set_epoch(1)
    assert not torch.equal(first["image"], data[2]["image"])
    test = TopdownDataset(persons, pipeline, seed=None)[2]
    np.testing.assert_allclose(test["center"].numpy(), persons[2].center)


class Oracle(nn.Module):
    """A 'model' that recognises each test crop, and its mirror, and returns its joints' Gaussian targets."""

    def __init__(self, data: TopdownDataset) -> None:
        super().__init__()
        pipeline = data.pipeline
        self.known: list[tuple[torch.Tensor, torch.Tensor]] = []
        for index in range(len(data)):
            item = data[index]
            crop = crop_person(np.zeros((1, 1, 3), np.uint8), data.persons[index], pipeline, None)
            mirrored = flip_joints(crop.joints, crop.visible, pipeline.input_size[0], pipeline.flip_pairs)
            for image, (joints, visible) in (
                (item["image"], (crop.joints, crop.visible)),
                (item["image"].flip(2), mirrored),
            ):
                maps, _ = encode(
                    joints, np.ones_like(visible), pipeline.input_size, pipeline.heatmap_size, pipeline.sigma
                )
                self.known.append((image, torch.from_numpy(maps)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.stack(
            [next(maps for known, maps in self.known if torch.equal(known, image)) for image in images]
        )


def test_a_model_that_knows_the_targets_is_decoded_back_to_the_joints(persons):
    pipeline = Pipeline((64, 64), (16, 16), ((0, 1), (2, 3)))
    data = TopdownDataset(persons, pipeline, seed=None)
    result = predict(Oracle(data), data, torch.device("cpu"), batch_size=3, workers=0)
    truth = np.stack([person.joints for person in persons])
    assert result["joints"].shape == (4, 4, 2) and result["scores"].shape == (4, 4)
    heatmap_pixel = 90.0 / 16
    assert np.abs(result["joints"] - truth).max() / heatmap_pixel <= 0.5 + 1e-9
    # 1 where both maps peak on one pixel, (1 + e^(−1/8)) / 2 where the flip test splits them
    assert result["scores"].min() >= (1 + np.exp(-1 / 8)) / 2 - 1e-6 and result["scores"].max() == 1.0
    np.testing.assert_allclose(result["scale"], 90.0)


def test_the_mean_pose_baseline_places_the_mean_training_pose_in_each_crop():
    # poses in crop coordinates ((joint - centre) / crop width), crops of other widths and aspects
    rng = np.random.default_rng(0)
    poses = rng.uniform(-0.4, 0.4, size=(3, 5, 2))
    training = []
    for i in range(3):
        center, scale = np.array([100.0 + 10 * i, 80.0]), np.array([60.0 + 10 * i, 90.0 + 30 * i])
        visible = np.ones(5)
        if i == 0:
            visible[0] = 0  # an invisible joint stays out of its mean
        training.append(Person(Path("a.jpg"), center, scale, center + poses[i] * scale[0], visible))
    test = [Person(Path("b.jpg"), np.array(c), np.array(s), np.zeros((5, 2)), np.ones(5))
            for c, s in (([50.0, 60.0], [30.0, 40.0]), ([10.0, 20.0], [6.0, 6.0]))]  # fmt: skip
    expected = poses.mean(axis=0)
    expected[0] = poses[1:, 0].mean(axis=0)
    placed = mean_pose(training, test)
    for person, joints in zip(test, placed, strict=True):
        np.testing.assert_allclose(joints, person.center + expected * person.scale[0], atol=1e-9)
