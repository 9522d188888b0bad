"""Human3.6M 2D pose, JDR (Table 3): "h36m-2d", the multiview repo's single-view baseline.

Source: microsoft/multiview-human-pose-estimation-pytorch, experiments-local/mixed/resnet50/
256_nofusion.yaml, lib/dataset/{mixed_dataset, multiview_h36m, mpii, joints_dataset}.py,
lib/core/{function, inference}.py; downstream-protocols.md §3.

Training ("mixed"): SimpleBaseline (suite/models/simple_baseline.py) with 20 heatmaps, one per joint
of the repo's union skeleton (UNION_JOINTS), on
- Human3.6M S1, 5, 6, 7, 8 (H36M-Toolbox's annot/h36m_train.pkl): the frames whose 4 cameras all
  exist, grouped by (subject, action, subaction, frame) in the order the pickle first names them,
  every 5th group, all 4 views; the 17 joints fill their union channels, crops about the pickle's
  centre with the pickle's size (no x1.25, no aspect fix; square, the width as the side);
- MPII annot/train.json in pseudo-groups of 4 consecutive persons (the last len % 4 left out), the
  16 joints in their union channels, HRNet's crop (+15·s down, x1.25);
and the union channels a dataset does not have at weight 0. An epoch is every image of every group
once, shuffled image by image; batch 32 images (the repo's 8 groups of 4). 256 x 256 crops, no
augmentation (scale and rotation factors 0, no flip), a joint outside the crop invisible, 64 x 64
Gaussian targets σ 2, the repo's JointsMSELoss with target weights (summed over joints, no 0.5, and
over its 4 views: heatmap.multiview_joints_mse_loss); Adam lr 1e-3 without weight decay, x0.1 from
0-based epochs 19 and 24 (the official MultiStepLR [20, 25] stepped at each epoch's start), 30 epochs.

The union keeps the repo's names: Human3.6M's joint 8 (suite.data.skeleton's "thorax", the repo's
"neck") is union "neck" and MPII's thorax union "thorax", two channels, as are Human3.6M's head and
MPII's head top; only the pelvis, hips, knees, ankles, shoulders, elbows and wrists are shared (RLE's
mapping, skeleton.H36M_TO_MPII, merges them instead).

Test: annot/h36m_validation.pkl (S9, S11), all 4 views of every 64th complete group; no flip test,
the integer argmax (POST_PROCESS false), back to full-frame pixels by each crop's inverse; the 17
Human3.6M channels of the union against the pickle's joints_2d: JDR (suite/evaluate/jdr.py), the %
of joints within 12.8 px (0.5 x 256 / 10, fixed), per joint and their mean `total`. The baseline:
the mean training pose in crop coordinates placed in each test crop (`baseline/<metric>`).

Table 9's "+ prior" (`prior=True`, suite/finetune/prior.py): a lifting head on the trunk's C5, trained
beside the heatmaps with the reprojection loss against the 17 Human3.6M channels' joints in the crop
(weighted as their targets, so MPII's missing joints drop out) and the kinematic prior's penalty. The
test is unchanged; the head is only trained.

Deviations (Config options keep the official behaviour):
- normalisation "rgb" (RGB images, ImageNet statistics) by default: the images and every SSL backbone
  are RGB; `normalisation="official"` feeds the BGR order the repo does.
- Training images are shuffled one by one; the repo shuffles whole groups, so a batch holds the 4
  views of 8 frames (the single-view model is the same; only its batch statistics differ).
- The final epoch's model is reported; the repo keeps the best of per-epoch evaluations on the
  validation set, which is the test set.
- The loop drops an epoch's last incomplete batch; the crop affine is solved in float64.
- JDR's radius: the paper says half of the head size, the code measures no head and uses 12.8 px
  for every joint, which Table 3's numbers come from; `jdr_threshold` sets another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from suite.data.h36m import MultiviewSample, read_multiview
from suite.data.layouts import H36M_MULTIVIEW_ANNOTATIONS, H36M_TEST_SUBJECTS, MPII_ANNOTATIONS, MPII_IMAGES
from suite.data.mpii import read_annotations
from suite.errors import DatasetError
from suite.evaluate.jdr import jdr, jdr_per_sample
from suite.evaluate.samples import mean_samples
from suite.finetune.h36m_2d_settings import METRICS, H36m2dConfig
from suite.finetune.heatmap import multiview_joints_mse_loss
from suite.finetune.heatmap_task import HeatmapTask
from suite.finetune.prior import LiftingHead, prior_loss
from suite.finetune.task import Evaluation
from suite.finetune.topdown import Person, Pipeline, TopdownDataset, mean_pose, mpii_persons
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline

# The repo's union skeleton (joints_dataset.py union_joints), in its order.
UNION_JOINTS = (
    "root", "r_hip", "r_knee", "r_ankle", "l_hip", "l_knee", "l_ankle", "belly", "thorax", "neck",
    "upper_neck", "nose", "head", "head_top", "l_shoulder", "l_elbow", "l_wrist", "r_shoulder",
    "r_elbow", "r_wrist",
)  # fmt: skip
NUM_JOINTS = len(UNION_JOINTS)
# Union channel of each Human3.6M joint (suite.data.skeleton.JOINTS order: root, r_hip, ..., r_wrist;
# the repo's belly, neck, nose, head are skeleton's spine, thorax, neck_nose, head).
H36M_TO_UNION = (0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 12, 14, 15, 16, 17, 18, 19)
# Union channel of each MPII joint (skeleton.MPII_JOINTS order: r_ankle, r_knee, r_hip, l_hip, l_knee,
# l_ankle, pelvis, thorax, upper_neck, head_top, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow,
# l_wrist).
MPII_TO_UNION = (3, 2, 1, 4, 5, 6, 0, 8, 10, 13, 19, 18, 17, 14, 15, 16)
UNION_FLIP_PAIRS = ((1, 4), (2, 5), (3, 6), (14, 17), (15, 18), (16, 19))
VIEWS = 4
CHECK = "check the dataset with python -m suite data check"


def four_view_groups(
    samples: Sequence[MultiviewSample], stride: int, path: Path | None = None
) -> list[tuple[int, ...]]:
    """MultiViewH36M.get_group: indices (camera 0..3) of the frames (subject, action, subaction,
    image_id) all 4 cameras show, in the order the list (read from `path`) first names each frame,
    every stride-th."""
    groups: dict[tuple[int, int, int, int], list[int]] = {}
    for index, sample in enumerate(samples):
        if not 0 <= sample.camera_id < VIEWS:
            raise DatasetError(f"entry {index} has camera_id {sample.camera_id}, not 0..3", path, CHECK)
        key = (sample.subject, sample.action, sample.subaction, sample.image_id)
        groups.setdefault(key, [-1] * VIEWS)[sample.camera_id] = index
    complete = [tuple(group) for group in groups.values() if min(group) >= 0]
    return complete[::stride]


def h36m_person(sample: MultiviewSample) -> Person:
    """A Human3.6M frame as the pipeline's person: the pickle's crop, the 17 joints in the union."""
    joints, visible = np.zeros((NUM_JOINTS, 2)), np.zeros(NUM_JOINTS)
    joints[list(H36M_TO_UNION)] = sample.joints_2d
    visible[list(H36M_TO_UNION)] = np.minimum(sample.joints_vis[:, 0], 1.0)
    return Person(sample.image, sample.center.astype(np.float64), sample.scale * 200.0, joints, visible)


def mpii_union(person: Person) -> Person:
    """An MPII person (mpii_persons') with its 16 joints moved into the union."""
    joints, visible = np.zeros((NUM_JOINTS, 2)), np.zeros(NUM_JOINTS)
    joints[list(MPII_TO_UNION)] = person.joints
    visible[list(MPII_TO_UNION)] = person.visible
    return Person(person.image, person.center, person.scale, joints, visible)


class Human36m2d(HeatmapTask):
    name = "h36m-2d"
    Config = H36m2dConfig
    num_joints = NUM_JOINTS

    def build_model(self, trunk: ResNetTrunk) -> SimpleBaseline:
        """SimpleBaseline; with `prior` also a lifting head on its trunk (`.lifting`, used in training)."""
        model = super().build_model(trunk)
        if self.config.prior:
            model.lifting = LiftingHead(trunk.num_channels)
        return model

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """JointsMSELoss; with `prior` plus the lifted pose's terms (prior.py) on the Human3.6M joints'
        channels, whose weights leave out what an MPII person lacks."""
        if not self.config.prior:
            return super().loss(model, batch)
        features = model.trunk(batch["image"])
        loss = self.heatmap_loss(model.head(features), batch["target"], batch["weight"])
        h36m = list(H36M_TO_UNION)
        joints, weight = batch["joints"][:, h36m], batch["weight"][:, h36m]
        return prior_loss(loss, model.lifting(features), joints, weight, self.config)

    def heatmap_loss(self, heatmaps: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        """The repo's JointsMSELoss, over the views of its four-view groups."""
        return multiview_joints_mse_loss(heatmaps, target, weight, VIEWS)

    def pipeline(self) -> Pipeline:
        """The top-down settings of the config: no flip, a joint leaving the crop invisible."""
        return Pipeline(
            input_size=(self.config.input_size, self.config.input_size),
            heatmap_size=(self.config.heatmap_size, self.config.heatmap_size),
            flip_pairs=UNION_FLIP_PAIRS,
            sigma=self.config.sigma,
            scale_factor=self.config.scale_factor,
            rotation_factor=self.config.rotation_factor,
            invisible_outside=True,
            normalisation=self.config.normalisation,
        )

    def _h36m(self, split: str, stride: int) -> list[MultiviewSample]:
        """The views of every stride-th complete group of the split's pickle, group by group."""
        root = self.roots["h36m"]
        path = root / H36M_MULTIVIEW_ANNOTATIONS[split]
        samples = read_multiview(root, split)
        chosen = [samples[i] for group in four_view_groups(samples, stride, path) for i in group]
        if not chosen:
            raise DatasetError(f"no frame seen by all 4 cameras among {len(samples)} entries", path, CHECK)
        if split == "train":
            leaked = sorted({s.subject for s in chosen} & set(H36M_TEST_SUBJECTS))
            if leaked:
                raise DatasetError(
                    f"holds frames of the test subjects {leaked}; training must not see them",
                    path,
                    "regenerate it with H36M-Toolbox (S1, 5, 6, 7, 8 only)",
                )
        return chosen

    def _mpii(self) -> list[Person]:
        root = self.roots["mpii"]
        path = root / MPII_ANNOTATIONS.format(split="train")
        persons = read_annotations(path, root / MPII_IMAGES)
        persons = persons[: len(persons) // VIEWS * VIEWS]  # mixed_dataset's pseudo-groups of 4
        if not persons:
            raise DatasetError("fewer than 4 training persons", path, CHECK)
        return [mpii_union(person) for person in mpii_persons(persons, root / MPII_IMAGES)]

    def train_set(self, seed: int) -> TopdownDataset:
        h36m = [h36m_person(sample) for sample in self._h36m("train", self.config.train_stride)]
        return TopdownDataset(h36m + self._mpii(), self.pipeline(), seed)

    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        config = self.config
        test = self._h36m("validation", config.test_stride)
        persons = [h36m_person(sample) for sample in test]
        outputs = self.predict(model, persons, device, batch_size, workers)
        joints = outputs["joints"][:, list(H36M_TO_UNION)]
        truth = np.stack([sample.joints_2d for sample in test])
        result = jdr(joints, truth, config.jdr_threshold)
        metrics = {name: result[name] for name in METRICS} | result
        training = [h36m_person(sample) for sample in self._h36m("train", config.train_stride)]
        guess = mean_pose(training, persons)[:, list(H36M_TO_UNION)]
        baseline = jdr(guess, truth, config.jdr_threshold)
        metrics |= {f"baseline/{name}": baseline[name] for name in METRICS}
        predictions = {
            "joints": joints,  # (N, 17, 2) full-frame pixels, the Human3.6M order
            "gt_joints": truth,
            "union_joints": outputs["joints"],  # (N, 20, 2) every channel of the head
            "scores": outputs["scores"],
            "center": outputs["center"],
            "scale": outputs["scale"],
            "image": np.array([str(sample.image) for sample in test]),
            "subject": np.array([sample.subject for sample in test]),
            "action": np.array([sample.action for sample in test]),
            "camera_id": np.array([sample.camera_id for sample in test]),
        }
        per_frame = jdr_per_sample(joints, truth, config.jdr_threshold)
        return Evaluation(metrics, predictions, samples=mean_samples(predictions["image"], per_frame))
