"""What the 2D heatmap pose tasks (coco-2d, mpii-2d, h36m-2d) share, as every one of their official
recipes does: SimpleBaseline on the trunk, JointsMSELoss on the Gaussian targets with their weights,
and Adam with a MultiStepLR. A task adds its data, its top-down settings and its test protocol."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor, nn

from suite.finetune.heatmap import joints_mse_loss
from suite.finetune.task import Task
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline
from suite.training.schedules import OptimizerSpec


class HeatmapTask(Task):
    num_joints: ClassVar[int]  # heatmap channels

    def build_model(self, trunk: ResNetTrunk) -> SimpleBaseline:
        return SimpleBaseline(trunk, self.num_joints)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        loss = joints_mse_loss(model(batch["image"]), batch["target"], batch["weight"])
        return loss, {"loss": loss.detach()}

    def optimizer(self) -> OptimizerSpec:
        """Adam without weight decay, the lr multiplied by gamma at each milestone epoch."""
        config = self.config
        return OptimizerSpec("adam", config.lr, milestones=config.milestones, gamma=config.gamma)
