"""SynthHuman COCO: person keypoints in the COCO 2017 json format, images and detected boxes.

Each image holds 1-3 people (often overlapping). The 13 body keypoints come from the Human3.6M
joints (skeleton.H36M_TO_COCO); eyes and ears are points on the rendered head sphere. v = 2 for a
visible keypoint, 1 for one inside the image but hidden, 0 (with x = y = 0) outside the image.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from suite.data.images import write_image
from suite.data.layouts import COCO_DETECTIONS, COCO_IMAGES, COCO_KEYPOINTS, COCO_SPLITS
from suite.data.skeleton import COCO_JOINTS, COCO_SKELETON, H36M_TO_COCO
from suite.data.synth.photo import PhotoStyle, draw_photo
from suite.data.synth.render import Rendering
from suite.io import atomic_write_bytes

STYLE = PhotoStyle(
    size=(320, 240),
    fov_range=(np.radians(45.0), np.radians(75.0)),
    people=(1, 2, 3),
    weights=(0.5, 0.3, 0.2),
    height_range=(0.4, 0.95),
    spread=0.4,
)
MIN_AREA = 100  # px; people with fewer visible pixels are not annotated
VAL_FRACTION = 0.25
MIN_VAL = 4
ID_GAP = (1, 1000)  # consecutive image ids differ by this much, as in COCO's sparse ids
ANNOTATION_IDS_PER_IMAGE = 10  # annotation id = image id * this + person index
DECIMALS = 2
# Eyes and ears as directions (forward, up, left) on the head sphere, and their COCO indices.
FACE_DIRECTIONS = np.array([[1.0, 0.2, 0.55], [1.0, 0.2, -0.55], [-0.1, 0.0, 1.0], [-0.1, 0.0, -1.0]])
FACE_KEYPOINTS = (1, 2, 3, 4)  # left_eye, right_eye, left_ear, right_ear
# Detections: the ground-truth boxes jittered, and a few low-score false positives per image.
DETECTION_JITTER = 0.1  # fraction of the box size
DETECTION_SCORES = (0.5, 1.0)
FALSE_POSITIVES = (0, 3)
FALSE_POSITIVE_SCORES = (0.01, 0.3)
FALSE_POSITIVE_SIZE = (0.1, 0.5)  # fraction of the image size

INFO = {
    "description": "SynthHuman COCO-format person keypoints",
    "version": "1.0",
    "year": 2017,
    "contributor": "suite",
    "date_created": "2017/09/01",
}
LICENSES = [{"url": "https://creativecommons.org/licenses/by/4.0/", "id": 1, "name": "Attribution License"}]
DATE_CAPTURED = "2013-11-14 11:18:45"
CATEGORY = {
    "supercategory": "person",
    "id": 1,
    "name": "person",
    "keypoints": list(COCO_JOINTS),
    "skeleton": [list(pair) for pair in COCO_SKELETON],
}


def keypoints(rendering: Rendering, person: int) -> np.ndarray:
    """The 17 COCO keypoints (17, 3) [x, y, v] of one rendered person."""
    figure, scene = rendering.figures[person], rendering.scene
    result = np.zeros((len(COCO_JOINTS), 3))
    h36m, coco = np.array(list(H36M_TO_COCO.items())).T
    result[coco, :2] = scene.joints_2d[person, h36m]
    visible = np.zeros(len(COCO_JOINTS), dtype=bool)
    visible[coco] = scene.visible[person, h36m]
    face = figure.head_points(FACE_DIRECTIONS)
    result[FACE_KEYPOINTS, :2] = rendering.project(face)
    visible[list(FACE_KEYPOINTS)] = rendering.visible(person, face)
    inside = rendering.inside(result[:, :2])
    result[:, 2] = np.where(visible, 2, np.where(inside, 1, 0))
    result[~inside, :2] = 0.0
    return result


def segmentation(mask: np.ndarray) -> list[list[float]]:
    """COCO polygons [x1, y1, x2, y2, ...] of a binary mask's outer contours."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [contour.reshape(-1).astype(float).tolist() for contour in contours if len(contour) >= 3]


def annotation(rendering: Rendering, person: int, image_id: int, annotation_id: int) -> dict | None:
    """One person's COCO annotation, or None when too little of it shows."""
    mask = rendering.scene.instances == person
    if mask.sum() < MIN_AREA:
        return None
    points = keypoints(rendering, person)
    flat = [[round(float(x), DECIMALS), round(float(y), DECIMALS), int(v)] for x, y, v in points]
    return {
        "segmentation": segmentation(mask),
        "num_keypoints": int((points[:, 2] > 0).sum()),
        "area": float(mask.sum()),
        "iscrowd": 0,
        "keypoints": [value for point in flat for value in point],
        "image_id": image_id,
        "bbox": rendering.scene.boxes[person].tolist(),
        "category_id": 1,
        "id": annotation_id,
    }


def write_split(root: Path, split: str, persons: int, rng: np.random.Generator, last_id: int) -> dict:
    """Images of one split until `persons` people are annotated; returns the keypoints json.

    Image ids continue after `last_id`, so they are unique across splits."""
    images, annotations = [], []
    image_id = last_id
    with tqdm(total=persons, desc=f"coco {split}", unit="person", disable=None) as progress:
        while len(annotations) < persons:
            image_id += int(rng.integers(*ID_GAP))
            rendering = draw_photo(STYLE, rng)
            file_name = f"{image_id:012d}.jpg"
            write_image(root / COCO_IMAGES.format(split=split) / file_name, rendering.scene.image)
            width, height = STYLE.size
            images.append(
                {
                    "license": 1,
                    "file_name": file_name,
                    "coco_url": "",
                    "height": height,
                    "width": width,
                    "date_captured": DATE_CAPTURED,
                    "flickr_url": "",
                    "id": image_id,
                }
            )
            for person in range(len(rendering.figures)):
                annotation_id = image_id * ANNOTATION_IDS_PER_IMAGE + person
                found = annotation(rendering, person, image_id, annotation_id)
                if found is not None:
                    annotations.append(found)
                    progress.update()
    return {
        "info": INFO,
        "licenses": LICENSES,
        "images": images,
        "annotations": annotations,
        "categories": [CATEGORY],
    }


def detections(dataset: dict, rng: np.random.Generator) -> list[dict]:
    """Person detections in COCO results format: jittered ground truth plus low-score false positives."""
    results = []
    for item in dataset["annotations"]:
        x, y, w, h = np.array(item["bbox"]) + DETECTION_JITTER * rng.uniform(-1, 1, 4) * np.tile(
            item["bbox"][2:], 2
        )
        results.append(
            {
                "bbox": [round(float(v), DECIMALS) for v in (x, y, max(w, 1.0), max(h, 1.0))],
                "category_id": 1,
                "image_id": item["image_id"],
                "score": round(float(rng.uniform(*DETECTION_SCORES)), 5),
            }
        )
    for image in dataset["images"]:
        for _ in range(rng.integers(*FALSE_POSITIVES)):
            size = rng.uniform(*FALSE_POSITIVE_SIZE, 2) * (image["width"], image["height"])
            corner = rng.uniform(0, 1, 2) * ((image["width"], image["height"]) - size)
            results.append(
                {
                    "bbox": [round(float(v), DECIMALS) for v in (*corner, *size)],
                    "category_id": 1,
                    "image_id": image["id"],
                    "score": round(float(rng.uniform(*FALSE_POSITIVE_SCORES)), 5),
                }
            )
    return results


def write(root: Path, n: int, rng: np.random.Generator) -> None:
    """Write SynthHuman COCO under root: n annotated training people, about n/4 for validation."""
    root = Path(root)
    counts = {"train2017": n, "val2017": max(round(n * VAL_FRACTION), MIN_VAL)}
    datasets, last_id = {}, 0
    for split in COCO_SPLITS:
        datasets[split] = write_split(root, split, counts[split], rng, last_id)
        last_id = datasets[split]["images"][-1]["id"]
        atomic_write_bytes(root / COCO_KEYPOINTS.format(split=split), json.dumps(datasets[split]).encode())
    boxes = detections(datasets["val2017"], rng)
    atomic_write_bytes(root / COCO_DETECTIONS, json.dumps(boxes).encode())
