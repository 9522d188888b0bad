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


def random_coco(seed: int, images: int = 40) -> tuple[dict, list[dict]]:
    """A keypoint ground truth of medium and large persons (some crowd, some without keypoints) and noisy
    results with tied scores across images: what makes the order of images matter to accumulate."""
    rng = np.random.default_rng(seed)
    annotations, results = [], []
    for image in range(1, images + 1):
        for _ in range(int(rng.integers(0, 4))):
            w, h = rng.uniform(20, 200, 2)
            x, y = rng.uniform(0, 300, 2)
            points = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17), np.full(17, 2.0)], 1)
            visible = int(rng.choice([0, 17], p=[0.1, 0.9]))
            annotations.append(
                {
                    "id": len(annotations) + 7,
                    "image_id": image * 3,  # ids not 1..N and not in order below
                    "category_id": 1,
                    "keypoints": (points * (visible > 0)).ravel().tolist(),
                    "bbox": [x, y, w, h],
                    "area": w * h * 0.6,
                    "iscrowd": int(rng.random() < 0.05),
                    "num_keypoints": visible,
                }
            )
            for _ in range(int(rng.integers(0, 3))):
                noisy = points.copy()
                noisy[:, :2] += rng.normal(0, rng.uniform(1, 15), (17, 2))
                results.append(
                    {
                        "image_id": image * 3,
                        "category_id": 1,
                        "keypoints": noisy.ravel().tolist(),
                        "score": float(np.round(rng.uniform(), 1)),  # ties across images
                    }
                )
    order = rng.permutation(images) + 1
    gt = {
        "images": [{"id": int(i) * 3} for i in order],
        "annotations": annotations,
        "categories": [
            {"id": 1, "name": "person", "keypoints": [f"k{i}" for i in range(17)], "skeleton": []}
        ],
    }
    return gt, results


def test_a_resample_reuses_each_images_matching_and_equals_cocoeval_of_the_resampled_dataset():
    """coco_metrics (each image matched once, accumulate on the drawn copies) against COCOeval run from
    scratch on the dataset the resample stands for (resampled_dataset: copies under new ids)."""
    from suite.evaluate.coco_samples import coco_metrics, resampled_dataset

    gt, results = random_coco(seed=0)
    samples = coco_samples(gt, results)
    rng = np.random.default_rng(1)
    n = len(gt["images"])
    draws = [np.ones(n, dtype=np.int64)] + [
        np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(12)
    ]
    for counts in draws:
        expected = coco_keypoint_ap(*reversed(resampled_dataset(samples, counts)))
        got = coco_metrics(samples, counts)
        for key in KEYS:
            assert got[key] == pytest.approx(expected[key], rel=1e-12, abs=1e-12, nan_ok=True), (key, counts)
    assert coco_metrics(samples, draws[0]) == coco_keypoint_ap(results, gt)
    assert len({coco_metrics(samples, counts)["ap"] for counts in draws}) > 5  # the resamples differ
