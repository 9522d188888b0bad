"""COCO 2D pose (Table 1): "coco-2d", SimpleBaseline's COCO protocol (Xiao et al. 2018) at 256x192.

Source: leoxiaobin/deep-high-resolution-net.pytorch, experiments/coco/resnet/
res50_256x192_d256x3_adam_lr1e-3.yaml, lib/dataset/coco.py, lib/dataset/JointsDataset.py,
lib/core/function.py; downstream-protocols.md §1 and §8.1.

Training: SimpleBaseline (suite/models/simple_baseline.py: the trunk, three 256-channel deconvolutions,
17 heatmaps) on the persons of person_keypoints_train2017.json: not crowd, the box sanitised (x1 =
max(0, x), y1 = max(0, y), x2 = min(W − 1, x1 + max(0, w − 1)), y2 likewise, kept if the annotation's
area > 0 and x2 ≥ x1, y2 ≥ y1; the box is then (x1, y1, x2 − x1, y2 − y1)), persons whose keypoint
list is all 0 left out. Each box -> its centre and size grown to 192:256 x 1.25 (xywh_center_scale),
visibility min(v, 1) as the target weight. The shared top-down pipeline (suite/finetune/topdown.py)
crops 192 x 256 with size x clip(N·0.3 + 1, 0.7, 1.3), rotation clip(N·40°, ±80°) with probability 0.6,
horizontal flip with probability 0.5 (COCO's flip pairs), half-body with probability `half_body_p`
(0: the res50 config has none; HRNet-W32's use 0.3); 48 x 64 Gaussian targets, σ 2
(suite/finetune/heatmap.py), JointsMSELoss with target weights. Adam lr 1e-3 without weight decay,
x0.1 from 0-based epochs 89 and 119 (the official MultiStepLR [90, 120] stepped at each epoch's start),
140 epochs, global batch 128.

Test: the val2017 person detections (COCO_val2017_detections_AP_H_56_person.json, category 1, every box
scored at least `detection_threshold`, 0: all) or with boxes="gt" the val2017 persons as in training
(box score 1); each box -> centre and size as in training; flip test with the one-pixel heatmap shift;
argmax with the quarter offset; back to image pixels by the crop's inverse; keypoint score = the
heatmap maximum. Then the official rescoring and OKS-NMS (suite/evaluate/coco_ap.py oks_nms_rescored:
box score x the mean keypoint score above 0.2, OKS-NMS at 0.9 with area = the padded crop box's
width x height in pixels) and COCOeval on person_keypoints_val2017.json (coco_keypoint_ap): ap, ap50,
ap75, ap_m, ap_l, ar (Table 1's columns), then ar50, ar75, ar_m, ar_l. The baseline: the mean training
pose in crop coordinates placed in each test box, its keypoints scored 1, through the same rescoring,
NMS and COCOeval (`baseline/<metric>`). The predictions hold the result json's entries (`results`
rebuilds them; `python -m suite eval coco-ap` scores such a file to the same numbers).

Deviations (Config options keep the official behaviour):
- normalisation "rgb" (RGB images, ImageNet statistics) by default: the images and every SSL backbone
  are RGB; `normalisation="official"` feeds the BGR order the res50 config does.
- The final epoch's model is reported; the official code keeps the best of per-epoch evaluations on
  val2017, which is the test set.
- Augmentation is drawn from (seed, epoch, index) rather than the global RNG; the crop affine is
  solved in float64 rather than float32.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from suite.data import coco
from suite.data.skeleton import COCO_FLIP_PAIRS, COCO_JOINTS
from suite.errors import DatasetError
from suite.evaluate.coco_ap import coco_keypoint_ap, oks_nms_rescored
from suite.evaluate.coco_samples import coco_samples
from suite.finetune.coco_2d_settings import METRICS, Coco2dConfig
from suite.finetune.heatmap_task import HeatmapTask
from suite.finetune.task import Evaluation
from suite.finetune.topdown import Person, Pipeline, TopdownDataset, mean_pose, xywh_center_scale

NUM_JOINTS = len(COCO_JOINTS)
UPPER_BODY = tuple(range(11))  # HRNet's COCO upper_body_ids: the face, shoulders, elbows, wrists
PERSON = 1  # COCO's person category
BASELINE_SCORE = 1.0  # the mean pose's keypoint scores: its instances are ranked by their box scores
RESULTS_FILE = "keypoints_val2017_results.json"  # the official code's result file, in the run's folder
CHECK = "check the dataset with python -m suite data check"


def sanitised_box(person: coco.Person, image: coco.CocoImage) -> coco.Box | None:
    """HRNet's clean_bbox of an annotation (the box clipped to the image), or None where it drops it."""
    if person.bbox is None:
        return None
    x, y, w, h = person.bbox
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(image.width - 1.0, x1 + max(0.0, w - 1))
    y2 = min(image.height - 1.0, y1 + max(0.0, h - 1))
    area = person.area if person.area is not None else w * h
    if area > 0 and x2 >= x1 and y2 >= y1:
        return (x1, y1, x2 - x1, y2 - y1)
    return None


def annotated_persons(keypoints: coco.CocoKeypoints, aspect_ratio: float) -> list[tuple[int, Person]]:
    """(image id, pipeline person) of every annotation the official loader keeps: not crowd, a sane box,
    some keypoint value non-zero; the crop about the box, visibility min(v, 1)."""
    out = []
    for person in keypoints.persons:
        image = keypoints.images[person.image_id]
        box = None if person.iscrowd else sanitised_box(person, image)
        if box is None or person.keypoints.max() == 0:
            continue
        center, scale = xywh_center_scale(box, aspect_ratio)
        visible = np.minimum(person.keypoints[:, 2], 1.0)
        out.append(
            (person.image_id, Person(image.path, center, scale, person.keypoints[:, :2].copy(), visible))
        )
    return out


def detected_persons(
    detections: Sequence[coco.Detection],
    images: dict[int, coco.CocoImage],
    aspect_ratio: float,
    threshold: float,
    path: Path,
) -> list[tuple[int, float, Person]]:
    """(image id, box score, pipeline person) of every person detection scored at least `threshold`."""
    out = []
    for detection in detections:
        if detection.category_id != PERSON or detection.score < threshold:
            continue
        if detection.image_id not in images:
            raise DatasetError(
                f"a detection is on image {detection.image_id}, which is not in val2017",
                path,
                "use the person detections made on val2017",
            )
        center, scale = xywh_center_scale(detection.bbox, aspect_ratio)
        joints, visible = np.zeros((NUM_JOINTS, 2)), np.zeros(NUM_JOINTS)  # unknown: no targets
        person = Person(images[detection.image_id].path, center, scale, joints, visible)
        out.append((detection.image_id, detection.score, person))
    return out


class Coco2d(HeatmapTask):
    name = "coco-2d"
    Config = Coco2dConfig
    num_joints = NUM_JOINTS

    def pipeline(self) -> Pipeline:
        """The top-down settings of the config (its augmentation applies to training sets only)."""
        return Pipeline(
            input_size=tuple(self.config.input_size),
            heatmap_size=tuple(self.config.heatmap_size),
            flip_pairs=COCO_FLIP_PAIRS,
            sigma=self.config.sigma,
            scale_factor=self.config.scale_factor,
            rotation_factor=self.config.rotation_factor,
            rotation_p=self.config.rotation_p,
            flip_p=self.config.flip_p,
            half_body_p=self.config.half_body_p,
            half_body_joints=self.config.half_body_joints,
            upper_body=UPPER_BODY,
            normalisation=self.config.normalisation,
        )

    def _split(self, split: str) -> coco.CocoKeypoints:
        return coco.read_split(self.roots["coco"], split)

    def _persons(self, split: str) -> list[tuple[int, Person]]:
        keypoints = self._split(split)
        persons = annotated_persons(keypoints, self.pipeline().aspect_ratio)
        if not persons:
            raise DatasetError(
                f"no {split} persons with a box and a labelled keypoint", keypoints.path, CHECK
            )
        return persons

    def train_set(self, seed: int) -> TopdownDataset:
        persons = [person for _, person in self._persons("train2017")]
        return TopdownDataset(persons, self.pipeline(), seed)

    def test_persons(self) -> tuple[np.ndarray, np.ndarray, list[Person]]:
        """The test protocol's persons: image ids (N,), box scores (N,) and the persons to crop."""
        config, root = self.config, self.roots["coco"]
        if config.boxes == "gt":
            found = self._persons("val2017")
            return (
                np.array([image_id for image_id, _ in found], dtype=np.int64),
                np.ones(len(found)),
                [person for _, person in found],
            )
        path = coco.detections_file(root)
        images = self._split("val2017").images
        found = detected_persons(
            coco.read_detections(path),
            images,
            self.pipeline().aspect_ratio,
            config.detection_threshold,
            path,
        )
        if not found:
            raise DatasetError(
                f"no person detections scored {config.detection_threshold} or more", path, CHECK
            )
        image_ids, scores, persons = zip(*found, strict=True)
        return np.array(image_ids, dtype=np.int64), np.array(scores, dtype=np.float64), list(persons)

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        image_ids, box_scores, persons = self.test_persons()
        outputs = self.predict(model, persons, device, batch_size, workers)
        truth = coco.keypoints_file(self.roots["coco"], "val2017")
        found = keypoint_results(
            image_ids, box_scores, outputs["joints"], outputs["scores"], outputs["scale"]
        )
        result = coco_keypoint_ap(found, truth)
        metrics = {name: result[name] for name in METRICS} | result
        guess = mean_pose([person for _, person in self._persons("train2017")], persons)
        constant = np.full(guess.shape[:2], BASELINE_SCORE)
        crops = outputs["scale"]  # the test crops' sizes, the NMS areas of the baseline's instances too
        baseline = coco_keypoint_ap(keypoint_results(image_ids, box_scores, guess, constant, crops), truth)
        metrics |= {f"baseline/{name}": baseline[name] for name in METRICS}
        predictions = {
            "joints": outputs["joints"],  # (N, 17, 2) image pixels, one per test box
            "scores": outputs["scores"],  # (N, 17) heatmap maxima
            "center": outputs["center"],
            "scale": outputs["scale"],  # the crop's (w, h) in pixels; its product is the NMS area
            "image_id": image_ids,
            "box_score": box_scores,
            # the result json's entries after rescoring and OKS-NMS (`results` rebuilds them)
            "result_image_id": np.array([entry["image_id"] for entry in found], dtype=np.int64),
            "result_keypoints": np.array([entry["keypoints"] for entry in found]).reshape(-1, NUM_JOINTS, 3),
            "result_score": np.array([entry["score"] for entry in found], dtype=np.float64),
        }
        # the official code's result file, which `python -m suite eval coco-ap --pred` reads
        files = {RESULTS_FILE: (json.dumps(results(predictions)) + "\n").encode()}
        samples = coco_samples(json.loads(truth.read_text()), found)  # AP per resample of the images
        return Evaluation(metrics, predictions, files, samples)


def keypoint_results(
    image_ids: np.ndarray, box_scores: np.ndarray, joints: np.ndarray, scores: np.ndarray, scale: np.ndarray
) -> list[dict]:
    """COCO result dicts of top-down predictions after the official rescoring and OKS-NMS: joints
    (N, 17, 2) image pixels, their scores (N, 17), crops (N, 2) (w, h) pixels."""
    instances = [
        {
            "image_id": int(image_ids[n]),
            "keypoints": np.concatenate([joints[n], scores[n][:, None]], axis=1),
            "box_score": float(box_scores[n]),
            "area": float(scale[n][0] * scale[n][1]),
        }
        for n in range(len(image_ids))
    ]
    return oks_nms_rescored(instances)


def results(predictions: Any) -> list[dict]:
    """The result json's entries (COCO results format) from coco-2d's predictions (predictions.npz)."""
    return [
        {
            "image_id": int(image_id),
            "category_id": PERSON,
            "keypoints": keypoints.ravel().tolist(),
            "score": float(score),
        }
        for image_id, keypoints, score in zip(
            predictions["result_image_id"],
            predictions["result_keypoints"],
            predictions["result_score"],
            strict=True,
        )
    ]
