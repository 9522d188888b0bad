"""Heatmap pose (suite.finetune.heatmap, suite.models.simple_baseline): targets against a hand computation
and mmpose's encoder, the loss against the official per-joint loop, the flip test, decoding, and the
whole test-time decoding (flip + shift + quarter offset + inverse affine) on Gaussian heatmaps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mmpose.codecs.utils import generate_gaussian_heatmaps
from torch import nn

from suite.data.affine import apply_affine, crop_affine, invert_affine
from suite.data.skeleton import COCO_FLIP_PAIRS, MPII_FLIP_PAIRS
from suite.errors import SuiteError
from suite.finetune.heatmap import (
    decode,
    encode,
    flip_back,
    joints_mse_loss,
    multiview_joints_mse_loss,
    predict_heatmaps,
    swap_channels,
    to_image,
)
from suite.finetune.topdown import flip_joints
from suite.models.backbone import ResNetTrunk
from suite.models.simple_baseline import SimpleBaseline, check_sizes


def hand_gaussian(mu_x: int, mu_y: int, width: int, height: int, sigma: float = 2.0) -> np.ndarray:
    """exp(−d² / 2σ²) within 3σ of (mu_x, mu_y) on each axis, 0 elsewhere."""
    out = np.zeros((height, width))
    for y in range(height):
        for x in range(width):
            if abs(x - mu_x) <= 3 * sigma and abs(y - mu_y) <= 3 * sigma:
                out[y, x] = math.exp(-((x - mu_x) ** 2 + (y - mu_y) ** 2) / (2 * sigma**2))
    return out


def test_targets_match_a_hand_computation():
    joints = np.array(
        [
            [37.0, 21.0],  # stride 4: μ = (int(9.75), int(5.75)) = (9, 5)
            [-10.0, 3.0],  # μ_x = int(−2.0) = −2: the patch is clipped at the left border
            [-40.0, 10.0],  # μ_x = int(−9.5) = −9: the patch lies wholly outside, weight 0
            [100.0, 200.0],  # not visible: weight 0, no map
            [191.0, 255.0],  # μ = (int(48.25), int(64.25)) = (48, 64), just outside: clipped patch
        ]
    )
    visible = np.array([1, 1, 1, 0, 1])
    target, weight = encode(joints, visible, (192, 256), (48, 64))
    assert target.shape == (5, 64, 48) and target.dtype == np.float32
    np.testing.assert_array_equal(weight, [1, 1, 0, 0, 1])
    np.testing.assert_allclose(target[0], hand_gaussian(9, 5, 48, 64), atol=1e-7)
    assert target[0, 5, 9] == 1 and target[0, 5, 16] == 0 and target[0, 11, 9] > 0
    np.testing.assert_allclose(target[1], hand_gaussian(-2, 1, 48, 64), atol=1e-7)
    assert not target[2].any() and not target[3].any()
    np.testing.assert_allclose(target[4], hand_gaussian(48, 64, 48, 64), atol=1e-7)


def test_targets_match_mmpose_msra_encoding():
    rng = np.random.default_rng(0)
    joints = rng.uniform(-30, 290, size=(40, 2))
    visible = (rng.uniform(size=40) > 0.2).astype(np.float32)
    ours, our_weight = encode(joints, visible, (256, 256), (64, 64), sigma=2.0)
    theirs, their_weight = generate_gaussian_heatmaps((64, 64), joints[None] / 4, visible[None], 2.0)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(our_weight, their_weight[0])


def test_loss_is_the_official_per_joint_loop():
    torch.manual_seed(0)
    pred, gt = torch.randn(3, 4, 8, 6), torch.rand(3, 4, 8, 6)
    weight = torch.tensor([[1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0], [0.0, 1.0, 1.0, 1.0]])
    mse = nn.MSELoss()
    official = sum(
        0.5
        * mse(
            pred[:, k].reshape(3, -1) * weight[:, k : k + 1], gt[:, k].reshape(3, -1) * weight[:, k : k + 1]
        )
        for k in range(4)
    )
    by_hand = sum(
        0.5 * weight[n, k] ** 2 * ((pred[n, k] - gt[n, k]) ** 2).sum() for n in range(3) for k in range(4)
    ) / (3 * 4 * 8 * 6)
    assert joints_mse_loss(pred, gt, weight).item() == pytest.approx(official.item() / 4, rel=1e-6)
    assert joints_mse_loss(pred, gt, weight).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_multiview_loss_is_the_repos_per_joint_loop_summed_over_views():
    """lib/core/loss.py of the multiview repo (nn.MSELoss per joint, summed, no 0.5) on each view's
    batch, the views' losses added (function.train): the same as the suite's loss on the views' images
    in one batch, which is 2·K·V times HRNet's."""
    torch.manual_seed(1)
    views, per_view, joints = 4, 2, 5
    pred, gt = torch.randn(views * per_view, joints, 6, 4), torch.rand(views * per_view, joints, 6, 4)
    weight = (torch.rand(views * per_view, joints) > 0.3).float()
    mse = nn.MSELoss()
    official = sum(
        mse(
            pred[v::views, k].reshape(per_view, -1) * weight[v::views, k : k + 1],
            gt[v::views, k].reshape(per_view, -1) * weight[v::views, k : k + 1],
        )
        for v in range(views)
        for k in range(joints)
    )
    ours = multiview_joints_mse_loss(pred, gt, weight, views)
    assert ours.item() == pytest.approx(official.item(), rel=1e-6)
    assert ours.item() == pytest.approx(
        2 * joints * views * joints_mse_loss(pred, gt, weight).item(), rel=1e-6
    )


def test_flip_back_mirrors_swaps_and_shifts():
    maps = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).reshape(2, 3, 2, 4)
    back = flip_back(maps, ((0, 2),), shift=False)
    torch.testing.assert_close(back[:, 0], maps[:, 2].flip(2))
    torch.testing.assert_close(back[:, 1], maps[:, 1].flip(2))
    shifted = flip_back(maps, ((0, 2),))
    torch.testing.assert_close(shifted[..., 1:], back[..., :-1])
    torch.testing.assert_close(shifted[..., 0], back[..., 0])  # column 0 keeps its value
    torch.testing.assert_close(swap_channels(swap_channels(maps, ((0, 2),)), ((0, 2),)), maps)


def test_decoding_argmax_quarter_offset_and_its_border_rule():
    maps = np.zeros((1, 4, 8, 10), dtype=np.float32)
    maps[0, 0, 3, 5], maps[0, 0, 3, 6], maps[0, 0, 2, 5] = 1.0, 0.5, 0.2  # right and up neighbours higher
    maps[0, 1, 4, 1], maps[0, 1, 4, 2] = 1.0, 0.5  # px = 1: no offset (mmpose would move x)
    maps[0, 2, 1, 4], maps[0, 2, 1, 5] = 1.0, 0.5  # py = 1: no offset at all
    maps[0, 3] = -1.0  # maximum <= 0: coordinates 0
    maps[0, 3, 5, 5] = -0.5
    coords, scores = decode(maps)
    np.testing.assert_allclose(coords[0], [[5.25, 2.75], [1, 4], [4, 1], [0, 0]])
    np.testing.assert_allclose(scores[0], [1.0, 1.0, 1.0, -0.5])
    raw, _ = decode(maps, post_process=False)
    np.testing.assert_allclose(raw[0], [[5, 3], [1, 4], [4, 1], [0, 0]])


def test_to_image_is_transform_preds():
    center, scale = np.array([[150.0, 120.0]]), np.array([[90.0, 120.0]])
    coords = np.array([[[0.0, 0.0], [12.0, 16.0], [47.5, 10.25]]])
    expected = center[:, None] - scale[:, None] / 2 + coords * (scale[0, 0] / 48)
    np.testing.assert_allclose(to_image(coords, center, scale, (48, 64)), expected, atol=1e-9)


def decode_gaussians(image_joints, center, scale, input_size, heatmap_size, flip_pairs, shift=True):
    """The test-time decoding of the heatmaps a perfect model gives: each joint's Gaussian target for the
    crop and for the mirrored crop, flip-averaged, decoded, mapped back to the image."""
    to_crop = crop_affine(center, scale[0], 0.0, input_size)
    joints = apply_affine(to_crop, image_joints)
    visible = np.ones(len(joints))
    direct, _ = encode(joints, visible, input_size, heatmap_size)
    mirrored, _ = encode(*flip_joints(joints, visible, input_size[0], flip_pairs), input_size, heatmap_size)
    averaged = (
        torch.from_numpy(direct)[None] + flip_back(torch.from_numpy(mirrored)[None], flip_pairs, shift)
    ) / 2
    coords, _ = decode(averaged.numpy())
    return to_image(coords, center[None], scale[None], heatmap_size)[0]


SIZES = [
    ((192, 256), (48, 64), COCO_FLIP_PAIRS),
    ((256, 256), (64, 64), MPII_FLIP_PAIRS),
    ((64, 64), (16, 16), MPII_FLIP_PAIRS),
]


@pytest.mark.parametrize(("input_size", "heatmap_size", "pairs"), SIZES)
def test_test_time_decoding_recovers_joints_from_their_own_heatmaps(input_size, heatmap_size, pairs):
    """Joints on the heatmap's grid come back within a quarter heatmap pixel (here exactly); anywhere
    else within the half pixel to which the targets round them."""
    rng = np.random.default_rng(1)
    joints_count = 1 + max(max(pair) for pair in pairs)
    center = np.array([210.3, 160.7])
    scale = np.array([1.0, input_size[1] / input_size[0]]) * 173.0  # the input's aspect
    stride = input_size[0] / heatmap_size[0]
    hm_pixel = scale[0] / heatmap_size[0]  # image pixels per heatmap pixel
    to_image_px = invert_affine(crop_affine(center, scale[0], 0.0, input_size))
    for _ in range(5):
        on_grid = rng.integers(3, np.array(heatmap_size) - 3, size=(joints_count, 2)) * stride
        truth = apply_affine(to_image_px, on_grid)
        found = decode_gaussians(truth, center, scale, input_size, heatmap_size, pairs)
        assert np.abs(found - truth).max() / hm_pixel <= 0.25 + 1e-9
        anywhere = rng.uniform(3 * stride, (np.array(heatmap_size) - 3) * stride, size=(joints_count, 2))
        truth = apply_affine(to_image_px, anywhere)
        found = decode_gaussians(truth, center, scale, input_size, heatmap_size, pairs)
        assert np.abs(found - truth).max() / hm_pixel <= 0.5 + 1e-9
        # without the one-pixel shift the two maps disagree by a pixel and the check fails
        unshifted = decode_gaussians(
            apply_affine(to_image_px, on_grid), center, scale, input_size, heatmap_size, pairs, shift=False
        )
        assert np.abs(unshifted - apply_affine(to_image_px, on_grid)).max() / hm_pixel == pytest.approx(0.75)


def test_simple_baseline_shapes_init_and_flip_test():
    torch.manual_seed(0)
    model = SimpleBaseline(ResNetTrunk("resnet18"), 16).eval()
    heatmaps = model(torch.randn(2, 3, 128, 96))
    assert heatmaps.shape == (2, 16, 32, 24)
    deconvs = [m for m in model.deconv_layers if isinstance(m, nn.ConvTranspose2d)]
    assert len(deconvs) == 3 and all(m.bias is None and m.weight.std() < 0.0012 for m in deconvs)
    assert deconvs[0].weight.shape == (512, 256, 4, 4)
    assert model.final_layer.bias.abs().max() == 0 and model.final_layer.weight.std() < 0.0012
    bn = [m for m in model.deconv_layers if isinstance(m, nn.BatchNorm2d)]
    assert all((m.weight == 1).all() and (m.bias == 0).all() for m in bn)
    images = torch.randn(2, 3, 64, 48)
    flipped = predict_heatmaps(model, images, MPII_FLIP_PAIRS)
    expected = (model(images) + flip_back(model(images.flip(3)), MPII_FLIP_PAIRS)) / 2
    torch.testing.assert_close(flipped, expected)
    torch.testing.assert_close(predict_heatmaps(model, images, None), model(images))


def test_sizes_the_model_cannot_produce_are_refused():
    check_sizes((192, 256), (48, 64))
    for input_size, heatmap_size in (((48, 48), (12, 12)), ((64, 64), (32, 32))):
        with pytest.raises(SuiteError, match="do not fit SimpleBaseline"):
            check_sizes(input_size, heatmap_size)
