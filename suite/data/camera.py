"""The pinhole camera of Human3.6M's conventions, shared by the readers and SynthHuman.

x_cam = R·(X − t) with t the camera centre in world coordinates (mm), as the RLE json's
cam_param {R, t, f, c} and H36M-Toolbox's camera {R, T} store it; camera frames are x right,
y down, z forward, and pixels are x/z·f + c with pixel centres at integer coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Camera:
    """World -> camera rotation R, centre t (mm), focal f and principal point c (px); distortion k, p
    are carried as the datasets store them, not applied."""

    R: np.ndarray  # (3, 3) world -> camera rotation
    t: np.ndarray  # (3,) camera centre in world coordinates, mm
    f: np.ndarray  # (2,) focal lengths, px
    c: np.ndarray  # (2,) principal point, px
    k: np.ndarray | None = None  # (3,) radial distortion
    p: np.ndarray | None = None  # (2,) tangential distortion

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points to the camera frame, same unit as t (mm)."""
        return (np.asarray(points, dtype=np.float64) - self.t) @ self.R.T

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points to (..., 2) pixels by pinhole projection."""
        points_cam = np.asarray(points_cam, dtype=np.float64)
        return points_cam[..., :2] / points_cam[..., 2:3] * self.f + self.c
