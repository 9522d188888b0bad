"""CE2P, the network of Self-Correction-Human-Parsing (networks/AugmentCE2P.py), on a torchvision trunk.

downstream-protocols.md §6.2. The trunk's layer4 runs at stride 1 with dilation 2 (output stride 16,
`dilate_layer4`); on its C5 features a pyramid-pooling context (bins 1, 2, 3, 6), a decoder joining it
with layer1's features at stride 4 (the parsing result), an edge branch on layer1..layer3 (the edge
result) and a fusion of the decoder's and the edge branch's features (the fusion result):

    [[parsing_result, fusion_result], [edge_result]] = CE2P(trunk)(images)   # all at 1/4 resolution

Every head block is conv -> BN -> LeakyReLU(0.01), the official InPlaceABNSync(C) with its default
activation; plain BatchNorm2d stands in for the synchronised in-place BN (SyncBatchNorm across
processes is the trainer's business). The widths are the official ones (context 512, decoder 256 with
48 layer1 channels, edge 256) by default; the trunk's own widths come from its blocks (ResNet-101 and -50:
256/512/1024/2048; ResNet-18: 64/128/256/512). The official deep stem (three 3x3 convs) is the trunk's
standard 7x7 stem, as every SSL ResNet-50 has.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from suite.models.backbone import ResNetTrunk

LEAKY_SLOPE = 0.01  # InPlaceABN's default leaky_relu slope
PSP_BINS = (1, 2, 3, 6)


def dilate_layer4(trunk: ResNetTrunk, dilation: int = 2) -> ResNetTrunk:
    """layer4 at stride 1 with every 3x3 conv dilated (AugmentCE2P's layer4: stride 1, dilation 2,
    multi_grid 1); the weights are untouched, so any torchvision state dict still loads."""
    for module in trunk.layer4.modules():
        if isinstance(module, nn.Conv2d):
            module.stride = (1, 1)
            if module.kernel_size == (3, 3):
                module.dilation, module.padding = (dilation, dilation), (dilation, dilation)
    return trunk


def _stages(trunk: ResNetTrunk) -> tuple[nn.Module, ...]:
    return trunk.layer1, trunk.layer2, trunk.layer3, trunk.layer4


def _out_channels(stage: nn.Sequential) -> int:
    block = stage[-1]
    last = block.bn3 if hasattr(block, "bn3") else block.bn2
    return last.num_features


def abn(in_channels: int, out_channels: int, kernel_size: int = 1) -> nn.Sequential:
    """conv (no bias) -> InPlaceABNSync(out_channels): BN and LeakyReLU(0.01)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.LeakyReLU(LEAKY_SLOPE),
    )


def upsample(x: Tensor, size: tuple[int, int]) -> Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=True)


class PSPModule(nn.Module):
    """Each bin: adaptive average pool -> 1x1 conv + ABN, upsampled; concatenated with the input ->
    3x3 conv + ABN."""

    def __init__(self, features: int, out_features: int = 512, bins: tuple[int, ...] = PSP_BINS) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(size), *abn(features, out_features)) for size in bins
        )
        self.bottleneck = abn(features + len(bins) * out_features, out_features, kernel_size=3)

    def forward(self, feats: Tensor) -> Tensor:
        size = feats.shape[-2:]
        priors = [upsample(stage(feats), size) for stage in self.stages] + [feats]
        return self.bottleneck(torch.cat(priors, 1))


class DecoderModule(nn.Module):
    """The context (upsampled to layer1's size after a 1x1 + ABN) with layer1's features reduced to 48
    channels -> two 1x1 + ABN (the parsing feature) -> 1x1 conv to the class logits."""

    def __init__(
        self, num_classes: int, context: int = 512, low: int = 256, width: int = 256, skip: int = 48
    ) -> None:
        super().__init__()
        self.conv1 = abn(context, width)
        self.conv2 = abn(low, skip)
        self.conv3 = nn.Sequential(*abn(width + skip, width), *abn(width, width))
        self.conv4 = nn.Conv2d(width, num_classes, kernel_size=1, bias=True)

    def forward(self, xt: Tensor, xl: Tensor) -> tuple[Tensor, Tensor]:
        xt = upsample(self.conv1(xt), xl.shape[-2:])
        x = self.conv3(torch.cat([xt, self.conv2(xl)], dim=1))
        return self.conv4(x), x


class EdgeModule(nn.Module):
    """1x1 + ABN on layer1, layer2 and layer3; one shared 3x3 conv to 2 edge logits for each, upsampled
    to layer1's size, concatenated -> 1x1 conv to the edge logits; the three features concatenated."""

    def __init__(self, in_features: tuple[int, int, int], mid: int = 256, out: int = 2) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = (abn(channels, mid) for channels in in_features)
        self.conv4 = nn.Conv2d(mid, out, kernel_size=3, padding=1, bias=True)
        self.conv5 = nn.Conv2d(out * 3, out, kernel_size=1, bias=True)

    def forward(self, x1: Tensor, x2: Tensor, x3: Tensor) -> tuple[Tensor, Tensor]:
        size = x1.shape[-2:]
        features = [
            conv(x) for conv, x in zip((self.conv1, self.conv2, self.conv3), (x1, x2, x3), strict=True)
        ]
        edges = [upsample(self.conv4(feature), size) for feature in features]
        features = [upsample(feature, size) for feature in features]
        return self.conv5(torch.cat(edges, dim=1)), torch.cat(features, dim=1)


class CE2P(nn.Module):
    """The trunk (layer4 dilated here) with the context, decoder, edge and fusion heads; widths as the
    official ResNet-101 network unless given."""

    def __init__(
        self,
        trunk: ResNetTrunk,
        num_classes: int,
        context: int = 512,
        decoder: int = 256,
        skip: int = 48,
        edge: int = 256,
    ) -> None:
        super().__init__()
        self.trunk = dilate_layer4(trunk)
        c1, c2, c3, c4 = (_out_channels(stage) for stage in _stages(trunk))
        self.context_encoding = PSPModule(c4, context)
        self.edge = EdgeModule((c1, c2, c3), edge)
        self.decoder = DecoderModule(num_classes, context, c1, decoder, skip)
        self.fushion = nn.Sequential(  # sic, the official attribute name
            *abn(decoder + 3 * edge, 256),
            nn.Dropout2d(0.1),
            nn.Conv2d(256, num_classes, kernel_size=1, bias=True),
        )

    def forward(self, x: Tensor) -> list[list[Tensor]]:
        trunk = self.trunk
        x = trunk.maxpool(trunk.relu(trunk.bn1(trunk.conv1(x))))
        x2 = trunk.layer1(x)
        x3 = trunk.layer2(x2)
        x4 = trunk.layer3(x3)
        x5 = trunk.layer4(x4)
        context = self.context_encoding(x5)
        parsing_result, parsing_feature = self.decoder(context, x2)
        edge_result, edge_feature = self.edge(x2, x3, x4)
        fusion_result = self.fushion(torch.cat([parsing_feature, edge_feature], dim=1))
        return [[parsing_result, fusion_result], [edge_result]]
