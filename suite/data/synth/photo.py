"""A single photograph of one to a few people: how the COCO- and MPII-like sets frame their images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from suite.data.kinematic_prior import sample_skeletons
from suite.data.synth.camera import random_view, stage
from suite.data.synth.figure import dress
from suite.data.synth.render import Rendering, render


@dataclass(frozen=True)
class PhotoStyle:
    size: tuple[int, int]  # (width, height) px
    fov_range: tuple[float, float]  # horizontal field of view, radians
    people: tuple[int, ...]  # how many people an image may hold
    weights: tuple[float, ...]  # the probability of each count
    height_range: tuple[float, float]  # person height as a fraction of the image height
    spread: float  # other people stand within this many person heights of the first


def draw_photo(style: PhotoStyle, rng: np.random.Generator) -> Rendering:
    """People sampled from the kinematic prior, dressed, staged in front of a random camera, rendered."""
    count = rng.choice(style.people, p=style.weights)
    focal, centre = random_view(rng, style.size, style.fov_range)
    skeletons = sample_skeletons(count, rng=rng, normalize=False).astype(np.float64)
    joints = stage(skeletons, rng, style.size, focal, centre, style.height_range, style.spread)
    return render([dress(person, rng) for person in joints], focal, centre, style.size, rng)
