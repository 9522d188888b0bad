"""Two augmented views of one image, with the geometry of each (crop box in original pixels, flip).

Two pipelines, named after the official flags that select them (pretraining-methods §1.8, §2.2, §3.5):

- "mocov2" (MoCo `--aug-plus`, used by LiftedCL, MoCo v2 and DenseCL): RandomResizedCrop scale
  (0.2, 1), ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8, grayscale p 0.2, Gaussian blur σ ~ U[0.1, 2]
  p 0.5, then horizontal flip p 0.5; both views drawn from the same distribution.
- "byol" (PixPro `--aug BYOL`): RandomResizedCrop scale (0.08, 1), flip first, ColorJitter(0.4, 0.4,
  0.2, 0.1) p 0.8, grayscale p 0.2, blur p 1.0 on view 1 and p 0.1 on view 2, solarize p 0.2 on
  view 2 only.

Every random number comes from generators seeded by (seed, epoch, index), never from global state,
so an image gets the same two views in any worker, process or resumed run. Parameters are sampled
here with torchvision's semantics (RandomResizedCrop.get_params with its centre-crop fallback,
ColorJitter's random order of the four ops) and applied with torchvision.transforms.functional and
PIL, as the official code does on PIL images (blur is PIL's GaussianBlur(radius=σ), as in MoCo).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
import torchvision.transforms.functional as F
from PIL import Image, ImageFilter, ImageOps
from torch import Tensor
from torchvision.transforms import InterpolationMode

from suite.errors import SuiteError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CROP_TRIES = 10  # RandomResizedCrop.get_params: draws before falling back to a centre crop


@dataclass(frozen=True)
class Appearance:
    """The appearance transforms of one view, each applied with its probability."""

    jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.4, 0.1)  # brightness, contrast, saturation, hue
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_sigma: tuple[float, float] = (0.1, 2.0)  # PIL GaussianBlur radius, uniform in this range
    blur_p: float = 0.5
    solarize_p: float = 0.0
    solarize_threshold: int = 128  # pixels >= threshold are inverted (PIL ImageOps.solarize)


@dataclass(frozen=True)
class AugmentOptions:
    """Everything that defines the two-view augmentation; the defaults are LiftedCL's (appendix C)."""

    size: int = 256  # side of each square view
    scale: tuple[float, float] = (0.2, 1.0)  # crop area as a fraction of the image's
    ratio: tuple[float, float] = (3 / 4, 4 / 3)  # crop width / height
    flip_p: float = 0.5
    flip_first: bool = False  # flip right after the crop (PixPro) or after the appearance ops (MoCo)
    views: tuple[Appearance, Appearance] = field(default_factory=lambda: (Appearance(), Appearance()))
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


_BYOL_VIEW = Appearance(jitter=(0.4, 0.4, 0.2, 0.1), blur_p=1.0)
PIPELINES = {
    "mocov2": AugmentOptions(),
    "byol": AugmentOptions(
        scale=(0.08, 1.0),
        flip_first=True,
        views=(_BYOL_VIEW, replace(_BYOL_VIEW, blur_p=0.1, solarize_p=0.2)),
    ),
}


def augment_options(pipeline: str, size: int) -> AugmentOptions:
    """A named pipeline ("mocov2", "byol") at a view size (the profile's image_size)."""
    if pipeline not in PIPELINES:
        raise SuiteError(f"unknown augmentation {pipeline!r}", fix=f"use one of {', '.join(PIPELINES)}")
    return replace(PIPELINES[pipeline], size=size)


@dataclass(frozen=True)
class ViewParams:
    """The random draws that make one view; None means the transform is not applied."""

    box: tuple[int, int, int, int]  # top, left, height, width in original-image pixels
    flipped: bool
    jitter: tuple[tuple[int, ...], float, float, float, float] | None  # op order, then b, c, s, h factors
    grayscale: bool
    blur_sigma: float | None
    solarize: bool


def crop_box(
    rng: np.random.Generator, height: int, width: int, scale: tuple[float, float], ratio: tuple[float, float]
) -> tuple[int, int, int, int]:
    """RandomResizedCrop.get_params: (top, left, height, width), a centre crop after CROP_TRIES misses."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(CROP_TRIES):
        target_area = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top, left, h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, round(width / min(ratio))
    elif in_ratio > max(ratio):
        w, h = round(height * max(ratio)), height
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def sample_view(
    rng: np.random.Generator, height: int, width: int, options: AugmentOptions, look: Appearance
) -> ViewParams:
    """Draw one view's parameters for an image of height x width (ColorJitter.get_params for jitter)."""
    box = crop_box(rng, height, width, options.scale, options.ratio)
    flipped = bool(rng.random() < options.flip_p)
    jitter = None
    if rng.random() < look.jitter_p:
        order = tuple(int(i) for i in rng.permutation(4))
        b, c, s, h = look.jitter
        factors = [rng.uniform(max(0.0, 1 - x), 1 + x) for x in (b, c, s)] + [rng.uniform(-h, h)]
        jitter = (order, *(float(f) for f in factors))
    grayscale = bool(rng.random() < look.grayscale_p)
    blur_sigma = float(rng.uniform(*look.blur_sigma)) if rng.random() < look.blur_p else None
    solarize = bool(rng.random() < look.solarize_p)
    return ViewParams(box, flipped, jitter, grayscale, blur_sigma, solarize)  # type: ignore[arg-type]


def render(image: Image.Image, params: ViewParams, options: AugmentOptions, look: Appearance) -> Tensor:
    """Apply one view's parameters to a PIL RGB image: the normalised (3, size, size) float tensor."""
    view = F.resized_crop(image, *params.box, [options.size, options.size], InterpolationMode.BILINEAR)
    if params.flipped and options.flip_first:
        view = F.hflip(view)
    if params.jitter is not None:
        order, *factors = params.jitter
        ops = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)
        for op in order:
            view = ops[op](view, factors[op])
    if params.grayscale:
        view = F.rgb_to_grayscale(view, num_output_channels=3)
    if params.blur_sigma is not None:
        view = view.filter(ImageFilter.GaussianBlur(radius=params.blur_sigma))
    if params.solarize:
        view = ImageOps.solarize(view, look.solarize_threshold)
    if params.flipped and not options.flip_first:
        view = F.hflip(view)
    return normalised(view, options.mean, options.std)


def normalised(view: Image.Image, mean: tuple[float, ...], std: tuple[float, ...]) -> Tensor:
    """F.normalize(F.to_tensor(view), mean, std) in fewer passes over the pixels: (x − 255 mean) / (255 std)
    on the 0..255 values (equal to it within float32 rounding)."""
    pixels = torch.from_numpy(np.array(view, dtype=np.float32)).permute(2, 0, 1).contiguous()
    shift, scale = _pixel_statistics(mean, std)
    return pixels.sub_(shift).div_(scale)


@functools.cache
def _pixel_statistics(mean: tuple[float, ...], std: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """255 mean and 255 std as (C, 1, 1) tensors, made once per pipeline rather than per view (read only)."""
    return tuple(torch.tensor(v, dtype=torch.float32).mul_(255).view(-1, 1, 1) for v in (mean, std))


def geometry(params: ViewParams, height: int, width: int) -> Tensor:
    """The ViewBatch geometry row [top, left, height, width, flipped, image_height, image_width]."""
    return torch.tensor([*params.box, float(params.flipped), height, width], dtype=torch.float32)


class TwoViewAugment:
    """image, (seed, epoch, index) -> (view1, view2, geometry1, geometry2), the same for the same key."""

    def __init__(self, options: AugmentOptions) -> None:
        self.options = options

    def sample(self, height: int, width: int, seed: int, epoch: int, index: int) -> tuple[ViewParams, ...]:
        """Both views' parameters; each view has its own generator spawned from the key."""
        streams = np.random.SeedSequence([seed, epoch, index]).spawn(2)
        return tuple(
            sample_view(np.random.default_rng(stream), height, width, self.options, look)
            for stream, look in zip(streams, self.options.views, strict=True)
        )

    def __call__(
        self, image: Image.Image, seed: int, epoch: int, index: int
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        image = image if image.mode == "RGB" else image.convert("RGB")
        width, height = image.size
        params = self.sample(height, width, seed, epoch, index)
        looks = self.options.views
        views = [render(image, p, self.options, look) for p, look in zip(params, looks, strict=True)]
        rows = [geometry(p, height, width) for p in params]
        return views[0], views[1], rows[0], rows[1]


@dataclass
class ViewBatch:
    """Two augmented views of N images and where each came from.

    geometry rows are [top, left, height, width, flipped, image_height, image_width]: the crop box
    in original-image pixels (as RandomResizedCrop.get_params returns it), 1.0 if the view was
    flipped horizontally after cropping, and the size of the original image.
    """

    views: tuple[Tensor, Tensor]  # (N, 3, S, S) each, normalised
    geometry: tuple[Tensor, Tensor]  # (N, 7) each, float
    index: Tensor  # (N,) dataset index of each image

    def to(self, device: torch.device, memory_format=torch.contiguous_format) -> ViewBatch:
        views = tuple(v.to(device, non_blocking=True, memory_format=memory_format) for v in self.views)
        geometry = tuple(g.to(device, non_blocking=True) for g in self.geometry)
        return ViewBatch(views, geometry, self.index.to(device))  # type: ignore[arg-type]
