"""COCO keypoint AP on the real COCO sample: agrees with xtcocotools' and pycocotools' COCOeval, and the
rescoring + OKS-NMS agrees with mmpose's oks_nms and CocoMetric."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.errors import SuiteError
from suite.evaluate.coco_ap import (
    COCO_SIGMAS,
    KEYS,
    coco_keypoint_ap,
    evaluate_files,
    oks_nms,
    oks_nms_rescored,
)


@pytest.fixture(scope="module")
def gt_path(fixtures) -> Path:
    return fixtures / "mmpose" / "tests" / "data" / "coco" / "test_coco.json"


@pytest.fixture(scope="module")
def gt(gt_path) -> dict:
    return json.loads(gt_path.read_text())


def perturbed(gt: dict, seed: int) -> list[dict]:
    """Predictions from the ground truth: noisy x, y (up to ~0.06 √area), random scores, about one
    keypoint in twelve thrown far off, a few duplicates and false positives."""
    rng = np.random.default_rng(seed)
    sizes = {image["id"]: (image["width"], image["height"]) for image in gt["images"]}
    results = []
    for annotation in gt["annotations"]:
        keypoints = np.array(annotation["keypoints"], dtype=np.float64).reshape(17, 3)
        x, y, w, h = annotation["bbox"]
        unlabelled = keypoints[:, 2] == 0
        keypoints[unlabelled, :2] = rng.uniform([x, y], [x + w, y + h], size=(unlabelled.sum(), 2))
        spread = rng.uniform(0.0, 0.06) * np.sqrt(annotation["area"])
        keypoints[:, :2] += rng.normal(size=(17, 2)) * spread
        dropped = rng.uniform(size=17) < 1 / 12
        keypoints[dropped, :2] = rng.uniform(0, sizes[annotation["image_id"]], size=(dropped.sum(), 2))
        keypoints[:, 2] = rng.uniform(size=17)
        copies = 2 if rng.uniform() < 0.3 else 1
        for _ in range(copies):
            result = keypoints.copy()
            result[:, :2] += rng.normal(size=(17, 2)) * 2.0
            results.append(_result(annotation["image_id"], result, rng.uniform()))
    for image_id, size in sizes.items():  # a false positive per image
        keypoints = np.concatenate([rng.uniform(0, size, size=(17, 2)), rng.uniform(size=(17, 1))], axis=1)
        results.append(_result(image_id, keypoints, rng.uniform()))
    return results


def _result(image_id: int, keypoints: np.ndarray, score: float) -> dict:
    return {"image_id": image_id, "category_id": 1, "keypoints": keypoints.ravel().tolist(), "score": score}


def library_stats(library: str, gt_path: Path, results: list[dict]) -> np.ndarray:
    """COCOeval's stats[0..9] from xtcocotools or pycocotools, called directly."""
    if library == "xtcocotools":
        from xtcocotools.coco import COCO
        from xtcocotools.cocoeval import COCOeval
    else:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(str(gt_path))
        detections = coco.loadRes(json.loads(json.dumps(results)))
        if library == "xtcocotools":
            evaluation = COCOeval(coco, detections, "keypoints", COCO_SIGMAS, use_area=True)
        else:
            evaluation = COCOeval(coco, detections, "keypoints")
        evaluation.params.useSegm = None
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return np.asarray(evaluation.stats[:10])


def test_the_sample_has_no_crowd_ambiguity(gt):
    assert not any(annotation["iscrowd"] for annotation in gt["annotations"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_xtcocotools_and_pycocotools(gt, gt_path, seed):
    results = perturbed(gt, seed)
    ours = coco_keypoint_ap(results, gt_path)
    assert list(ours) == list(KEYS)
    values = np.array([ours[key] for key in KEYS]) / 100
    assert 20 < ours["ap"] < 80  # the perturbations make a real test of it
    for library in ("xtcocotools", "pycocotools"):
        np.testing.assert_allclose(values, library_stats(library, gt_path, results), rtol=0, atol=1e-9)
    assert coco_keypoint_ap(results, gt) == ours  # the parsed json works too


def test_perfect_predictions_score_100(gt, gt_path):
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
        for a in gt["annotations"]
    ]
    assert coco_keypoint_ap(results, gt_path) == {key: 100.0 for key in KEYS}


def instances(gt: dict, seed: int) -> list[dict]:
    """Top-down outputs: per annotation, a few boxes' poses (near-duplicates the NMS must merge)."""
    rng = np.random.default_rng(seed)
    found = []
    for annotation in gt["annotations"]:
        base = np.array(annotation["keypoints"], dtype=np.float64).reshape(17, 3)
        x, y, w, h = annotation["bbox"]
        base[:, :2] = np.where(base[:, 2:] > 0, base[:, :2], [x + w / 2, y + h / 2])
        for _ in range(rng.integers(1, 4)):
            keypoints = base.copy()
            keypoints[:, :2] += rng.normal(size=(17, 2)) * rng.choice([0.5, 3.0, 15.0])
            keypoints[:, 2] = rng.uniform(0, 1, size=17) ** 2  # some under 0.2, rarely all
            if rng.uniform() < 0.1:
                keypoints[:, 2] *= 0.1  # none over 0.2: the score is 0
            area = w * h * 1.25**2 * rng.uniform(0.8, 1.2)
            found.append(
                {
                    "image_id": annotation["image_id"],
                    "keypoints": keypoints,
                    "box_score": rng.uniform(),
                    "area": area,
                }
            )
    return found


def test_oks_nms_equals_mmpose(gt):
    from mmpose.evaluation.functional import oks_nms as mmpose_oks_nms

    for seed in range(5):
        found = instances(gt, seed)
        for image_id in {instance["image_id"] for instance in found}:
            mine = [instance for instance in found if instance["image_id"] == image_id]
            scores = np.random.default_rng(seed).uniform(size=len(mine))
            database = [
                {"keypoints": i["keypoints"], "score": s, "area": i["area"]}
                for i, s in zip(mine, scores, strict=True)
            ]
            expected = mmpose_oks_nms(database, 0.9, sigmas=COCO_SIGMAS)
            keypoints = np.stack([i["keypoints"] for i in mine])
            kept = oks_nms(keypoints, scores, np.array([i["area"] for i in mine]))
            assert kept == list(expected)


def test_rescoring_and_nms_equal_mmpose_coco_metric(gt, gt_path, tmp_path):
    """CocoMetric (score_mode bbox_keypoint, keypoint_score_thr 0.2, oks_nms 0.9, area = prod of the
    box scales) writes the same results json, and reports the same AP."""
    from mmpose.evaluation.metrics import CocoMetric

    found = instances(gt, 7)
    assert len(found) > len(gt["annotations"])
    metric = CocoMetric(ann_file=str(gt_path), outfile_prefix=str(tmp_path / "mmpose"))
    metric.dataset_meta = {"num_keypoints": 17, "sigmas": COCO_SIGMAS, "dataset_name": "coco"}
    samples = []
    for n, instance in enumerate(found):
        side = np.sqrt(instance["area"])
        samples.append(
            {
                "id": n,
                "img_id": instance["image_id"],
                "pred_instances": {
                    "keypoints": instance["keypoints"][None, :, :2],
                    "keypoint_scores": instance["keypoints"][None, :, 2],
                    "bbox_scores": np.array([instance["box_score"]]),
                },
                "gt_instances": {"bbox_scales": np.array([[side, side]])},
            }
        )
    metric.process([], samples)
    with contextlib.redirect_stdout(io.StringIO()):
        reported = metric.evaluate(len(samples))
    theirs = json.loads((tmp_path / "mmpose.keypoints.json").read_text())
    for instance in found:  # mmpose's area is prod(bbox_scales): use the same product
        side = np.sqrt(instance["area"])
        instance["area"] = side * side
    ours = oks_nms_rescored(found)
    assert len(ours) < len(found)  # NMS dropped some

    def key(result: dict) -> tuple:
        return result["image_id"], -result["score"]

    assert len(ours) == len(theirs)
    for mine, other in zip(sorted(ours, key=key), sorted(theirs, key=key), strict=True):
        assert mine["image_id"] == other["image_id"] and mine["category_id"] == other["category_id"]
        assert mine["score"] == pytest.approx(other["score"], rel=1e-12, abs=1e-15)
        np.testing.assert_allclose(mine["keypoints"], other["keypoints"], rtol=1e-12)
    assert any(result["score"] == 0 for result in ours)  # an instance with no keypoint score over 0.2
    names = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
    ap = coco_keypoint_ap(ours, gt_path)
    for ours_key, name in zip(KEYS, names, strict=True):
        assert ap[ours_key] == pytest.approx(100 * reported[f"coco/{name}"], abs=1e-9)


def test_rescoring_by_hand():
    keypoints = np.zeros((17, 3))
    keypoints[:3, 2] = [0.9, 0.5, 0.2]  # 0.2 is not over the threshold
    (result,) = oks_nms_rescored([{"image_id": 5, "keypoints": keypoints, "box_score": 0.5, "area": 100.0}])
    assert result["score"] == pytest.approx(0.5 * 0.7)
    assert result["image_id"] == 5 and result["category_id"] == 1 and len(result["keypoints"]) == 51


def test_evaluate_files_names_bad_files(gt, gt_path, tmp_path):
    good = perturbed(gt, 3)

    def write(name: str, content: object) -> Path:
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return path

    assert evaluate_files(write("good.json", good), gt_path) == pytest.approx(coco_keypoint_ap(good, gt_path))
    cases = {
        "missing.json": None,
        "cut.json": json.dumps(good)[:500],
        "dict.json": {"results": good},
        "empty.json": [],
        "keys.json": [{k: v for k, v in good[0].items() if k != "score"}],
        "short.json": [{**good[0], "keypoints": good[0]["keypoints"][:34]}],
        "text.json": [{**good[0], "keypoints": ["a"] * 51}],
        "image.json": [{**good[0], "image_id": 123456789}],
    }
    for name, content in cases.items():
        path = tmp_path / name if content is None else write(name, content)
        with pytest.raises(SuiteError) as error:
            evaluate_files(path, gt_path)
        assert name in str(error.value)
    for name, content in {"gt_cut.json": gt_path.read_text()[:300], "gt_list.json": good}.items():
        with pytest.raises(SuiteError, match=name):
            evaluate_files(write("good.json", good), write(name, content))


def test_eval_verb(gt, gt_path, tmp_path, capsys):
    results = perturbed(gt, 4)
    pred = tmp_path / "results.json"
    pred.write_text(json.dumps(results))
    assert main(["eval", "coco-ap", "--pred", str(pred), "--gt", str(gt_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == pytest.approx(coco_keypoint_ap(results, gt_path), abs=1e-12)
    assert main(["eval", "coco-ap", "--pred", str(pred), "--gt", str(gt_path)]) == 0
    table = capsys.readouterr().out
    assert "ap_m" in table and f"{printed['ap']:.2f}" in table
    pred.write_text(json.dumps([{**results[0], "keypoints": [0.0] * 50}]))
    assert main(["eval", "coco-ap", "--pred", str(pred), "--gt", str(gt_path)]) == 2
    err = capsys.readouterr().err
    assert "results.json" in err and "Traceback" not in err
