"""h36m-3d's data and test protocol: the crop affine against RLE's three-point construction, crops of
real frames against plain bilinear sampling, MPII's joints in the 18-joint layout, targets that
back-project to the ground truth, and a flip test that keeps a perfect model perfect."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from suite.data.affine import (
    apply_affine,
    box_to_center_scale,
    clip_box,
    crop_affine,
    invert_affine,
    xywh_to_xyxy,
)
from suite.data.h36m import parse_mmpose_name, read_rle
from suite.data.images import read_image
from suite.data.mpii import read_annotations
from suite.data.skeleton import FLIP_PAIRS
from suite.finetune.h36m_3d import evaluate_predictions
from suite.finetune.rle import RleOutput
from suite.finetune.rle_data import (
    NUM_JOINTS,
    Person,
    RleDataset,
    crop_person,
    encode,
    flip_joints,
    h36m_person,
    mpii_person,
    with_thorax,
)
from suite.finetune.run import build_task
from suite.profiles import finetune_profile

SIZE = 32


def task(roots: dict[str, Path], **changes):
    return build_task("h36m-3d", roots, finetune_profile("smoke"), {"input_size": SIZE, **changes})


def rle_get_affine_transform(center, width, rotation, size):
    """RLE's get_affine_transform: three points (centre, a rotated half-width up, a perpendicular)."""

    def third(a, b):
        d = a - b
        return b + np.array([-d[1], d[0]])

    radians = math.pi * rotation / 180
    sn, cs = math.sin(radians), math.cos(radians)
    src_dir = np.array([0 * cs - (-0.5 * width) * sn, 0 * sn + (-0.5 * width) * cs])
    src = np.stack([center, center + src_dir, third(center, center + src_dir)])
    middle = np.array([size * 0.5, size * 0.5])
    dst_1 = middle + np.array([0, -0.5 * size])
    dst = np.stack([middle, dst_1, third(middle, dst_1)])
    return cv2.getAffineTransform(src.astype(np.float32), dst.astype(np.float32))


@pytest.mark.parametrize("rotation", [0.0, 23.0, -55.0])
def test_crop_affine_is_rles_three_point_transform(rotation):
    center, width = np.array([412.3, 287.9]), 371.4
    ours = crop_affine(center, width, rotation, (256, 256))
    assert np.allclose(ours, rle_get_affine_transform(center, width, rotation, 256), rtol=1e-5, atol=1e-3)
    points = np.random.default_rng(0).uniform(0, 1000, (10, 2))
    assert np.allclose(apply_affine(invert_affine(ours), apply_affine(ours, points)), points, atol=1e-9)


def test_box_to_center_scale_and_clipping_by_hand():
    assert np.allclose(xywh_to_xyxy(np.array([10.0, 20.0, 30.0, 50.0])), [10, 20, 39, 69])
    assert np.allclose(clip_box(np.array([-5.0, 20.0, 120.0, 69.0]), 100, 60), [0, 20, 99, 59])
    center, scale = box_to_center_scale(np.array([10.0, 20.0, 40.0, 80.0]), 1.0, 1.25)
    assert np.allclose(center, [25, 50]) and np.allclose(scale, [75, 75])  # 30 x 60 grown to 60 x 60


def bilinear(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The crop by plain bilinear sampling of the image at each crop pixel's source (black outside)."""
    ys, xs = np.mgrid[0:size, 0:size]
    source = apply_affine(invert_affine(matrix), np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(float))
    x0, y0 = np.floor(source[:, 0]).astype(int), np.floor(source[:, 1]).astype(int)
    fx, fy = source[:, 0] - x0, source[:, 1] - y0
    padded = np.pad(image.astype(float), ((1, 2), (1, 2), (0, 0)))

    def at(x, y):
        return padded[np.clip(y + 1, 0, padded.shape[0] - 1), np.clip(x + 1, 0, padded.shape[1] - 1)]

    value = (
        at(x0, y0) * ((1 - fx) * (1 - fy))[:, None]
        + at(x0 + 1, y0) * (fx * (1 - fy))[:, None]
        + at(x0, y0 + 1) * ((1 - fx) * fy)[:, None]
        + at(x0 + 1, y0 + 1) * (fx * fy)[:, None]
    )
    return value.reshape(size, size, 3)


def h36m_fixture_persons(fixtures: Path) -> list[Person]:
    folder = fixtures / "mmpose/tests/data/h36m"
    data = json.loads((folder / "h36m_coco.json").read_text())
    images = {image["id"]: image["file_name"] for image in data["images"]}
    persons = []
    for annotation in data["annotations"]:
        name = images[annotation["image_id"]]
        subject, action, camera, _ = parse_mmpose_name(name)
        keypoints = np.array(annotation["keypoints"]).reshape(-1, 3)
        joints = with_thorax(np.concatenate([keypoints[:, :2], np.zeros((17, 1))], axis=1))
        box = xywh_to_xyxy(np.array(annotation["bbox"]))
        image = folder / subject / f"{subject}_{action}.{camera}" / name
        persons.append(Person(image, box, 1.0, joints, np.ones((NUM_JOINTS, 3))))
    return persons


@pytest.mark.fixtures
def test_real_h36m_crops_are_bilinear_samples_with_the_joints_inside(fixtures):
    config = task({"h36m": fixtures, "mpii": fixtures}).config
    for person in h36m_fixture_persons(fixtures):
        image = read_image(person.image)
        crop = crop_person(image, person, config, None)
        matrix = crop_affine(crop.center, crop.scale[0], 0.0, (SIZE, SIZE))
        assert crop.image.shape == (SIZE, SIZE, 3) and not crop.flipped
        assert np.abs(crop.image - bilinear(image, matrix, SIZE)).mean() < 1.0  # cv2: 5-bit weights
        target, weight = encode(crop, SIZE, config.bbox_3d_shape)
        assert weight.min() == 1.0 and np.abs(target[:, :2]).max() < 0.5  # the box holds the person
        assert np.allclose(
            apply_affine(invert_affine(matrix), (target[:, :2] + 0.5) * SIZE), person.joints[:, :2]
        )


@pytest.mark.fixtures
def test_real_augmented_crops_are_reproducible_and_invertible(fixtures):
    config = task({"h36m": fixtures, "mpii": fixtures}).config
    person = h36m_fixture_persons(fixtures)[0]
    image = read_image(person.image)
    crops = [crop_person(image, person, config, np.random.default_rng([0, 0, key])) for key in (1, 1, 2)]
    assert np.array_equal(crops[0].image, crops[1].image) and not np.array_equal(
        crops[0].image, crops[2].image
    )
    for key in range(8):  # rotations, flips, scales: the crop's joints map back to the person's
        crop = crop_person(image, person, config, np.random.default_rng([0, 0, key]))
        matrix = crop_affine(crop.center, crop.scale[0], crop.rotation, (SIZE, SIZE))
        joints = person.joints
        if crop.flipped:
            joints, _ = flip_joints(person.joints, person.visible, image.shape[1])
        assert np.allclose(apply_affine(invert_affine(matrix), crop.joints[:, :2]), joints[:, :2], atol=1e-9)


@pytest.mark.fixtures
def test_real_mpii_persons_map_into_the_18_joint_layout(fixtures):
    folder = fixtures / "mmpose/tests/data/mpii"
    persons = read_annotations(folder / "test_mpii.json", folder)
    config = task({"h36m": fixtures, "mpii": fixtures}).config
    for raw in persons:
        person = mpii_person(raw, folder, config.mpii_scale_mult)
        # s_mpii_2_hm36_jt = [6, 2, 1, 0, 3, 4, 5, -1, 8, -1, 9, 13, 14, 15, 12, 11, 10, 7]
        for joint, source in enumerate([6, 2, 1, 0, 3, 4, 5, -1, 8, -1, 9, 13, 14, 15, 12, 11, 10, 7]):
            if source < 0:
                assert not person.visible[joint].any()
            else:
                assert np.allclose(person.joints[joint, :2], np.array(raw.joints[source]) - 1)
                assert list(person.visible[joint]) == [raw.joints_vis[source]] * 2 + [0]
        crop = crop_person(read_image(person.image), person, config, None)
        _, weight = encode(crop, SIZE, config.bbox_3d_shape)
        assert not weight[:, 2].any() and weight[:, 0].sum() == person.visible[:, 0].sum()  # all in the crop


def test_targets_back_project_to_the_ground_truth(h36m_synth):
    config = task(h36m_synth).config
    samples = read_rle(h36m_synth["h36m"], "test").samples
    crops = [crop_person(read_image(s.image), h36m_person(s, 1.0), config, None) for s in samples]
    outputs = {
        "coords": np.stack([encode(crop, SIZE, config.bbox_3d_shape)[0] for crop in crops]),
        "center": np.stack([crop.center for crop in crops]),
        "scale": np.stack([crop.scale for crop in crops]),
        "sigma": np.zeros((len(crops), NUM_JOINTS, 3)),
        "score": np.zeros((len(crops), NUM_JOINTS)),
    }
    result = evaluate_predictions(outputs, samples, config)
    gap = np.abs(result.predictions["joints_cam"] - result.predictions["gt_joints_cam"]).max()
    assert gap < 1e-6 and result.metrics["mpjpe"] < 1e-6 and result.metrics["pa_mpjpe"] < 1e-6
    truth = np.stack([s.joints_cam - s.joints_cam[:1] for s in samples])
    assert np.allclose(result.predictions["gt_joints_cam"], truth)  # 17 joints, pelvis-aligned


class PerfectModel(nn.Module):
    """Answers each crop (and its mirror) with its exact targets, looked up by the image's bytes."""

    def __init__(self, answers: dict[bytes, np.ndarray]) -> None:
        super().__init__()
        self.answers = answers

    def forward(self, images: torch.Tensor) -> RleOutput:
        coords = torch.stack([torch.from_numpy(self.answers[image.numpy().tobytes()]) for image in images])
        return RleOutput(coords.double(), torch.full_like(coords, 0.5))


def test_flip_test_of_a_perfect_model_is_perfect(h36m_synth):
    job = task(h36m_synth)
    config = job.config
    samples = read_rle(h36m_synth["h36m"], "test").samples
    answers = {}
    for sample in samples:
        person = h36m_person(sample, config.h36m_scale_mult)
        crop = crop_person(read_image(sample.image), person, config, None)
        target, _ = encode(crop, SIZE, config.bbox_3d_shape)
        image = RleDataset([person], (), config, None)[0]["image"]
        answers[image.numpy().tobytes()] = target
        # the mirrored array shows pixel x at SIZE − 1 − x, left and right swapped
        mirrored = crop.joints.copy()
        mirrored[:, 0] = SIZE - 1 - mirrored[:, 0]
        for left, right in FLIP_PAIRS:
            mirrored[[left, right]] = mirrored[[right, left]]
        crop.joints = mirrored
        answers[image.flip(2).numpy().tobytes()] = encode(crop, SIZE, config.bbox_3d_shape)[0]
    for flip_test in (False, True):
        result = task(h36m_synth, flip_test=flip_test).evaluate(
            PerfectModel(answers), torch.device("cpu"), 3, 0
        )
        assert result.metrics["mpjpe"] < 1e-6 and result.metrics["pa_mpjpe"] < 1e-6
        assert set(result.metrics) > {"mpjpe", "pa_mpjpe"}  # and the actions present


def test_training_items_depend_only_on_seed_epoch_and_index(h36m_synth):
    data = task(h36m_synth).train_set(seed=5)
    assert len(data) == 16  # 8 Human3.6M frames, then 8 MPII draws
    data.set_epoch(1)
    direct = [data[i] for i in range(len(data))]
    loaded = next(iter(DataLoader(data, batch_size=len(data), num_workers=2)))
    for key in ("image", "target", "weight"):
        assert torch.equal(loaded[key], torch.stack([item[key] for item in direct])), key
    assert all(item["weight"][:, 2].any() for item in direct[:8])  # Human3.6M: depth targets
    assert not any(item["weight"][:, 2].any() for item in direct[8:])  # MPII: 2D only
    data.set_epoch(2)
    assert not torch.equal(data[3]["image"], direct[3]["image"])
