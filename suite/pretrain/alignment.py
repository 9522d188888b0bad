"""Inverse geometric alignment of two views' dense maps (LiftedCL eq. 3, appendix C).

F̃ = (t_g)^-1(F): each view's map is un-flipped, the region both crop boxes share in the original
image is cut out of it and resampled to S×S, so that position s of F̃_q and of F̃_k sees the same
original-image location. Both steps are done at once by one bilinear `grid_sample` per map on a
sampling grid computed from the geometry, so the query side stays differentiable.

Coordinates (align_corners=False semantics throughout):
  - original-image pixel r covers [r, r + 1]; a crop box (top, left, height, width) covers
    [top, top + height] × [left, left + width], as RandomResizedCrop and resized_crop use it;
  - a map of h×w cells spans its crop box edge to edge: cell i is centred at (i + 0.5) / h of the
    box (the view is the box resized, the map is the view at stride S_view / h);
  - the S×S output divides the shared region into S×S equal cells and samples each at its centre,
    so every sample lies inside both crop boxes. Samples within half a map cell of a crop edge fall
    outside the map's outermost cell centres and read the edge cell (padding "border").
  - a horizontal flip maps crop fraction u to 1 − u, so un-flipping the map before sampling is the
    same as sampling the stored (flipped) map at 1 − u; that is what we do.

`rounding="official"` reproduces the official code instead (pretraining-methods.md §1.5): the
shared region is rounded to whole cells of the map (round(h·fraction), round = floor(x + 0.5)),
that slice is resized to S×S with align_corners=True; a sample whose slice is empty in either view
does not overlap.

No overlap (the crop boxes' intersection has zero area, or an empty official slice): the sample's
`overlap` flag is False and its aligned maps are meaningless (sampled from a degenerate box, finite);
the equivariant loss leaves such samples out of its mean (see liftedcl.equivariant_loss).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from suite.pretrain.liftedcl_settings import ROUNDINGS


def shared_region(geometry_q: Tensor, geometry_k: Tensor) -> tuple[Tensor, Tensor]:
    """The intersection of the two crop boxes in original-image pixels.

    geometry rows: [top, left, height, width, flipped, image_height, image_width] (ViewBatch).
    Returns boxes (N, 4) as [top, left, bottom, right] and overlap (N,) bool: positive area.
    """
    top = torch.maximum(geometry_q[:, 0], geometry_k[:, 0])
    left = torch.maximum(geometry_q[:, 1], geometry_k[:, 1])
    bottom = torch.minimum(geometry_q[:, 0] + geometry_q[:, 2], geometry_k[:, 0] + geometry_k[:, 2])
    right = torch.minimum(geometry_q[:, 1] + geometry_q[:, 3], geometry_k[:, 1] + geometry_k[:, 3])
    overlap = (bottom > top) & (right > left)
    return torch.stack([top, left, bottom, right], dim=1), overlap


def _exact_axis(start: Tensor, end: Tensor, crop_start: Tensor, crop_size: Tensor, size: int) -> Tensor:
    """Normalised grid coordinates (N, size) of the centres of `size` equal cells of [start, end]."""
    centres = (torch.arange(size, device=start.device, dtype=start.dtype) + 0.5) / size
    location = start[:, None] + centres[None] * (end - start)[:, None]  # original-image pixels
    fraction = (location - crop_start[:, None]) / crop_size[:, None]  # 0..1 across the crop box
    return 2.0 * fraction - 1.0


def _official_axis(
    start: Tensor, end: Tensor, crop_start: Tensor, crop_size: Tensor, cells: int, size: int
) -> tuple[Tensor, Tensor]:
    """The official whole-cell slice [round(cells·low), round(cells·high)) resized with align_corners=True.

    Returns normalised grid coordinates (N, size) and whether the slice is non-empty (N,).
    """
    first = torch.floor(cells * (start - crop_start) / crop_size + 0.5)
    stop = torch.floor(cells * (end - crop_start) / crop_size + 0.5)  # exclusive
    steps = torch.arange(size, device=start.device, dtype=start.dtype) / max(size - 1, 1)
    index = first[:, None] + steps[None] * (stop - first - 1).clamp(min=0)[:, None]  # cell index
    return (2.0 * index + 1.0) / cells - 1.0, stop > first


def sampling_grid(
    geometry: Tensor, region: Tensor, size: int, map_size: tuple[int, int], rounding: str = "exact"
) -> tuple[Tensor, Tensor]:
    """Where to sample one view's stored map: a grid (N, size, size, 2) for grid_sample, and validity (N,).

    region: (N, 4) [top, left, bottom, right] from shared_region; map_size: (h, w) of the map.
    """
    if rounding not in ROUNDINGS:
        raise ValueError(f"unknown rounding {rounding!r}: use one of {ROUNDINGS}")
    dtype = torch.promote_types(geometry.dtype, torch.float32)
    geometry, region = geometry.to(dtype), region.to(dtype)
    top, left, height, width, flipped = geometry[:, :5].unbind(1)
    if rounding == "exact":
        rows = _exact_axis(region[:, 0], region[:, 2], top, height, size)
        cols = _exact_axis(region[:, 1], region[:, 3], left, width, size)
        valid = torch.ones_like(flipped, dtype=torch.bool)
    else:
        rows, valid_rows = _official_axis(region[:, 0], region[:, 2], top, height, map_size[0], size)
        cols, valid_cols = _official_axis(region[:, 1], region[:, 3], left, width, map_size[1], size)
        valid = valid_rows & valid_cols
    cols = torch.where(flipped[:, None] > 0.5, -cols, cols)  # undo the flip: u -> 1 - u
    grid = torch.stack(torch.broadcast_tensors(cols[:, None, :], rows[:, :, None]), dim=-1)  # (x, y)
    return grid, valid


def inverse_align(
    features_q: Tensor,
    features_k: Tensor,
    geometry_q: Tensor,
    geometry_k: Tensor,
    size: int = 16,
    rounding: str = "exact",
) -> tuple[Tensor, Tensor, Tensor]:
    """F̃_q, F̃_k (N, C, size, size) (float32 or float64) on the shared region, and overlap (N,) bool.

    Position (a, b) of both outputs holds the same original-image location (exactly with
    rounding="exact"; up to whole-cell rounding with "official").
    """
    region, overlap = shared_region(geometry_q, geometry_k)
    aligned = []
    for features, geometry in ((features_q, geometry_q), (features_k, geometry_k)):
        grid, valid = sampling_grid(geometry, region, size, features.shape[-2:], rounding)
        overlap = overlap & valid
        # in float32, also under autocast: a bfloat16 grid would misplace samples by up to 1/256 of the map
        features = features.to(torch.promote_types(features.dtype, torch.float32))
        with torch.autocast(features.device.type, enabled=False):
            grid = grid.to(features.dtype)
            sampled = F.grid_sample(features, grid, "bilinear", "border", align_corners=False)
        aligned.append(sampled)
    return aligned[0], aligned[1], overlap
