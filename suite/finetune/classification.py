"""Supervised classification of an ImageFolder: "classification", the paper's "Super. IN" stage I.

torchvision's reference recipe for ResNets (references/classification, train.py defaults and the
ResNet-50 v1 command): SGD lr 0.1, momentum 0.9, weight decay 1e-4 on every parameter, lr x0.1
every 30 epochs (StepLR, here MultiStepLR at 30 and 60), 90 epochs, global batch 256 (32 x 8 GPUs),
cross-entropy. Training images: RandomResizedCrop(224, scale (0.08, 1), ratio (3/4, 4/3), bilinear),
horizontal flip with probability 0.5, ImageNet normalisation; the crop and flip are drawn from
(seed, epoch, index). Test (the `val` split): resize the shorter side to 256, centre crop 224,
top-1 and top-5 accuracy in percent.

The model is the trunk, global average pooling and a Linear classifier (torchvision's ResNet); the
trained trunk, without the classifier, is the backbone that later stages start from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import InterpolationMode

from suite.data import generic
from suite.data.images import read_image
from suite.data.views import IMAGENET_MEAN, IMAGENET_STD, crop_box
from suite.errors import DatasetError
from suite.finetune.classification_settings import ClassificationConfig
from suite.finetune.task import Evaluation, Task
from suite.models.backbone import ResNetTrunk
from suite.training.schedules import OptimizerSpec

TRAIN_SPLIT, TEST_SPLIT = "train", "val"
TOP_K = (1, 5)


class Classifier(nn.Module):
    """torchvision's ResNet: the trunk, global average pooling, a Linear layer (fc)."""

    def __init__(self, trunk: ResNetTrunk, classes: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.fc = nn.Linear(trunk.num_channels, classes)

    def forward(self, images: Tensor) -> Tensor:
        return self.fc(self.trunk(images).mean(dim=(2, 3)))


class ImageFolderSet(Dataset):
    """One split of an ImageFolder; seed None gives the test transform, else the training augmentation."""

    def __init__(self, split: generic.ImageFolder, config: ClassificationConfig, seed: int | None) -> None:
        self.samples, self.config, self.seed, self.epoch = split.samples, config, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, label = self.samples[index]
        image = Image.fromarray(read_image(path))
        config = self.config
        size = [config.input_size, config.input_size]
        if self.seed is None:
            image = TF.resize(image, config.resize_size, InterpolationMode.BILINEAR)
            image = TF.center_crop(image, size)
        else:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            box = crop_box(rng, image.height, image.width, config.crop_scale, config.crop_ratio)
            image = TF.resized_crop(image, *box, size, InterpolationMode.BILINEAR)
            if rng.random() < config.flip_p:
                image = TF.hflip(image)
        tensor = TF.normalize(TF.to_tensor(image), IMAGENET_MEAN, IMAGENET_STD)
        return {"image": tensor, "label": label, "index": index}


class Classification(Task):
    name = "classification"
    Config = ClassificationConfig

    def build_model(self, trunk: ResNetTrunk) -> Classifier:
        return Classifier(trunk, len(generic.read_split(self.roots["generic"], TRAIN_SPLIT).classes))

    def train_set(self, seed: int) -> ImageFolderSet:
        return ImageFolderSet(generic.read_split(self.roots["generic"], TRAIN_SPLIT), self.config, seed)

    def loss(self, model: nn.Module, batch: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        logits = model(batch["image"])
        loss = F.cross_entropy(logits, batch["label"])
        accuracy = (logits.argmax(dim=1) == batch["label"]).float().mean() * 100
        return loss, {"loss": loss.detach(), "top1": accuracy.detach()}

    def optimizer(self) -> OptimizerSpec:
        c = self.config
        return OptimizerSpec("sgd", c.lr, c.momentum, c.weight_decay, c.milestones, c.gamma)

    @torch.inference_mode()
    def evaluate(self, model: nn.Module, device: torch.device, batch_size: int, workers: int) -> Evaluation:
        model.eval()
        train = generic.read_split(self.roots["generic"], TRAIN_SPLIT)
        test = generic.read_split(self.roots["generic"], TEST_SPLIT)
        if test.classes != train.classes:
            raise DatasetError(
                f"the {TEST_SPLIT} classes {list(test.classes)} differ from the {TRAIN_SPLIT} classes",
                self.roots["generic"],
                "give both splits the same class folders",
            )
        loader = DataLoader(
            ImageFolderSet(test, self.config, None), batch_size=batch_size, num_workers=workers
        )
        logits, labels = [], []
        for batch in loader:
            logits.append(model(batch["image"].to(device)).float().cpu())
            labels.append(batch["label"])
        scores, truth = torch.cat(logits), torch.cat(labels)
        ranked = scores.argsort(dim=1, descending=True)
        metrics = {
            f"top{k}": float((ranked[:, :k] == truth[:, None]).any(dim=1).float().mean() * 100) for k in TOP_K
        }
        predictions = {"logits": scores.numpy(), "label": truth.numpy()}
        return Evaluation(metrics, predictions)
