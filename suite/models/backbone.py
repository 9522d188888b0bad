"""torchvision ResNets cut at C5, with the initialisations the official pre-training codes use.

The trunk keeps torchvision's parameter names (conv1, bn1, layer1..layer4) and drops avgpool and
fc, so its state dict loads into torchvision.models.resnet50() with exactly fc.* missing. Its stem's
max pooling is suite/models/maxpool.py's: the same numbers, faster on the CPU.
"""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from suite.errors import SuiteError
from suite.models.maxpool import StemMaxPool

ARCHS = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
}
# How each official code initialises its ResNet (shared/reference/pretraining-methods.md):
# conv fan mode and whether the last BN of every residual block starts at zero.
INITS = {
    "torchvision": ("fan_out", False),  # MoCo: torchvision's default
    "liftedcl": ("fan_out", True),
    "pixpro": ("fan_out", True),
    "densecl": ("fan_in", False),  # mmcv ResNet, zero_init_residual False
}


class ResNetTrunk(ResNet):
    """A ResNet whose forward returns the C5 feature map (N, C, H/32, W/32).

    weights: a torchvision ResNet state dict (fc ignored) to start from instead of the random init,
    e.g. stage I's backbone for stage II; a method's momentum copies then start from it too.
    """

    def __init__(
        self, arch: str, init: str = "torchvision", weights: dict[str, Tensor] | None = None
    ) -> None:
        if arch not in ARCHS or init not in INITS:
            raise ValueError(f"unknown arch {arch!r} or init {init!r}: use {sorted(ARCHS)}, {sorted(INITS)}")
        block, layers = ARCHS[arch]
        fan_mode, zero_init_residual = INITS[init]
        super().__init__(block, list(layers), zero_init_residual=zero_init_residual)
        del self.avgpool, self.fc
        self.maxpool = StemMaxPool()  # nn.MaxPool2d(3, 2, 1) with the same numbers, faster on the CPU
        self.arch = arch
        self.num_channels = 512 * block.expansion
        if fan_mode != "fan_out":
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    nn.init.kaiming_normal_(module.weight, mode=fan_mode, nonlinearity="relu")
        if weights is not None:
            state = {key: value for key, value in weights.items() if not key.startswith("fc.")}
            try:
                self.load_state_dict(state)
            except RuntimeError as error:
                raise SuiteError(
                    f"the initial backbone does not fit a {arch}: {str(error)[:400]}",
                    fix="give a torchvision ResNet state dict of the profile's architecture",
                ) from error

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
