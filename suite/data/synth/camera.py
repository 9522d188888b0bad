"""Where SynthHuman puts its cameras (suite.data.camera.Camera): orbits, fields of view, framing.

The world of Human3.6M is z up with the floor at z = 0.
"""

from __future__ import annotations

import numpy as np

from suite.data.camera import Camera

# Skeleton frame (x right, y down, z away) -> a z-up world: X = x, Y = z, Z = -y.
SKELETON_TO_WORLD = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
WORLD_UP = np.array([0.0, 0.0, 1.0])
BODY_MARGIN = 250.0  # mm beyond the outermost joints that the head and feet take up
FRAME_MARGIN = 0.15  # fraction of the image at each border where nobody is centred first


def look_at(centre: np.ndarray, target: np.ndarray, up: np.ndarray = WORLD_UP) -> np.ndarray:
    """The rotation R whose rows are the camera's right, down and forward axes in world coords."""
    forward = target - centre
    forward = forward / np.linalg.norm(forward)
    down = -up + np.dot(up, forward) * forward
    down = down / np.linalg.norm(down)
    return np.stack([np.cross(down, forward), down, forward])


def orbit_camera(
    rng: np.random.Generator,
    azimuth: float,
    distance: float,
    height: float,
    target: np.ndarray,
    focal: float,
    size: tuple[int, int],
    jitter: float,
) -> Camera:
    """A camera at `height` mm, `distance` mm from `target` on the given azimuth (radians), looking at it.

    fx, fy and the principal point vary by the relative `jitter`, as real calibrations do.
    """
    centre = target + distance * np.array([np.cos(azimuth), np.sin(azimuth), 0.0])
    centre[2] = height
    f = focal * (1.0 + rng.uniform(-jitter, jitter, size=2))
    c = np.array(size, dtype=np.float64) / 2 * (1.0 + rng.uniform(-jitter, jitter, size=2))
    return Camera(look_at(centre, target), centre, f, c)


def intrinsics(size: tuple[int, int], fov: float) -> tuple[np.ndarray, np.ndarray]:
    """Focal (f, f) and centred principal point of a camera with horizontal field of view fov (radians)."""
    width, height = size
    focal = width / 2 / np.tan(fov / 2)
    return np.array([focal, focal]), np.array([width / 2, height / 2])


def place_at(
    joints: np.ndarray, pixel: np.ndarray, height_px: float, focal: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Move a skeleton (17, 3) mm so the middle of its extent projects at `pixel` and its vertical
    extent, with BODY_MARGIN for the head and feet, spans about `height_px` pixels."""
    low, high = joints.min(axis=0), joints.max(axis=0)
    depth = focal[1] * (high[1] - low[1] + BODY_MARGIN) / height_px
    middle = (low + high) / 2
    target = np.append((np.asarray(pixel) - centre) * depth / focal, depth)
    return joints + target - np.append(middle[:2], 0.0)


def random_view(rng: np.random.Generator, size: tuple[int, int], fov_range: tuple[float, float]):
    """Intrinsics (f, c) of a single-image camera with a random horizontal field of view (radians)."""
    return intrinsics(size, rng.uniform(*fov_range))


def stage(
    skeletons: np.ndarray,
    rng: np.random.Generator,
    size: tuple[int, int],
    focal: np.ndarray,
    centre: np.ndarray,
    height_range: tuple[float, float],
    spread: float,
) -> np.ndarray:
    """Place skeletons (P, 17, 3) mm in one view, each spanning a random fraction `height_range` of
    the image height. The first stands anywhere but in the outer FRAME_MARGIN, the others within
    `spread` person heights of it, so people overlap and some are cut by the border."""
    width, height = size
    first = rng.uniform(FRAME_MARGIN, 1 - FRAME_MARGIN, 2) * (width, height)
    placed = []
    for joints in skeletons:
        height_px = rng.uniform(*height_range) * height
        pixel = first if not placed else first + rng.uniform(-spread, spread, 2) * height_px
        placed.append(place_at(joints, pixel, height_px, focal, centre))
    return np.array(placed)
