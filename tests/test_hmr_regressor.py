"""HMR's IEF regressor: RSC-Net's fc -> ReLU -> dropout, twice, and SPIN's without the ReLUs."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional

from suite.models.hmr import Hmr, rot6d_to_rotmat


class Features(nn.Module):
    """A trunk that passes its input on: the images are the feature maps."""

    num_channels = 16

    def forward(self, x: Tensor) -> Tensor:
        return x


def _model(relu: bool) -> Hmr:
    torch.manual_seed(0)
    mean_pose = torch.randn(144)
    model = Hmr(Features(), mean_pose, torch.randn(10), torch.tensor([0.9, 0.0, 0.1]), relu=relu)
    for decoder in (model.decpose, model.decshape, model.deccam):  # large enough to matter
        nn.init.normal_(decoder.weight, std=0.05)
    return model.eval()


def _by_hand(model: Hmr, images: Tensor, relu: bool) -> tuple[Tensor, Tensor, Tensor]:
    activation = functional.relu if relu else (lambda x: x)
    features = images.mean(dim=(2, 3))
    n = len(features)
    pose = model.init_pose.expand(n, -1)
    shape = model.init_shape.expand(n, -1)
    cam = model.init_cam.expand(n, -1)
    for _ in range(3):
        x = torch.cat([features, pose, shape, cam], 1)
        x = activation(model.fc2(activation(model.fc1(x))))  # dropout: the identity in eval mode
        pose, shape, cam = model.decpose(x) + pose, model.decshape(x) + shape, model.deccam(x) + cam
    return rot6d_to_rotmat(pose.reshape(n, 24, 6)), shape, cam


def test_the_regressor_has_rsc_nets_relus_or_none_as_spins():
    images = torch.randn(4, 16, 3, 3)
    outputs = {}
    for relu in (True, False):
        model = _model(relu)
        with torch.no_grad():
            output = model(images)
            rotmat, betas, cam = _by_hand(model, images, relu)
        assert torch.allclose(output.rotmat, rotmat, atol=1e-6)
        assert torch.allclose(output.betas, betas, atol=1e-6) and torch.allclose(output.cam, cam, atol=1e-6)
        outputs[relu] = output
    # the two differ (same weights: the seed), and load each other's checkpoints
    assert not torch.allclose(outputs[True].betas, outputs[False].betas, atol=1e-4)
    assert _model(True).state_dict().keys() == _model(False).state_dict().keys()
    assert _model(True).load_state_dict(_model(False).state_dict())


def test_the_relu_comes_before_each_dropout():
    model = _model(True).train()
    calls = []
    for name in ("fc1", "relu", "drop1", "fc2", "drop2"):
        getattr(model, name).register_forward_hook(lambda module, args, out, name=name: calls.append(name))
    model(torch.randn(2, 16, 3, 3))
    assert calls[:6] == ["fc1", "relu", "drop1", "fc2", "relu", "drop2"]
