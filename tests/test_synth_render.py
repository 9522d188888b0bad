"""The SynthHuman renderer: projection, occlusion, labels and determinism."""

import numpy as np
import pytest

from suite.data.kinematic_prior import template_skeleton
from suite.data.skeleton import ROOT
from suite.data.synth.render import render_people

SIZE = (160, 120)
FOCAL = (150.0, 140.0)  # fx != fy, so a swapped axis shows
CENTRE = (81.0, 58.5)


def person(x: float, z: float) -> np.ndarray:
    """The rest pose facing the camera, root at (x, 0, z) mm."""
    return template_skeleton() + np.array([x, 0.0, z])


def test_joints_2d_are_the_pinhole_projection_of_the_joints():
    joints = person(120.0, 4000.0)[None]
    scene = render_people(joints, FOCAL, CENTRE, SIZE, np.random.default_rng(0))
    x, y, z = joints[0].T
    expected = np.stack([FOCAL[0] * x / z + CENTRE[0], FOCAL[1] * y / z + CENTRE[1]], axis=-1)
    np.testing.assert_allclose(scene.joints_2d[0], expected, rtol=1e-12)
    assert scene.image.shape == (SIZE[1], SIZE[0], 3) and scene.image.dtype == np.uint8
    assert scene.visible[0, ROOT]  # the pelvis of a lone person facing the camera shows


def test_a_person_behind_another_is_hidden_where_covered():
    joints = np.stack([person(0.0, 3000.0), person(60.0, 6000.0)])
    scene = render_people(joints, FOCAL, CENTRE, SIZE, np.random.default_rng(1))
    pixels = np.floor(scene.joints_2d[1] + 0.5).astype(int)
    covered = scene.instances[pixels[:, 1], pixels[:, 0]] == 0
    assert covered.sum() >= 5  # the near person really is in front of most of the far one
    assert not scene.visible[1, covered].any()
    assert scene.visible[1, ~covered].all()  # its shins stick out below the near person


def test_joints_outside_the_image_are_not_visible():
    scene = render_people(
        person(0.0, 2500.0)[None], FOCAL, (CENTRE[0], -10.0), SIZE, np.random.default_rng(2)
    )
    outside = (scene.joints_2d[0] < -0.5).any(-1) | (scene.joints_2d[0] >= np.array(SIZE) - 0.5).any(-1)
    assert outside.any() and not scene.visible[0, outside].any()


def test_labels_cover_exactly_the_figures_and_boxes_are_tight():
    joints = np.stack([person(-300.0, 3500.0), person(400.0, 5000.0)])
    scene = render_people(joints, FOCAL, CENTRE, SIZE, np.random.default_rng(3))
    np.testing.assert_array_equal(scene.labels > 0, scene.instances >= 0)
    for index, box in enumerate(scene.boxes):
        rows, cols = np.nonzero(scene.instances == index)
        np.testing.assert_array_equal(
            box, [cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1]
        )


@pytest.mark.parametrize("field", ["image", "labels", "instances", "joints_2d", "visible", "boxes"])
def test_same_seed_same_scene(field):
    joints = np.stack([person(-200.0, 3000.0), person(300.0, 4500.0)])
    first, second, other = (
        render_people(joints, FOCAL, CENTRE, SIZE, np.random.default_rng(seed)) for seed in (7, 7, 8)
    )
    np.testing.assert_array_equal(getattr(first, field), getattr(second, field))
    assert not np.array_equal(first.image, other.image)
