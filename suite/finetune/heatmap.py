"""Heatmap pose, as SimpleBaseline / HRNet do it: Gaussian targets, their loss, the flip test, decoding.

Source: leoxiaobin/deep-high-resolution-net.pytorch lib/dataset/JointsDataset.py (generate_target),
lib/core/loss.py (JointsMSELoss), lib/core/function.py (validate: flip test), lib/core/inference.py
(get_max_preds, get_final_preds), lib/utils/transforms.py (flip_back, transform_preds);
downstream-protocols.md §1.2 and §1.4. Any number of joints, any input and heatmap size.

- Targets: joint j (input pixels) -> μ = int(j / stride + 0.5) per axis (stride = input / heatmap
  size; int truncates toward zero, as Python's int), an unnormalised Gaussian of σ heatmap pixels (peak
  1) on a (6σ + 1)² patch about μ, clipped at the borders. Weight = visibility, 0 when the patch lies
  wholly outside the heatmap; weight 0 leaves the map all zero. (mmpose's MSRAHeatmap encodes the
  same; tests/test_heatmap.py compares them.)
- Loss: (1/K) Σ_k 0.5 · mean_{batch, pixels}((pred_k − gt_k)·w_k)², the official 0.5 included. The
  multiview repo's (h36m-2d) has neither the 0.5 nor the 1/K and adds its views' losses:
  V · Σ_k mean_{batch, pixels}(...)², 2·K·V times HRNet's (its lib/core/loss.py and function.train).
- Flip test: the heatmaps of the mirrored input, mirrored back along W, left/right channels swapped,
  shifted right by one pixel (column 0 keeps its value), averaged with the direct heatmaps.
- Decoding: argmax per channel (its value the score; coordinates 0 where it is ≤ 0); the quarter
  offset 0.25·sign(neighbour difference) on both axes only when 1 < px < W − 1 and 1 < py < H − 1
  (px, py the rounded argmax); heatmap pixels -> image pixels by the inverse of the crop's affine at
  heatmap size without rotation (no half-pixel correction, as the official transform_preds).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from suite.data.affine import apply_affine, crop_affine, invert_affine

SIGMA = 2.0  # heatmap pixels
RADIUS_SIGMAS = 3  # the patch is (2·3σ + 1)² pixels
QUARTER = 0.25


def encode(
    joints: np.ndarray,
    visible: np.ndarray,
    input_size: tuple[int, int],
    heatmap_size: tuple[int, int],
    sigma: float = SIGMA,
) -> tuple[np.ndarray, np.ndarray]:
    """Targets (K, H, W) float32 and weights (K,) float32 of joints (K, 2) in input pixels with their
    visibilities (K,); sizes are (width, height)."""
    width, height = heatmap_size
    stride = (input_size[0] / width, input_size[1] / height)
    radius = sigma * RADIUS_SIGMAS
    target = np.zeros((len(joints), height, width), dtype=np.float32)
    weight = np.array(visible, dtype=np.float32)
    diameter = int(2 * radius + 1)
    x = np.arange(0, diameter, 1, np.float32)
    y = x[:, None]
    x0 = y0 = diameter // 2
    gaussian = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * sigma**2))
    for k, (jx, jy) in enumerate(np.asarray(joints, dtype=np.float64)):
        mu_x, mu_y = int(jx / stride[0] + 0.5), int(jy / stride[1] + 0.5)
        left, top = int(mu_x - radius), int(mu_y - radius)
        right, bottom = int(mu_x + radius + 1), int(mu_y + radius + 1)
        if left >= width or top >= height or right < 0 or bottom < 0:
            weight[k] = 0.0
            continue
        if weight[k] > 0.5:
            target[k, max(0, top) : min(bottom, height), max(0, left) : min(right, width)] = gaussian[
                max(0, -top) : min(bottom, height) - top, max(0, -left) : min(right, width) - left
            ]
    return target, weight


def joints_mse_loss(heatmaps: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """JointsMSELoss with target weights: heatmaps and target (N, K, H, W), weight (N, K)."""
    w = weight.reshape(*weight.shape[:2], 1, 1)
    return 0.5 * (heatmaps * w - target * w).pow(2).mean()


def multiview_joints_mse_loss(heatmaps: Tensor, target: Tensor, weight: Tensor, views: int) -> Tensor:
    """The multiview repo's JointsMSELoss summed over its `views` views: a batch of single images
    stands for the views' batches, each a mean over its images, so views x the sum over joints of the
    mean over the batch and pixels. Only Adam's ε sees its scale: 160x HRNet's (K 20, 4 views)."""
    w = weight.reshape(*weight.shape[:2], 1, 1)
    return views * (heatmaps * w - target * w).pow(2).mean(dim=(0, 2, 3)).sum()


def swap_channels(heatmaps: Tensor, flip_pairs: Sequence[tuple[int, int]]) -> Tensor:
    """Left and right joints' channels (dimension 1) exchanged."""
    order = list(range(heatmaps.shape[1]))
    for left, right in flip_pairs:
        order[left], order[right] = right, left
    return heatmaps[:, order]


def flip_back(heatmaps: Tensor, flip_pairs: Sequence[tuple[int, int]], shift: bool = True) -> Tensor:
    """Heatmaps (N, K, H, W) of the mirrored input in the unmirrored input's terms: mirrored along W,
    pairs swapped, and with `shift` moved right by one pixel (SHIFT_HEATMAP; column 0 stays)."""
    back = swap_channels(heatmaps.flip(3), flip_pairs)
    if shift:
        back = torch.cat([back[..., :1], back[..., :-1]], dim=3)
    return back


@torch.inference_mode()
def predict_heatmaps(
    model: nn.Module, images: Tensor, flip_pairs: Sequence[tuple[int, int]] | None, shift: bool = True
) -> Tensor:
    """The model's heatmaps of (N, 3, H, W) images; with flip_pairs the flip test's average of the
    direct heatmaps and flip_back(heatmaps of the mirrored images)."""
    heatmaps = model(images)
    if flip_pairs is None:
        return heatmaps
    return (heatmaps + flip_back(model(images.flip(3)), flip_pairs, shift)) * 0.5


def decode(heatmaps: np.ndarray, post_process: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap coordinates (N, K, 2) and scores (N, K) of heatmaps (N, K, H, W) (get_max_preds, then
    get_final_preds' quarter offset with post_process)."""
    heatmaps = np.asarray(heatmaps)
    n, k, height, width = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    index = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    coords = np.stack([index % width, index // width], axis=2).astype(np.float64)
    coords *= (maxvals > 0)[..., None]
    if post_process:
        px, py = np.floor(coords + 0.5).astype(np.int64).transpose(2, 0, 1)
        inside = (px > 1) & (px < width - 1) & (py > 1) & (py < height - 1)
        nn_, kk = np.nonzero(inside)
        x, y = px[inside], py[inside]
        dx = heatmaps[nn_, kk, y, x + 1] - heatmaps[nn_, kk, y, x - 1]
        dy = heatmaps[nn_, kk, y + 1, x] - heatmaps[nn_, kk, y - 1, x]
        coords[inside] += np.sign(np.stack([dx, dy], axis=1)) * QUARTER
    return coords, maxvals


def to_image(
    coords: np.ndarray, center: np.ndarray, scale: np.ndarray, heatmap_size: tuple[int, int]
) -> np.ndarray:
    """Heatmap coordinates (N, K, 2) -> image pixels through each crop's inverse affine at heatmap size
    (transform_preds): center (N, 2) and scale (N, 2), the crop's width and height in image pixels."""
    out = np.empty(np.shape(coords), dtype=np.float64)
    for i in range(len(out)):
        to_crop = crop_affine(center[i], float(scale[i][0]), 0.0, tuple(heatmap_size))
        out[i] = apply_affine(invert_affine(to_crop), coords[i])
    return out
