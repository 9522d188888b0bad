"""COCO AP per resample of the test images: every image once is the reported evaluation; an image drawn
twice is the evaluation of a dataset holding it twice under new ids, built here by hand."""

import copy
import json

import numpy as np
import pytest
from test_coco_ap import perturbed

from suite.evaluate.coco_ap import KEYS, coco_keypoint_ap
from suite.evaluate.coco_samples import coco_samples
from suite.evaluate.samples import metric, read_samples, to_bytes


@pytest.fixture(scope="module")
def gt(fixtures) -> dict:
    return json.loads((fixtures / "mmpose" / "tests" / "data" / "coco" / "test_coco.json").read_text())


def test_every_image_once_is_the_reported_evaluation(gt, tmp_path):
    results = perturbed(gt, seed=1)
    samples = coco_samples(gt, results)
    (tmp_path / "samples.npz").write_bytes(to_bytes(samples))
    samples = read_samples(tmp_path / "samples.npz")  # as the report reads it
    expected = coco_keypoint_ap(results, gt)
    for key in KEYS:
        assert metric(samples, key) == pytest.approx(expected[key], rel=1e-12, nan_ok=True)


def test_an_image_drawn_twice_enters_twice_under_new_ids(gt):
    results = perturbed(gt, seed=2)
    samples = coco_samples(gt, results)
    weights = np.zeros(len(gt["images"]), dtype=np.int64)
    weights[0], weights[2] = 2, 1  # image 0 twice, image 2 once, the others left out
    first, third = gt["images"][0]["id"], gt["images"][2]["id"]
    new_image = max(image["id"] for image in gt["images"]) + 1
    new_annotation = max(a["id"] for a in gt["annotations"]) + 1
    by_hand = copy.deepcopy(gt)
    by_hand["images"] = [gt["images"][0], gt["images"][2], {**gt["images"][0], "id": new_image}]
    kept = [a for a in gt["annotations"] if a["image_id"] in (first, third)]
    again = [a for a in gt["annotations"] if a["image_id"] == first]
    by_hand["annotations"] = kept + [
        {**a, "id": new_annotation + n, "image_id": new_image} for n, a in enumerate(again)
    ]
    chosen = [r for r in results if r["image_id"] in (first, third)]
    chosen += [{**r, "image_id": new_image} for r in results if r["image_id"] == first]
    expected = coco_keypoint_ap(chosen, by_hand)
    assert metric(samples, "ap", weights) == pytest.approx(expected["ap"], rel=1e-12)
    assert metric(samples, "ap", weights) != pytest.approx(metric(samples, "ap"), rel=1e-6)


def test_identical_rows_are_within_noise_and_better_keypoints_are_better(gt):
    from suite.evaluate.bootstrap import difference, verdict

    noisy, same = coco_samples(gt, perturbed(gt, seed=3)), coco_samples(gt, perturbed(gt, seed=3))
    interval = difference([noisy], [same], "ap", n_resamples=50)
    assert interval.low == interval.high == 0.0 and verdict(interval, lower_is_better=False) == "within noise"
    exact = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in gt["annotations"]
    ]
    better = difference([coco_samples(gt, exact)], [noisy], "ap", n_resamples=50)
    assert better.estimate > 0 and better.low <= better.high
