"""SimpleBaseline (Xiao et al. 2018): a ResNet's C5 features, three deconvolutions, one heatmap per joint.

Source: leoxiaobin/deep-high-resolution-net.pytorch lib/models/pose_resnet.py (downstream-protocols.md
§1.1): 3 x [ConvTranspose2d(k 4, s 2, p 1, no bias) -> BatchNorm2d -> ReLU] with 256 channels, then a
1x1 convolution to K heatmaps at a quarter of the input's resolution. The head starts as the official
`init_weights` makes it: deconvolutions N(0, 0.001), BN weight 1 and bias 0, the final convolution
N(0, 0.001) with bias 0. The trunk is kept as `.trunk` (its weights are the run's backbone).
"""

from __future__ import annotations

from torch import Tensor, nn

from suite.errors import SuiteError
from suite.models.backbone import ResNetTrunk

DECONV_CHANNELS = 256
DECONV_LAYERS = 3
INIT_STD = 0.001
TRUNK_STRIDE = 32  # C5
HEATMAP_STRIDE = TRUNK_STRIDE // 2**DECONV_LAYERS


def check_sizes(input_size: tuple[int, int], heatmap_size: tuple[int, int]) -> None:
    """SuiteError unless each side of the input is a multiple of 32 and the heatmap's a quarter of it
    (what the model's output has; sizes are (width, height))."""
    if any(side % TRUNK_STRIDE for side in input_size) or any(
        side * HEATMAP_STRIDE != full for side, full in zip(heatmap_size, input_size, strict=True)
    ):
        raise SuiteError(
            f"input {tuple(input_size)} and heatmap {tuple(heatmap_size)} do not fit SimpleBaseline",
            fix=f"give input sides that are multiples of {TRUNK_STRIDE}, heatmap sides a quarter of them",
        )


class SimpleBaseline(nn.Module):
    """(N, 3, H, W) images -> (N, num_joints, H/4, W/4) heatmaps."""

    def __init__(
        self,
        trunk: ResNetTrunk,
        num_joints: int,
        channels: int = DECONV_CHANNELS,
        layers: int = DECONV_LAYERS,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        blocks: list[nn.Module] = []
        in_channels = trunk.num_channels
        for _ in range(layers):
            blocks += [
                nn.ConvTranspose2d(
                    in_channels, channels, 4, stride=2, padding=1, output_padding=0, bias=False
                ),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = channels
        self.deconv_layers = nn.Sequential(*blocks)
        self.final_layer = nn.Conv2d(channels, num_joints, kernel_size=1, stride=1, padding=0)
        for module in self.deconv_layers.modules():
            if isinstance(module, nn.ConvTranspose2d):
                nn.init.normal_(module.weight, std=INIT_STD)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.constant_(module.weight, 1)
                nn.init.constant_(module.bias, 0)
        nn.init.normal_(self.final_layer.weight, std=INIT_STD)
        nn.init.constant_(self.final_layer.bias, 0)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.trunk(images))

    def head(self, features: Tensor) -> Tensor:
        """The trunk's C5 features (N, C, H/32, W/32) -> heatmaps."""
        return self.final_layer(self.deconv_layers(features))
