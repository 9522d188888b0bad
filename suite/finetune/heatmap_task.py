"""What the 2D heatmap pose tasks (coco-2d, mpii-2d, h36m-2d) share, as every one of their official
recipes does: SimpleBaseline on the trunk, JointsMSELoss on the Gaussian targets with their weights,
and Adam with a MultiStepLR; at test time the unaugmented crops of the test persons through the
test-time protocol the config sets (flip_test, shift_heatmap, post_process). A task adds its data, its
top-down settings (`pipeline()`) and its metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from suite.finetune.heatmap import joints_mse_loss
from suite.finetune.task import Task
from suite.finetune.topdown import Person, Pipeline, TopdownDataset, predict
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline
from suite.training.schedules import OptimizerSpec


class HeatmapTask(Task):
    num_joints: ClassVar[int]  # heatmap channels

    def build_model(self, trunk: ResNetTrunk) -> SimpleBaseline:
        return SimpleBaseline(trunk, self.num_joints, self.config.deconv_channels)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        loss = self.heatmap_loss(model(batch["image"]), batch["target"], batch["weight"])
        return loss, {"loss": loss.detach()}

    def heatmap_loss(self, heatmaps: Tensor, target: Tensor, weight: Tensor) -> Tensor:
        """HRNet's JointsMSELoss with target weights."""
        return joints_mse_loss(heatmaps, target, weight)

    def optimizer(self) -> OptimizerSpec:
        """Adam without weight decay, the lr multiplied by gamma at each milestone epoch."""
        config = self.config
        return OptimizerSpec("adam", config.lr, milestones=config.milestones, gamma=config.gamma)

    def pipeline(self) -> Pipeline:
        """The top-down settings of the task's config."""
        raise NotImplementedError

    def predict(
        self, model: nn.Module, persons: Sequence[Person], device: torch.device, batch_size: int, workers: int
    ) -> dict[str, np.ndarray]:
        """topdown.predict on the persons' unaugmented crops, with the config's test-time settings."""
        config = self.config
        return predict(
            model,
            TopdownDataset(persons, self.pipeline(), None),
            device,
            batch_size,
            workers,
            flip_test=config.flip_test,
            shift_heatmap=config.shift_heatmap,
            post_process=config.post_process,
        )
