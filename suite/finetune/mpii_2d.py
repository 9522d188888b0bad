"""MPII 2D pose (Table 2): "mpii-2d", SimpleBaseline's MPII protocol (Xiao et al. 2018).

Source: leoxiaobin/deep-high-resolution-net.pytorch, experiments/mpii/resnet/
res50_256x256_d256x3_adam_lr1e-3.yaml, lib/dataset/mpii.py, lib/core/function.py;
downstream-protocols.md §2.

Training: SimpleBaseline (suite/models/simple_baseline.py: the trunk, three 256-channel deconvolutions,
16 heatmaps) on every person of annot/train.json, cropped by the shared top-down pipeline
(suite/finetune/topdown.py) at 256 x 256 about HRNet's MPII centre (+15·s down) and square side
1.25·200·s; scale x clip(N·0.25 + 1, 0.75, 1.25), rotation clip(N·30°, ±60°) with probability 0.6,
horizontal flip with probability 0.5, no half-body; 64 x 64 Gaussian targets, σ 2
(suite/finetune/heatmap.py), JointsMSELoss with target weights. Adam lr 1e-3 without weight decay,
x0.1 from 0-based epochs 89 and 119 (the official MultiStepLR [90, 120] stepped at each epoch's start),
140 epochs, global batch 128.

Test: every person of annot/valid.json with the same centre and size; flip test with the one-pixel
heatmap shift; argmax with the quarter offset; back to image pixels by the crop's inverse; PCKh@0.5
against annot/gt_valid.mat (suite/evaluate/pckh.py): head, shoulder, elbow, wrist, hip, knee, ankle,
total (the paper's Mean), total@0.11 (HRNet's "Mean@0.1") and every joint. The baseline: the mean
training pose in box coordinates, placed in each test person's box (`baseline/<metric>`).

Deviations (Config options keep the official behaviour):
- normalisation "rgb" (RGB images, ImageNet statistics) by default: the images and every SSL backbone
  are RGB; `normalisation="official"` feeds the BGR order the res50 config does.
- The final epoch's model is reported; the official code keeps the best of per-epoch evaluations on the
  validation set, which is the test set.
- Augmentation is drawn from (seed, epoch, index) rather than the global RNG; the crop affine is
  solved in float64 rather than float32.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from suite.data.layouts import MPII_ANNOTATIONS, MPII_GT_VALID, MPII_IMAGES
from suite.data.mpii import MpiiPerson, read_annotations, read_ground_truth
from suite.data.skeleton import MPII_FLIP_PAIRS, MPII_JOINTS
from suite.errors import DatasetError
from suite.evaluate.pckh import QUIRK_THRESHOLD, joint_hits, pckh
from suite.evaluate.samples import pckh_samples
from suite.finetune.heatmap_task import HeatmapTask
from suite.finetune.mpii_2d_settings import METRICS, Mpii2dConfig
from suite.finetune.task import Evaluation
from suite.finetune.topdown import Pipeline, TopdownDataset, mean_pose, mpii_persons
from suite.models.simple_baseline import check_sizes

NUM_JOINTS = len(MPII_JOINTS)
UPPER_BODY = (7, 8, 9, 10, 11, 12, 13, 14, 15)  # HRNet's MPII upper_body_ids (for half-body)
CHECK = "check the dataset with python -m suite data check"


class Mpii2d(HeatmapTask):
    name = "mpii-2d"
    Config = Mpii2dConfig
    num_joints = NUM_JOINTS

    def pipeline(self) -> Pipeline:
        """The top-down settings of the config (its augmentation applies to training sets only)."""
        check_sizes((self.config.input_size,) * 2, (self.config.heatmap_size,) * 2)
        return Pipeline(
            input_size=(self.config.input_size, self.config.input_size),
            heatmap_size=(self.config.heatmap_size, self.config.heatmap_size),
            flip_pairs=MPII_FLIP_PAIRS,
            sigma=self.config.sigma,
            scale_factor=self.config.scale_factor,
            rotation_factor=self.config.rotation_factor,
            rotation_p=self.config.rotation_p,
            flip_p=self.config.flip_p,
            half_body_p=self.config.half_body_p,
            upper_body=UPPER_BODY,
            normalisation=self.config.normalisation,
        )

    def _persons(self, split: str) -> tuple[MpiiPerson, ...]:
        root = self.roots["mpii"]
        path = root / MPII_ANNOTATIONS.format(split=split)
        persons = read_annotations(path, root / MPII_IMAGES)
        if not persons:
            raise DatasetError(f"no {split} persons", path, CHECK)
        return persons

    def train_set(self, seed: int) -> TopdownDataset:
        persons = mpii_persons(self._persons("train"), self.roots["mpii"] / MPII_IMAGES)
        return TopdownDataset(persons, self.pipeline(), seed)

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        root = self.roots["mpii"]
        valid = self._persons("valid")
        truth = read_ground_truth(root / MPII_GT_VALID)
        if len(truth) != len(valid):
            raise DatasetError(
                f"holds {len(truth)} persons, valid.json {len(valid)}; they must be the same persons",
                root / MPII_GT_VALID,
                CHECK,
            )
        persons = mpii_persons(valid, root / MPII_IMAGES)
        outputs = self.predict(model, persons, device, batch_size, workers)
        result = pckh(outputs["joints"], truth)
        metrics = {name: result[name] for name in METRICS} | result
        guess = mean_pose(mpii_persons(self._persons("train"), root / MPII_IMAGES), persons)
        baseline = pckh(guess, truth)
        metrics |= {f"baseline/{name}": baseline[name] for name in METRICS}
        predictions = {
            "joints": outputs["joints"],  # (N, 16, 2) 0-based image pixels, valid.json's order
            "scores": outputs["scores"],
            "center": outputs["center"],
            "scale": outputs["scale"],
            "image": np.array([person.image for person in valid]),
        }
        correct, annotated = joint_hits(outputs["joints"], truth)
        quirk, _ = joint_hits(outputs["joints"], truth, QUIRK_THRESHOLD)
        samples = pckh_samples(np.arange(len(valid)), correct, quirk, annotated)  # gt_valid.mat's persons
        return Evaluation(metrics, predictions, samples=samples)
