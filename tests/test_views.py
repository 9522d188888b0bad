"""Two-view augmentation: geometry read back from pixels, draw statistics, determinism, PixPro's asymmetry."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from suite.data.views import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    Appearance,
    AugmentOptions,
    TwoViewAugment,
    augment_options,
    crop_box,
)

HEIGHT, WIDTH = 150, 200  # both < 256: the coordinate image stores x and y in 8-bit channels
SIZE = 40
PLAIN = Appearance(jitter_p=0.0, grayscale_p=0.0, blur_p=0.0)  # no appearance change


def coordinate_image() -> Image.Image:
    """Red = x, green = y of every pixel, blue = 0."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    return Image.fromarray(np.stack([x, y, np.zeros_like(x)], axis=-1).astype(np.uint8))


def pixels(view: torch.Tensor) -> np.ndarray:
    """Undo Normalize and ToTensor: (3, S, S) in 0..255."""
    mean, std = torch.tensor(IMAGENET_MEAN)[:, None, None], torch.tensor(IMAGENET_STD)[:, None, None]
    return ((view * std + mean) * 255).numpy()


@pytest.mark.parametrize("size", [40, 160])  # views shrunk (antialiased) and enlarged
def test_view_pixels_come_from_the_recorded_crop_and_flip(size):
    augment = TwoViewAugment(AugmentOptions(size=size, views=(PLAIN, PLAIN)))
    image = coordinate_image()
    flips = set()
    for index in range(8):
        view1, view2, row1, row2 = augment(image, seed=3, epoch=0, index=index)
        for view, row in ((view1, row1), (view2, row2)):
            top, left, height, width, flipped, image_h, image_w = row.tolist()
            assert (image_h, image_w) == (HEIGHT, WIDTH)
            assert 0 <= top and top + height <= HEIGHT and 0 <= left and left + width <= WIDTH
            flips.add(flipped)
            # output pixel u is centred at left + (u + 0.5) * width / S in pixel-edge coordinates,
            # i.e. at that minus 0.5 in pixel-index coordinates (the value the image stores)
            u = np.arange(size)
            u = size - 1 - u if flipped else u
            x = left + (u + 0.5) * width / size - 0.5
            y = top + (np.arange(size) + 0.5) * height / size - 0.5
            red, green, _ = pixels(view)
            error_x, error_y = np.abs(red - x[None, :]), np.abs(green - y[:, None])
            # inside: exact on a ramp up to 8-bit rounding; within the filter's reach of the crop
            # edge the renormalised (clipped) filter leans inwards by less than a pixel
            assert error_x[2:-2, 2:-2].max() < 0.55 and error_y[2:-2, 2:-2].max() < 0.55
            assert error_x.max() < 1.0 and error_y.max() < 1.0
    assert flips == {0.0, 1.0}


def test_crop_box_falls_back_to_a_centre_crop_like_torchvision():
    rng = np.random.default_rng(0)
    # a 10x200 strip cannot hold 90% of its area at aspect <= 4/3: ten misses, then the centre
    # crop of the widest allowed aspect, height 10 and width round(10 * 4/3) = 13
    assert crop_box(rng, 10, 200, (0.9, 1.0), (3 / 4, 4 / 3)) == (0, (200 - 13) // 2, 10, 13)
    assert crop_box(rng, 200, 10, (0.9, 1.0), (3 / 4, 4 / 3)) == ((200 - 13) // 2, 0, 13, 10)
    # a square image narrower than every allowed aspect: full width, height round(30 / 2) = 15
    assert crop_box(rng, 30, 30, (1.0, 1.0), (2.0, 3.0)) == ((30 - 15) // 2, 0, 15, 30)
    # more area than the image has: never fits; an aspect in range gives the whole image
    assert crop_box(rng, 30, 40, (1.5, 2.0), (3 / 4, 4 / 3)) == (0, 0, 30, 40)


def test_crop_scale_and_ratio_ranges_are_respected():
    rng = np.random.default_rng(1)
    scale, ratio = (0.2, 1.0), (3 / 4, 4 / 3)
    boxes = np.array([crop_box(rng, HEIGHT, WIDTH, scale, ratio) for _ in range(2000)], dtype=float)
    top, left, h, w = boxes.T
    area = h * w / (HEIGHT * WIDTH)
    # rounding each side to whole pixels moves area and aspect by at most about one pixel per side
    assert area.min() > scale[0] - (h + w).max() / (HEIGHT * WIDTH) and area.max() <= 1.0
    assert (w / h).min() > ratio[0] * (1 - 2 / h.min()) and (w / h).max() < ratio[1] * (1 + 2 / h.min())
    assert area.min() < 0.25 and area.max() > 0.9  # the whole range is used
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= HEIGHT).all() and (left + w <= WIDTH).all()


def binomial_ok(hits: int, n: int, p: float) -> bool:
    """Within 5 standard deviations of the expected count."""
    return abs(hits - n * p) < 5 * np.sqrt(n * p * (1 - p))


def test_draw_rates_match_the_probabilities():
    augment = TwoViewAugment(augment_options("mocov2", SIZE))
    n = 2000
    params = [view for index in range(n // 2) for view in augment.sample(HEIGHT, WIDTH, 0, 0, index)]
    assert binomial_ok(sum(p.flipped for p in params), n, 0.5)
    assert binomial_ok(sum(p.jitter is not None for p in params), n, 0.8)
    assert binomial_ok(sum(p.grayscale for p in params), n, 0.2)
    assert binomial_ok(sum(p.blur_sigma is not None for p in params), n, 0.5)
    assert not any(p.solarize for p in params)
    sigmas = np.array([p.blur_sigma for p in params if p.blur_sigma is not None])
    assert 0.1 <= sigmas.min() < 0.2 and 1.9 < sigmas.max() <= 2.0
    jitters = [p.jitter for p in params if p.jitter is not None]
    factors = np.array([j[1:] for j in jitters])
    assert (factors[:, :3] >= 0.6).all() and (factors[:, :3] <= 1.4).all()
    assert (np.abs(factors[:, 3]) <= 0.1).all()
    assert len({j[0] for j in jitters}) == 24  # every order of the four ops occurs


def test_jitter_is_applied_to_about_80_percent_of_views():
    options = AugmentOptions(size=16, views=(replace(PLAIN, jitter_p=0.8),) * 2)
    jittered = TwoViewAugment(options)
    plain = TwoViewAugment(replace(options, views=(PLAIN, PLAIN)))
    image = Image.fromarray(np.random.default_rng(0).integers(40, 216, (48, 48, 3), dtype=np.uint8))
    n, changed = 150, 0
    for index in range(n):
        # the same key draws the same crop and flip, so only the jitter can make the views differ
        changed += not torch.equal(jittered(image, 0, 0, index)[0], plain(image, 0, 0, index)[0])
    assert binomial_ok(changed, n, 0.8)


def test_same_key_same_views_and_any_other_key_different():
    augment = TwoViewAugment(augment_options("mocov2", 32))
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (60, 50, 3), dtype=np.uint8))
    first = augment(image, seed=7, epoch=2, index=5)
    torch.manual_seed(123)  # global RNG state must not matter
    np.random.seed(123)  # noqa: NPY002 (the legacy global state is what must not matter)
    again = augment(image, seed=7, epoch=2, index=5)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not torch.equal(first[0], first[1])  # the two views are drawn independently
    for key in ((7, 2, 6), (7, 3, 5), (8, 2, 5)):
        other = augment(image, *key)
        assert not torch.equal(first[0], other[0]) and not torch.equal(first[2], other[2])


def test_views_are_normalised_float_tensors_of_the_profile_size():
    view1, view2, row1, row2 = TwoViewAugment(augment_options("byol", 24))(coordinate_image(), 0, 0, 0)
    assert view1.shape == view2.shape == (3, 24, 24) and view1.dtype == torch.float32
    assert row1.shape == row2.shape == (7,) and row1.dtype == torch.float32
    grey = Image.new("L", (20, 30), 128)  # a grayscale file still gives three channels
    assert TwoViewAugment(augment_options("mocov2", 8))(grey, 0, 0, 0)[0].shape == (3, 8, 8)


def test_pixpro_solarizes_only_view_two():
    augment = TwoViewAugment(augment_options("byol", SIZE))
    params = [augment.sample(HEIGHT, WIDTH, 0, 0, index) for index in range(1000)]
    assert not any(view1.solarize for view1, _ in params)
    assert binomial_ok(sum(view2.solarize for _, view2 in params), 1000, 0.2)
    assert all(view1.blur_sigma is not None for view1, _ in params)
    assert binomial_ok(sum(view2.blur_sigma is not None for _, view2 in params), 1000, 0.1)
    assert augment.options.scale == (0.08, 1.0) and augment.options.views[0].jitter == (0.4, 0.4, 0.2, 0.1)

    # pixels: whole-image crop, no flip, appearance off except solarize p 1 -> view 2 = solarize(view 1)
    whole = augment_options("byol", 32)
    looks = tuple(replace(PLAIN, solarize_p=look.solarize_p and 1.0) for look in whole.views)
    whole = replace(whole, scale=(1.0, 1.0), ratio=(1.0, 1.0), flip_p=0.0, views=looks)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    view1, view2, _, _ = TwoViewAugment(whole)(image, 0, 0, 0)
    assert np.allclose(pixels(view1), np.asarray(image).transpose(2, 0, 1), atol=1e-3)
    expected = np.asarray(ImageOps.solarize(image, 128)).transpose(2, 0, 1)
    assert np.allclose(pixels(view2), expected, atol=1e-3)


def test_unknown_pipeline_is_refused():
    with pytest.raises(Exception, match="unknown augmentation"):
        augment_options("simclr", 32)
