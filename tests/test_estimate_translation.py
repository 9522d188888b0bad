"""pw3d-shape's camera: SPIN's estimate_translation (the translation RSC-Net regresses cam_t to) and the
two camera terms, RSC-Net's MSE of cam_t and SPIN's (exp(−10 s))²."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.errors import SuiteError
from suite.finetune.pw3d_shape import CAMERA_RES, camera_loss, camera_translation, estimate_translation
from suite.finetune.pw3d_shape_settings import Pw3dShapeConfig

F, C = 5000.0, 112.0


def _bodies(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 17, 3) joints in SMPL's frame (about a metre across) and (n, 3) translations in front."""
    joints = rng.normal(0, 0.3, (n, 17, 3))
    translation = np.stack([rng.normal(0, 0.2, n), rng.normal(0, 0.2, n), rng.uniform(20, 60, n)], 1)
    return joints, translation


def _project(joints: np.ndarray, translation: np.ndarray) -> np.ndarray:
    points = joints + translation[:, None]
    return F * points[..., :2] / points[..., 2:] + C


def _lstsq(joints: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The same least squares, one sample, joint by joint in the form x − c = f (X + tx) / (Z + tz)
    divided by f, solved by numpy's lstsq."""
    rows, right = [], []
    for (X, Y, Z), (x, y) in zip(joints, keypoints, strict=True):
        u, v = (x - C) / F, (y - C) / F
        rows += [[1, 0, -u], [0, 1, -v]]
        right += [u * Z - X, v * Z - Y]
    return np.linalg.lstsq(np.array(rows), np.array(right), rcond=None)[0]


def test_a_projection_gives_its_translation_back():
    joints, translation = _bodies(8, np.random.default_rng(0))
    keypoints = _project(joints, translation)
    np.testing.assert_allclose(estimate_translation(joints, keypoints, F, CAMERA_RES), translation, atol=1e-6)
    # one sample at a time
    np.testing.assert_allclose(
        estimate_translation(joints[3], keypoints[3], F, 224), translation[3], atol=1e-6
    )


def test_noisy_keypoints_give_the_least_squares_solution():
    rng = np.random.default_rng(2)
    joints, translation = _bodies(6, rng)
    keypoints = _project(joints, translation) + rng.normal(0, 3, (6, 17, 2))
    found = estimate_translation(joints, keypoints, F, CAMERA_RES)
    expected = np.stack([_lstsq(j, k) for j, k in zip(joints, keypoints, strict=True)])
    np.testing.assert_allclose(found, expected, rtol=1e-9, atol=1e-9)
    assert not np.allclose(found, translation, atol=1e-3)  # the noise moved it


def _cam_of(translation: np.ndarray) -> torch.Tensor:
    """The weak-perspective camera s, tx, ty whose cam_t is the translation: s = 2f / (224 tz)."""
    t = torch.as_tensor(translation, dtype=torch.float64)
    return torch.stack([2 * F / (CAMERA_RES * t[:, 2]), t[:, 0], t[:, 1]], 1)


def test_rsc_nets_camera_term_is_zero_at_the_estimated_translation():
    rng = np.random.default_rng(3)
    joints, translation = _bodies(5, rng)
    keypoints = _project(joints, translation) + rng.normal(0, 2, (5, 17, 2))
    target = torch.as_tensor(estimate_translation(joints, keypoints, F, CAMERA_RES))
    cam = _cam_of(target.numpy())
    assert torch.allclose(camera_translation(cam, F), target, rtol=1e-9)  # the 1e-9 in 2f / (224 s + 1e-9)
    assert camera_loss(cam, target, "rsc-net", F).item() < 1e-12
    # elsewhere: nn.MSELoss, the mean over all 5 x 3 numbers
    moved = cam + torch.tensor([0.0, 0.1, -0.2], dtype=torch.float64)
    expected = ((camera_translation(moved, F) - target) ** 2).mean()
    assert camera_loss(moved, target, "rsc-net", F).item() == pytest.approx(expected.item(), rel=1e-12)
    assert expected.item() == pytest.approx((0.1**2 + 0.2**2) / 3, rel=1e-9)


def test_spins_camera_term_is_the_exponential_of_the_scale():
    cam = torch.tensor([[0.9, 0.1, 0.2], [-0.1, 0.0, 0.0], [0.3, 5.0, 5.0]])
    target = torch.zeros(3, 3)
    expected = ((torch.exp(-10 * cam[:, 0])) ** 2).mean()
    assert camera_loss(cam, target, "spin", F).item() == pytest.approx(expected.item(), rel=1e-6)
    assert camera_loss(cam, target + 100, "spin", F) == camera_loss(cam, target, "spin", F)


def test_an_unknown_camera_term_is_refused():
    with pytest.raises(SuiteError, match="camera_loss"):
        Pw3dShapeConfig(camera_loss="exp")
