"""Appendix B: the sampler's guarantees, checked on 10,000 skeletons."""

import numpy as np
import pytest

from suite.data.kinematic_prior import (
    PRIOR,
    euler,
    sample_skeletons,
    template_bones,
    template_skeleton,
)
from suite.data.skeleton import BONES, JOINTS, ROOT, bone_lengths

N = 10_000


@pytest.fixture(scope="module")
def metric():
    return sample_skeletons(N, seed=0, normalize=False)


def test_shape_dtype_and_root_at_origin(metric):
    normalised = sample_skeletons(N, seed=0)
    for skeletons in (metric, normalised):
        assert skeletons.shape == (N, 17, 3) and skeletons.dtype == np.float32
        assert np.all(skeletons[:, ROOT] == 0)


def test_unit_frobenius_norm_and_same_shape_as_metric(metric):
    normalised = sample_skeletons(N, seed=0)
    norms = np.linalg.norm(normalised.reshape(N, -1), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    # normalising is only a per-skeleton scale: metric / its norm gives the same skeletons
    expected = metric / np.linalg.norm(metric.reshape(N, -1), axis=1)[:, None, None]
    np.testing.assert_allclose(normalised, expected, atol=1e-5)


def test_bone_length_ratios_within_alpha_range(metric):
    ratio = bone_lengths(metric.astype(np.float64)) / np.linalg.norm(template_bones(), axis=1)
    assert ratio.min() >= 0.9 - 1e-5 and ratio.max() <= 1.1 + 1e-5
    # the whole range is used (uniform alpha), not a constant
    assert ratio.min() < 0.905 and ratio.max() > 1.095


def test_seeded_and_varied():
    np.testing.assert_array_equal(sample_skeletons(50, seed=3), sample_skeletons(50, seed=3))
    assert not np.allclose(sample_skeletons(50, seed=3), sample_skeletons(50, seed=4))


def test_euler_is_a_proper_rotation_in_the_documented_order():
    rng = np.random.default_rng(0)
    a, b, c = rng.uniform(-np.pi, np.pi, size=(3, 100))
    r = euler(a, b, c)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
    # a quarter turn about x alone takes "down" (+y) to "away from the camera" (+z)
    np.testing.assert_allclose(
        euler(np.array(np.pi / 2), np.array(0.0), np.array(0.0)) @ [0, 1, 0], [0, 0, 1], atol=1e-12
    )
    # twist b first: a bone hanging along y keeps its direction under b alone
    np.testing.assert_allclose(
        euler(np.array(0.0), np.array(1.0), np.array(0.0)) @ [0, 1, 0], [0, 1, 0], atol=1e-12
    )


def test_rest_pose_is_an_upright_figure_facing_the_camera():
    rest = template_skeleton()
    name = {joint: i for i, joint in enumerate(JOINTS)}
    assert rest[name["head"], 1] < rest[name["thorax"], 1] < 0 < rest[name["r_ankle"], 1]
    assert rest[name["l_hip"], 0] > 0 > rest[name["r_hip"], 0]
    assert len(PRIOR) == len(BONES)


def test_knee_angle_stays_within_its_flexion_range_whatever_the_thigh_does(metric):
    """Forward kinematics: the thigh-shin angle is the knee's own range (0-150°), not a free direction."""
    name = {joint: i for i, joint in enumerate(JOINTS)}
    for hip, knee, ankle in (("l_hip", "l_knee", "l_ankle"), ("r_hip", "r_knee", "r_ankle")):
        thigh = metric[:, name[knee]] - metric[:, name[hip]]
        shin = metric[:, name[ankle]] - metric[:, name[knee]]
        cos = np.sum(thigh * shin, axis=1) / np.linalg.norm(thigh, axis=1) / np.linalg.norm(shin, axis=1)
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        assert angle.max() <= 150.0 + 1.0  # the knee's flexion range, whatever the thigh does
        assert np.median(angle) > 30.0


def test_yaw_covers_all_views(metric):
    """The hips' direction in the ground plane spans the full circle (camera views)."""
    hips = metric[:, 4] - metric[:, 1]
    yaw = np.degrees(np.arctan2(hips[:, 2], hips[:, 0]))
    histogram, _ = np.histogram(yaw, bins=12, range=(-180, 180))
    assert histogram.min() > N / 12 * 0.7
