"""Inverse geometric alignment: the same aligned position holds the same original-image location.

The "image" is a coordinate map: channel 0 holds each pixel's x centre, channel 1 its y centre, a
linear function that bilinear resampling reproduces exactly. Views are cut from it with
torchvision's resized_crop at the recorded crop box (and flipped), then aligned as feature maps.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF

from suite.pretrain.alignment import inverse_align, shared_region

H, W = 240, 320  # original image
S = 16  # aligned size

# (top, left, height, width) pairs: nested, nested touching the outer edges, partial overlaps,
# a thin overlap, both the whole image
BOXES = {
    "nested": ((20, 30, 200, 260), (60, 100, 90, 120)),
    "nested_touching_edges": ((0, 0, 240, 320), (0, 200, 130, 120)),
    "partial": ((10, 20, 150, 180), (70, 120, 160, 190)),
    "partial_other_corner": ((90, 150, 140, 160), (5, 40, 170, 200)),
    "thin": ((0, 0, 120, 160), (100, 140, 120, 150)),
    "same": ((0, 0, 240, 320), (0, 0, 240, 320)),
}
FLIPS = [(False, False), (True, False), (False, True), (True, True)]


def coordinate_image() -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(H) + 0.5, torch.arange(W) + 0.5, indexing="ij")
    return torch.stack([xs, ys]).float()  # (2, H, W): (x, y) of every pixel centre


def view(image: torch.Tensor, box, flipped: bool, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A view resized to size×size (a feature map at that resolution) and its geometry row."""
    top, left, height, width = box
    out = TF.resized_crop(image, top, left, height, width, [size, size], antialias=False)
    if flipped:
        out = TF.hflip(out)
    geometry = torch.tensor([top, left, height, width, float(flipped), H, W], dtype=torch.float32)
    return out, geometry


def truth(box_q, box_k) -> torch.Tensor:
    """(2, S, S): the original (x, y) of every aligned position, the shared region's cell centres."""
    top, left = max(box_q[0], box_k[0]), max(box_q[1], box_k[1])
    bottom = min(box_q[0] + box_q[2], box_k[0] + box_k[2])
    right = min(box_q[1] + box_q[3], box_k[1] + box_k[3])
    centres = (torch.arange(S) + 0.5) / S
    ys, xs = torch.meshgrid(top + centres * (bottom - top), left + centres * (right - left), indexing="ij")
    return torch.stack([xs, ys])


def inside_cell_centres(points: torch.Tensor, box, size: int) -> torch.Tensor:
    """(S, S) bool: the position lies between the map's outermost cell centres (exact interpolation)."""
    top, left, height, width = box
    x, y = points
    half_x, half_y = width / size / 2, height / size / 2
    inside_x = (x >= left + half_x - 1e-4) & (x <= left + width - half_x + 1e-4)
    inside_y = (y >= top + half_y - 1e-4) & (y <= top + height - half_y + 1e-4)
    return inside_x & inside_y


@pytest.mark.parametrize("map_size", [8, 64])
@pytest.mark.parametrize("flip_q, flip_k", FLIPS)
@pytest.mark.parametrize("case", sorted(BOXES))
def test_same_position_same_original_location(case, flip_q, flip_k, map_size):
    box_q, box_k = BOXES[case]
    image = coordinate_image()
    f_q, g_q = view(image, box_q, flip_q, map_size)
    f_k, g_k = view(image, box_k, flip_k, map_size)
    a_q, a_k, overlap = inverse_align(f_q[None], f_k[None], g_q[None], g_k[None], S)
    assert overlap.tolist() == [True]
    expected = truth(box_q, box_k)
    for aligned, box in ((a_q[0], box_q), (a_k[0], box_k)):
        error = (aligned - expected).abs()
        # everywhere: within half a map cell (edge samples read the edge cell, padding "border")
        assert (error[0] <= box[3] / map_size / 2 + 1e-3).all()
        assert (error[1] <= box[2] / map_size / 2 + 1e-3).all()
        # between the outermost cell centres bilinear sampling of a linear map is exact
        exact = inside_cell_centres(expected, box, map_size)
        assert exact.sum() >= S * S // 4
        assert error[:, exact].max() < 1e-3
    both = inside_cell_centres(expected, box_q, map_size) & inside_cell_centres(expected, box_k, map_size)
    assert torch.allclose(a_q[0][:, both], a_k[0][:, both], atol=1e-3)


def test_batch_mixes_cases_and_flips():
    """A batch aligns each sample with its own geometry (no mixing between rows)."""
    image = coordinate_image()
    rows = [(BOXES[case], flips) for case, flips in zip(sorted(BOXES), FLIPS * 2, strict=False)]
    views = [(view(image, bq, fq, 8), view(image, bk, fk, 8)) for (bq, bk), (fq, fk) in rows]
    f_q = torch.stack([q[0] for q, _ in views])
    f_k = torch.stack([k[0] for _, k in views])
    g_q = torch.stack([q[1] for q, _ in views])
    g_k = torch.stack([k[1] for _, k in views])
    a_q, a_k, overlap = inverse_align(f_q, f_k, g_q, g_k, S)
    assert overlap.all()
    for n, ((box_q, box_k), _) in enumerate(rows):
        single_q, single_k, _ = inverse_align(
            f_q[n : n + 1], f_k[n : n + 1], g_q[n : n + 1], g_k[n : n + 1], S
        )
        assert torch.equal(a_q[n], single_q[0]) and torch.equal(a_k[n], single_k[0])
        assert (a_q[n] - truth(box_q, box_k)).abs().max() < box_q[3] / 16 + 1e-3


@pytest.mark.parametrize(
    "box_q, box_k",
    [
        ((0, 0, 100, 100), (120, 150, 100, 100)),  # disjoint
        ((0, 0, 100, 100), (0, 100, 100, 100)),  # touching along a vertical edge: zero area
        ((0, 0, 100, 100), (100, 0, 100, 100)),  # touching along a horizontal edge
        ((0, 0, 100, 100), (100, 100, 50, 50)),  # touching at a corner
    ],
)
def test_no_overlap_is_flagged(box_q, box_k):
    image = coordinate_image()
    f_q, g_q = view(image, box_q, False, 8)
    f_k, g_k = view(image, box_k, True, 8)
    a_q, a_k, overlap = inverse_align(f_q[None], f_k[None], g_q[None], g_k[None], S)
    assert overlap.tolist() == [False]
    assert a_q.shape == a_k.shape == (1, 2, S, S)
    assert torch.isfinite(a_q).all() and torch.isfinite(a_k).all()


def test_shared_region_is_the_intersection():
    g_q = torch.tensor([[10.0, 20.0, 100.0, 50.0, 0, H, W]])
    g_k = torch.tensor([[40.0, 5.0, 30.0, 200.0, 1, H, W]])
    region, overlap = shared_region(g_q, g_k)
    assert region.tolist() == [[40.0, 20.0, 70.0, 70.0]] and overlap.tolist() == [True]


def official_reference(feature, geometry, region, size):
    """The official code's steps (pretraining-methods.md §1.5), one sample: flip, slice, resize."""
    top, left, height, width, flipped = geometry[:5].tolist()
    if flipped:
        feature = feature.flip(-1)
    h, w = feature.shape[-2:]
    rows = [math.floor(h * (float(v) - top) / height + 0.5) for v in (region[0], region[2])]
    cols = [math.floor(w * (float(v) - left) / width + 0.5) for v in (region[1], region[3])]
    piece = feature[:, rows[0] : rows[1], cols[0] : cols[1]]
    if piece.numel() == 0:
        return None
    return F.interpolate(piece[None], size=(size, size), mode="bilinear", align_corners=True)[0]


def test_official_rounding_matches_the_official_steps():
    generator = torch.Generator().manual_seed(0)
    n = 12
    f_q, f_k = torch.randn(n, 3, 8, 8, generator=generator), torch.randn(n, 3, 8, 8, generator=generator)

    def boxes():
        size = torch.randint(40, 200, (n, 2), generator=generator).float()
        corner = torch.rand(n, 2, generator=generator) * (torch.tensor([H, W]) - size)
        flips = torch.randint(0, 2, (n, 1), generator=generator).float()
        return torch.cat([corner.round(), size, flips, torch.full((n, 2), 0.0) + torch.tensor([H, W])], 1)

    g_q, g_k = boxes(), boxes()
    g_k[0, :4] = torch.tensor([0.0, 0.0, 30.0, 30.0])  # tiny box: rounds to an empty slice
    g_q[0, :4] = torch.tensor([20.0, 20.0, 200.0, 200.0])
    a_q, a_k, overlap = inverse_align(f_q, f_k, g_q, g_k, S, rounding="official")
    region, _ = shared_region(g_q, g_k)
    assert not overlap[0] and overlap.sum() >= n // 2
    for i in range(n):
        expected_q = official_reference(f_q[i], g_q[i], region[i], S)
        expected_k = official_reference(f_k[i], g_k[i], region[i], S)
        if expected_q is None or expected_k is None:
            assert not overlap[i]
            continue
        assert overlap[i]
        torch.testing.assert_close(a_q[i], expected_q, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(a_k[i], expected_k, atol=1e-5, rtol=1e-5)


def test_alignment_is_differentiable():
    f_q = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    f_k = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    g_q = torch.tensor([[0, 0, 50, 60, 1, 100, 100], [10, 10, 80, 80, 0, 100, 100]], dtype=torch.float64)
    g_k = torch.tensor([[20, 30, 60, 60, 0, 100, 100], [0, 0, 50, 50, 1, 100, 100]], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda f: inverse_align(f, f_k, g_q, g_k, 4)[0], (f_q,))
