"""COCO keypoint AP (Table 1's COCO columns): the SimpleBaseline/HRNet test protocol as pure functions.

`oks_nms_rescored` is what HRNet's COCODataset.evaluate does to the top-down predictions before
writing the result json (shared/reference/downstream-protocols.md §1.4, and mmpose's CocoMetric with
its defaults, §1.5): each instance's score becomes box score × the mean of its keypoint scores above
0.2 (0 if none is), then per image a greedy OKS-NMS at 0.9 keeps the best-scored instances, the OKS
taken over all 17 joints with the COCO sigmas and area = the padded crop box (s_w·200)(s_h·200).
`coco_keypoint_ap` scores result dicts against a COCO keypoint json with xtcocotools' COCOeval
(`use_area=True`: the ground truth's `area`, as pycocotools does), the evaluator mmpose uses.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from suite.data.validate import require_array, require_keys, require_number
from suite.errors import SuiteError

# COCO's per-keypoint OKS sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles)
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10.0  # fmt: skip
NUM_KEYPOINTS = len(COCO_SIGMAS)
KEYPOINT_SCORE_THRESHOLD = 0.2  # HRNet's IN_VIS_THRE, mmpose's keypoint_score_thr
OKS_THRESHOLD = 0.9  # HRNet's OKS_THRE, mmpose's nms_thr
PERSON = 1  # COCO's person category id
# COCOeval.stats[0..9] in order: AP@[.5:.95], AP@.5, AP@.75, AP medium, AP large, then the same for AR
KEYS = ("ap", "ap50", "ap75", "ap_m", "ap_l", "ar", "ar50", "ar75", "ar_m", "ar_l")
RESULT_KEYS = ("image_id", "category_id", "keypoints", "score")
GT_ANNOTATION_KEYS = ("id", "image_id", "category_id", "keypoints", "bbox", "area", "num_keypoints")
PRED_FIX = (
    'write a COCO keypoint result json: a list of {"image_id", "category_id": 1, '
    '"keypoints": [x, y, score] x 17 flattened, "score"}'
)
GT_FIX = "pass a COCO keypoint annotation json (e.g. person_keypoints_val2017.json)"


def rescored(keypoints: np.ndarray, box_score: float, threshold: float = KEYPOINT_SCORE_THRESHOLD) -> float:
    """Box score × the mean of the keypoint scores (column 2 of (K, 3) keypoints) above `threshold`,
    the mean counted 0 when none is (HRNet's and mmpose's 'bbox_keypoint' score)."""
    scores = np.asarray(keypoints, dtype=np.float64)[:, 2]
    confident = scores[scores > threshold]
    return float(box_score) * (float(confident.mean()) if len(confident) else 0.0)


def oks(
    kept: np.ndarray, others: np.ndarray, kept_area: float, other_areas: np.ndarray, sigmas: np.ndarray
) -> np.ndarray:
    """OKS of one instance's (K, 3) keypoints against (M, K, 3) others, over all K joints (no
    visibility threshold, as HRNet calls it): mean_k exp(−d² / (2 (2σ_k)² ((a + a')/2 + eps)))."""
    variances = (2 * sigmas) ** 2
    squared = ((others[:, :, :2] - kept[None, :, :2]) ** 2).sum(axis=-1)
    scale = (kept_area + other_areas[:, None]) / 2 + np.spacing(1)
    return np.exp(-squared / variances / scale / 2).mean(axis=-1)


def oks_nms(
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float = OKS_THRESHOLD,
    sigmas: np.ndarray = COCO_SIGMAS,
) -> list[int]:
    """Indices kept by greedy OKS-NMS of one image's instances, best first: the best-scored is kept
    and every other whose OKS with it exceeds `threshold` is dropped (OKS ≤ threshold survives)."""
    keypoints = np.asarray(keypoints, dtype=np.float64)
    areas = np.asarray(areas, dtype=np.float64)
    order = np.asarray(scores, dtype=np.float64).argsort()[::-1]  # HRNet's order, ties included
    keep = []
    while len(order):
        best, rest = order[0], order[1:]
        keep.append(int(best))
        overlap = oks(keypoints[best], keypoints[rest], areas[best], areas[rest], np.asarray(sigmas))
        order = rest[overlap <= threshold]
    return keep


def oks_nms_rescored(
    instances: Iterable[Mapping[str, Any]],
    *,
    keypoint_score_threshold: float = KEYPOINT_SCORE_THRESHOLD,
    nms_threshold: float = OKS_THRESHOLD,
    sigmas: np.ndarray = COCO_SIGMAS,
    category_id: int = PERSON,
) -> list[dict]:
    """The official top-down test protocol: rescoring, then per-image OKS-NMS, as COCO result dicts.

    Each instance is a mapping with "image_id", "keypoints" ((K, 3) [x, y, score] in image pixels),
    "box_score" (the detector's score, 1 for ground-truth boxes) and "area" (the padded crop box,
    (s_w·200)(s_h·200)). Returns the kept instances as {"image_id", "category_id", "keypoints"
    (3K floats), "score" (the rescored score)}, image by image in order of first appearance, each
    image's best first.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    by_image: dict[Any, list[tuple[np.ndarray, float, float]]] = {}
    for n, instance in enumerate(instances):
        missing = [key for key in ("image_id", "keypoints", "box_score", "area") if key not in instance]
        if missing:
            raise ValueError(f"instance {n} lacks {missing}")
        keypoints = np.asarray(instance["keypoints"], dtype=np.float64)
        if keypoints.shape != (len(sigmas), 3):
            raise ValueError(
                f"instance {n} has keypoints of shape {keypoints.shape}, expected ({len(sigmas)}, 3)"
            )
        score = rescored(keypoints, instance["box_score"], keypoint_score_threshold)
        by_image.setdefault(instance["image_id"], []).append((keypoints, score, float(instance["area"])))
    results = []
    for image_id, found in by_image.items():
        keypoints, scores, areas = (np.array(column) for column in zip(*found, strict=True))
        for index in oks_nms(keypoints, scores, areas, nms_threshold, sigmas):
            results.append(
                {
                    "image_id": image_id,
                    "category_id": category_id,
                    "keypoints": keypoints[index].ravel().tolist(),
                    "score": float(scores[index]),
                }
            )
    return results


def coco_keypoint_ap(
    results: Sequence[Mapping[str, Any]],
    gt_json_path: str | Path | Mapping,
    *,
    sigmas: np.ndarray = COCO_SIGMAS,
) -> dict[str, float]:
    """AP / AR of COCO keypoint result dicts, as percentages (COCO's own numbers are in [0, 1]; the
    paper prints them × 100, and so do these).

    xtcocotools' COCOeval(gt, dt, 'keypoints', sigmas, use_area=True), evaluate / accumulate /
    summarize, stats[0..9] under KEYS: ap (AP@[.5:.95]), ap50, ap75, ap_m, ap_l, ar, ar50, ar75, ar_m,
    ar_l (20 detections per image). A number COCO reports as -1 (no ground truth in that area range)
    is NaN here. `gt_json_path` may also be the parsed json. COCOeval's prints are silenced.
    """
    return coco_stats(coco_matched(results, gt_json_path, sigmas=sigmas))


def coco_matched(
    results: Sequence[Mapping[str, Any]],
    gt_json_path: str | Path | Mapping,
    *,
    sigmas: np.ndarray = COCO_SIGMAS,
):
    """xtcocotools' COCOeval of the results after evaluate(): each image's matching of detections to
    persons (`evalImgs`, per category, area range and image, images in the order of their sorted ids)."""
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval

    if not results:
        raise ValueError("no results to evaluate (COCO's loadRes needs at least one)")
    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(gt_json_path, Mapping):
            gt = COCO()
            gt.dataset = copy.deepcopy(dict(gt_json_path))
            gt.createIndex()
        else:
            gt = COCO(str(gt_json_path))
        detections = gt.loadRes([dict(result) for result in copy.deepcopy(list(results))])
        evaluation = COCOeval(
            gt, detections, "keypoints", np.asarray(sigmas, dtype=np.float64), use_area=True
        )
        evaluation.params.useSegm = None
        evaluation.evaluate()
    return evaluation


def coco_stats(evaluation) -> dict[str, float]:
    """accumulate and summarize of an evaluated COCOeval: its stats[0..9] under KEYS, in percent."""
    with contextlib.redirect_stdout(io.StringIO()):
        evaluation.accumulate()
        evaluation.summarize()
    return {
        key: 100.0 * float(value) if value >= 0 else math.nan
        for key, value in zip(KEYS, evaluation.stats[: len(KEYS)], strict=True)
    }


def _read_json(path: Path, fix: str) -> Any:
    if not path.is_file():
        raise SuiteError("file not found", path, fix)
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise SuiteError(f"not valid JSON, cut short or corrupt ({error})", path, fix) from error


def read_ground_truth(path: str | Path) -> dict:
    """A COCO keypoint annotation json, checked: images, annotations and a category with keypoints."""
    path = Path(path)
    data = _read_json(path, GT_FIX)
    if not isinstance(data, dict) or any(key not in data for key in ("images", "annotations", "categories")):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise SuiteError(
            f"expected a dict with images, annotations and categories, found {found}", path, GT_FIX
        )
    categories = [
        c for c in data["categories"] if isinstance(c, dict) and isinstance(c.get("keypoints"), list)
    ]
    if not categories:
        raise SuiteError("no category lists keypoints: not a keypoint annotation file", path, GT_FIX)
    for key in ("images", "annotations"):
        if not isinstance(data[key], list):
            raise SuiteError(f"{key} is a {type(data[key]).__name__}, expected a list", path, GT_FIX)
    for n, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image:
            raise SuiteError(f"image {n} has no id", path, GT_FIX)
        require_number(image["id"], f"image {n} id", path, GT_FIX, int)
    image_ids = {image["id"] for image in data["images"]}
    keypoints = 3 * len(categories[0]["keypoints"])
    for n, annotation in enumerate(data["annotations"]):
        _check_annotation(annotation, f"annotation {n}", image_ids, keypoints, path)
    return data


def _check_annotation(annotation: Any, what: str, image_ids: set, keypoints: int, path: Path) -> None:
    """What COCOeval reads of a ground-truth person: its image among the images, finite keypoints of the
    category's length, box, area and keypoint count."""
    require_keys(annotation, GT_ANNOTATION_KEYS, what, path, GT_FIX)
    if require_number(annotation["image_id"], f"{what} image_id", path, GT_FIX, int) not in image_ids:
        raise SuiteError(
            f"{what} refers to image {annotation['image_id']!r}, which is not in images", path, GT_FIX
        )
    require_array(annotation["keypoints"], (keypoints,), f"{what} keypoints", path, GT_FIX)
    require_array(annotation["bbox"], (4,), f"{what} bbox", path, GT_FIX)
    require_number(annotation["area"], f"{what} area", path, GT_FIX)
    require_number(annotation["num_keypoints"], f"{what} num_keypoints", path, GT_FIX, int)


def read_results(path: str | Path, image_ids: set, num_keypoints: int = NUM_KEYPOINTS) -> list[dict]:
    """A COCO keypoint result json, checked against the ground truth's image ids."""
    path = Path(path)
    data = _read_json(path, PRED_FIX)
    if not isinstance(data, list) or not data:
        found = f"a list of {len(data)} entries" if isinstance(data, list) else type(data).__name__
        raise SuiteError(f"expected a non-empty list of result dicts, found {found}", path, PRED_FIX)
    for n, result in enumerate(data):
        if not isinstance(result, dict):
            raise SuiteError(f"entry {n} is a {type(result).__name__}, expected a dict", path, PRED_FIX)
        missing = [key for key in RESULT_KEYS if key not in result]
        if missing:
            raise SuiteError(f"entry {n} lacks {missing} (found keys {sorted(result)})", path, PRED_FIX)
        keypoints = result["keypoints"]
        if not isinstance(keypoints, list) or len(keypoints) != 3 * num_keypoints:
            length = len(keypoints) if isinstance(keypoints, list) else type(keypoints).__name__
            expected = f"{3 * num_keypoints} ({num_keypoints} x [x, y, score])"
            what = f"entry {n} has keypoints of length {length}, expected {expected}"
            raise SuiteError(what, path, PRED_FIX)
        numbers = [*keypoints, result["score"]]
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in numbers
        ):
            raise SuiteError(
                f"entry {n} has keypoints or a score that are not finite numbers", path, PRED_FIX
            )
        if not isinstance(result["image_id"], int | float) or result["image_id"] not in image_ids:
            raise SuiteError(
                f"entry {n} has image_id {result['image_id']!r}, which is not in the ground truth",
                path,
                "predict on the images of the annotation file passed with --gt",
            )
    return data


def evaluate_files(pred_json: str | Path, gt_json: str | Path) -> dict[str, float]:
    """`python -m suite eval coco-ap`: coco_keypoint_ap of a result json against an annotation json."""
    gt = read_ground_truth(gt_json)
    category = next(c for c in gt["categories"] if isinstance(c.get("keypoints"), list))
    if len(category["keypoints"]) != NUM_KEYPOINTS:
        count = len(category["keypoints"])
        what = f"its category lists {count} keypoints; COCO's OKS sigmas are for {NUM_KEYPOINTS}"
        raise SuiteError(what, gt_json, GT_FIX)
    results = read_results(pred_json, {image["id"] for image in gt["images"]})
    return coco_keypoint_ap(results, gt)
