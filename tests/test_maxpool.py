"""The stem's max pooling gives nn.MaxPool2d(3, 2, 1)'s values and gradients bit for bit."""

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from suite.models.backbone import ResNetTrunk
from suite.models.maxpool import StemMaxPool

SHAPES = [(4, 8, 32, 32), (2, 3, 7, 9), (3, 5, 8, 5), (1, 1, 1, 1), (2, 2, 2, 3), (1, 4, 6, 1)]


def activations(shape, seed: int) -> torch.Tensor:
    """ReLU outputs (many ties at 0), with repeated values inside windows and a few negatives."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=generator).relu()
    x[..., ::3, 1::2] = x[..., ::3, :1]  # equal maxima in one window: the first must win
    x[..., 1::4, :] -= 0.5
    return x


@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_equal_max_pool(shape):
    x = activations(shape, seed=sum(shape))
    upstream = torch.randn(nn.MaxPool2d(3, 2, 1)(x).shape, generator=torch.Generator().manual_seed(1))
    results = []
    for pool in (StemMaxPool(), nn.MaxPool2d(3, 2, 1)):
        leaf = x.clone().requires_grad_()
        out = pool(leaf)
        out.backward(upstream)
        with torch.no_grad():
            plain = pool(x)
        results.append((out.detach(), leaf.grad, plain))
    (ours, our_grad, our_plain), (theirs, their_grad, their_plain) = results
    assert torch.equal(ours, theirs) and torch.equal(our_plain, their_plain)
    assert torch.equal(our_grad, their_grad)


def test_windows_of_minus_infinity_route_their_gradient_as_aten():
    x = torch.full((1, 1, 5, 5), float("-inf"))
    x[0, 0, 4, 4] = 1.0
    grads = []
    for pool in (StemMaxPool(), nn.MaxPool2d(3, 2, 1)):
        leaf = x.clone().requires_grad_()
        pool(leaf).sum().backward()
        grads.append(leaf.grad)
    assert torch.equal(*grads)


def test_channels_last_input_keeps_its_memory_format():
    """A channels-last map (a channels_last run) stays channels-last, with and without gradients."""
    x = activations((2, 4, 9, 9), seed=0).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain = StemMaxPool()(x)
    tracked = StemMaxPool()(x.clone().requires_grad_())
    for out in (plain, tracked):
        assert out.is_contiguous(memory_format=torch.channels_last)
        assert torch.equal(out, nn.MaxPool2d(3, 2, 1)(x))


def test_trunk_step_matches_torchvision_resnet():
    """A whole ResNet-18 forward and backward: the same loss and gradients as torchvision's model."""
    torch.manual_seed(0)
    trunk = ResNetTrunk("resnet18")
    reference = resnet18()
    reference.load_state_dict(trunk.state_dict(), strict=False)
    x = torch.randn(4, 3, 64, 64, generator=torch.Generator().manual_seed(2))

    stem = reference.maxpool(reference.relu(reference.bn1(reference.conv1(x))))
    c5 = reference.layer4(reference.layer3(reference.layer2(reference.layer1(stem))))
    losses = [trunk(x).square().mean(), c5.square().mean()]
    for loss in losses:
        loss.backward()
    assert isinstance(trunk.maxpool, StemMaxPool)
    assert torch.equal(*losses)
    for name, parameter in trunk.named_parameters():
        assert torch.equal(parameter.grad, reference.get_parameter(name).grad), name
