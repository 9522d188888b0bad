"""COCO keypoint AP per image, for the bootstrap: AP is no mean over images, so a resample of the test
images re-runs COCOeval (suite.evaluate.coco_ap.coco_keypoint_ap) on them, an image drawn k times
entering k times: its first copy keeps its ids, each further copy gets new image and annotation ids,
with its ground-truth persons and its detections. With every image drawn once it is the reported
evaluation, the same images, annotations and results in the same order.

The samples (kind "coco", suite.evaluate.samples) hold the test images' ids, what COCOeval reads of
each ground-truth person (gt_*) and the results after rescoring and OKS-NMS (dt_*), each with the
index of its image.

COCOeval matches detections to persons image by image (evaluate: OKS, then greedy matching per area
range), and only its accumulate step looks across images. So the samples' images are matched once,
and a resample reuses each image's matching for every copy of it: accumulate and summarize run on the
matchings of the drawn images, in the order COCOeval would see the resampled dataset (the first copies
by ascending id, then the further copies under their new ids). That is the same computation as
COCOeval of that dataset (tested on random resamples) at a fraction of the cost: on val2017's size
(5,000 images, 11,004 persons, 30,000 results) one COCOeval takes ~6 s on one core, one resample
0.1-0.2 s. A comparison still draws 200 resamples, not 1000 (suite.evaluate.samples.FEWER_RESAMPLES);
every column of a resample shares one accumulate.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

COCO = "coco"
# id(samples["dt_score"]) -> (that array, the samples' images matched by COCOeval, each sample image's
# position among COCOeval's sorted image ids); the entry holds the array so that its id is not reused
_MATCHED: dict[int, tuple[np.ndarray, Any, np.ndarray]] = {}
_MATCHED_SIZE = 32
# (samples, weights) -> (the samples' array the key names, every metric): one accumulate for every column
_CACHE: dict[tuple[int, bytes], tuple[np.ndarray, dict[str, float]]] = {}
_CACHE_SIZE = 4096


def coco_samples(gt: Mapping[str, Any], results: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """The samples of a COCO keypoint evaluation: the ground truth json (parsed) and its result dicts."""
    ids = np.array([image["id"] for image in gt["images"]], dtype=np.int64)
    index = {int(image_id): n for n, image_id in enumerate(ids)}
    annotations = list(gt["annotations"])
    category = next(c for c in gt["categories"] if isinstance(c.get("keypoints"), list))
    return {
        "kind": np.array(COCO),
        "id": ids,
        "keypoint_names": np.array(category["keypoints"]),
        "category_id": np.array(category["id"]),
        "gt_id": np.array([a["id"] for a in annotations], dtype=np.int64),
        "gt_image": np.array([index[int(a["image_id"])] for a in annotations], dtype=np.int64),
        "gt_category": np.array([a["category_id"] for a in annotations], dtype=np.int64),
        "gt_keypoints": np.array([a["keypoints"] for a in annotations], dtype=np.float64).reshape(
            len(annotations), -1
        ),
        "gt_bbox": np.array([a["bbox"] for a in annotations], dtype=np.float64).reshape(-1, 4),
        "gt_area": np.array([a["area"] for a in annotations], dtype=np.float64),
        "gt_iscrowd": np.array([a.get("iscrowd", 0) for a in annotations], dtype=np.int64),
        "gt_num_keypoints": np.array([a["num_keypoints"] for a in annotations], dtype=np.int64),
        "dt_image": np.array([index[int(r["image_id"])] for r in results], dtype=np.int64),
        "dt_category": np.array([r["category_id"] for r in results], dtype=np.int64),
        "dt_keypoints": np.array([r["keypoints"] for r in results], dtype=np.float64).reshape(
            len(results), -1
        ),
        "dt_score": np.array([r["score"] for r in results], dtype=np.float64),
    }


def coco_metrics(samples: Mapping[str, np.ndarray], weights: np.ndarray) -> dict[str, float]:
    """coco_keypoint_ap of the images drawn as `weights` (N,) says (integer counts)."""
    counts = np.asarray(weights, dtype=np.int64)
    key = (id(samples["dt_score"]), counts.tobytes())
    if key not in _CACHE:
        from suite.evaluate.coco_ap import KEYS, coco_stats

        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        drawn_results = counts[samples["dt_image"]].any()
        scores = (
            coco_stats(_resampled_matching(samples, counts)) if drawn_results else dict.fromkeys(KEYS, 0.0)
        )
        _CACHE[key] = (samples["dt_score"], scores)
    return _CACHE[key][1]


def _resampled_matching(samples: Mapping[str, np.ndarray], counts: np.ndarray):
    """The samples' COCOeval after evaluate() as if run on resampled_dataset(samples, counts): the
    drawn images' own matchings, each as often as drawn, in that dataset's image order."""
    evaluation, position = _matched(samples)
    first = [n for n in np.argsort(position) if counts[n] > 0]  # the drawn images by ascending id
    further = [n for n in range(len(counts)) for _ in range(1, int(counts[n]))]  # new ids, in order
    order = position[np.array(first + further, dtype=np.int64)]
    images = len(position)
    resampled = copy.copy(evaluation)
    resampled.params, resampled._paramsEval = copy.copy(evaluation.params), copy.copy(evaluation._paramsEval)
    resampled.params.imgIds = resampled._paramsEval.imgIds = list(range(len(order)))
    blocks = len(evaluation.evalImgs) // images  # category x area range
    resampled.evalImgs = [evaluation.evalImgs[block * images + i] for block in range(blocks) for i in order]
    return resampled


def _matched(samples: Mapping[str, np.ndarray]) -> tuple[Any, np.ndarray]:
    """The samples' images matched once by COCOeval (every image drawn once), and each sample image's
    position in COCOeval's image order."""
    entry = _MATCHED.get(id(samples["dt_score"]))
    if entry is None or entry[0] is not samples["dt_score"]:
        from suite.evaluate.coco_ap import coco_matched

        gt, results = resampled_dataset(samples, np.ones(len(samples["id"]), dtype=np.int64))
        evaluation = coco_matched(results, gt)
        # accumulate and summarize read the matchings and the parameters only: drop the datasets and OKS
        evaluation.cocoGt = evaluation.cocoDt = evaluation._gts = evaluation._dts = evaluation.ious = None
        sorted_ids = np.asarray(evaluation.params.imgIds, dtype=np.int64)
        position = np.searchsorted(sorted_ids, samples["id"])
        if len(_MATCHED) >= _MATCHED_SIZE:
            _MATCHED.clear()
        entry = _MATCHED[id(samples["dt_score"])] = (samples["dt_score"], evaluation, position)
    return entry[1], entry[2]


def resampled_dataset(samples: Mapping[str, np.ndarray], counts: np.ndarray) -> tuple[dict, list[dict]]:
    """(ground-truth json, result dicts) with image n present counts[n] times: the first copies with
    their own ids and in the original order, then the further copies under new ids."""
    ids, gt_image, dt_image = samples["id"], samples["gt_image"], samples["dt_image"]
    further = [(n, c) for n in range(len(ids)) for c in range(1, int(counts[n]))]
    next_image = int(ids.max()) + 1 if len(ids) else 1
    new_ids = {duplicate: next_image + k for k, duplicate in enumerate(further)}
    drawn = counts > 0
    images = [{"id": int(image_id)} for image_id in ids[drawn]]
    annotations = [
        _annotation(samples, a, int(ids[gt_image[a]]), int(samples["gt_id"][a]))
        for a in range(len(gt_image))
        if drawn[gt_image[a]]
    ]
    results = [_result(samples, d, int(ids[dt_image[d]])) for d in range(len(dt_image)) if drawn[dt_image[d]]]
    gt_of, dt_of = _by_image(gt_image, len(ids)), _by_image(dt_image, len(ids))
    next_annotation = int(samples["gt_id"].max()) + 1 if len(samples["gt_id"]) else 1
    for (original, _), image_id in new_ids.items():
        images.append({"id": image_id})
        for a in gt_of[original]:
            annotations.append(_annotation(samples, a, image_id, next_annotation))
            next_annotation += 1
        results += [_result(samples, d, image_id) for d in dt_of[original]]
    category = {
        "id": int(samples["category_id"]),
        "name": "person",
        "keypoints": samples["keypoint_names"].tolist(),
        "skeleton": [],
    }
    return {"images": images, "annotations": annotations, "categories": [category]}, results


def _by_image(image_index: np.ndarray, n: int) -> list[list[int]]:
    groups: list[list[int]] = [[] for _ in range(n)]
    for position, image in enumerate(image_index.tolist()):
        groups[image].append(position)
    return groups


def _annotation(samples: Mapping[str, np.ndarray], a: int, image_id: int, annotation_id: int) -> dict:
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": int(samples["gt_category"][a]),
        "keypoints": samples["gt_keypoints"][a].tolist(),
        "bbox": samples["gt_bbox"][a].tolist(),
        "area": float(samples["gt_area"][a]),
        "iscrowd": int(samples["gt_iscrowd"][a]),
        "num_keypoints": int(samples["gt_num_keypoints"][a]),
    }


def _result(samples: Mapping[str, np.ndarray], d: int, image_id: int) -> dict:
    return {
        "image_id": image_id,
        "category_id": int(samples["dt_category"][d]),
        "keypoints": samples["dt_keypoints"][d].tolist(),
        "score": float(samples["dt_score"][d]),
    }
