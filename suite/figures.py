"""Figures people look at: grids of 3D skeletons (paper Figures 5, 7 and 8)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from suite.data.skeleton import BONES, JOINTS
from suite.io import atomic_write_bytes

LEFT, RIGHT, CENTRE = "tab:red", "tab:blue", "0.25"


def _bone_colour(child: int) -> str:
    name = JOINTS[child]
    return LEFT if name.startswith("l_") else RIGHT if name.startswith("r_") else CENTRE


def save_figure(figure: plt.Figure, path: str | Path) -> None:
    """Save atomically (suite.io), in the format of the file's suffix."""
    path = Path(path)
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format=path.suffix.lstrip(".") or "png", dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def _draw_skeleton(axes, joints: np.ndarray) -> None:
    """One skeleton on 3D axes, vertical axis up, limits fitted to it."""
    x, depth, up = joints[:, 0], joints[:, 2], -joints[:, 1]
    for parent, child in BONES:
        axes.plot(
            [x[parent], x[child]],
            [depth[parent], depth[child]],
            [up[parent], up[child]],
            color=_bone_colour(child),
            linewidth=2,
        )
    axes.scatter(x, depth, up, s=4, color="k")
    centre = (joints.max(axis=0) + joints.min(axis=0)) / 2
    half = max((joints.max(axis=0) - joints.min(axis=0)).max() / 2, 1e-6)
    limits = (axes.set_xlim, axes.set_ylim, axes.set_zlim)
    for set_limits, middle in zip(limits, centre[[0, 2, 1]] * [1, 1, -1], strict=True):
        set_limits(middle - half, middle + half)
    axes.view_init(elev=10, azim=-80)
    axes.set_box_aspect((1, 1, 1), zoom=1.3)
    axes.set_axis_off()


def lifted_skeletons(
    images: np.ndarray, skeletons: np.ndarray, path: str | Path, title: str | None = None
) -> None:
    """Input views beside the 3D skeletons lifted from them (paper Figures 5 and 8).

    images: (N, H, W, 3) uint8 RGB; skeletons: (N, 17, 3) in the camera-like frame.
    """
    count = len(images)
    figure = plt.figure(figsize=(4.4, 2.2 * count))
    for index, (image, joints) in enumerate(zip(images, np.asarray(skeletons, np.float64), strict=True)):
        axes = figure.add_subplot(count, 2, 2 * index + 1)
        axes.imshow(image)
        axes.set_axis_off()
        _draw_skeleton(figure.add_subplot(count, 2, 2 * index + 2, projection="3d"), joints)
    if title:
        figure.suptitle(title)
    save_figure(figure, path)


def skeleton_grid(
    skeletons: np.ndarray, path: str | Path, columns: int = 6, title: str | None = None
) -> None:
    """Draw (N, 17, 3) skeletons in the camera-like frame (y down) as a grid of 3D plots.

    Left limbs red, right limbs blue, as the paper's Figure 7; the vertical axis points up.
    """
    skeletons = np.asarray(skeletons, dtype=np.float64)
    rows = int(np.ceil(len(skeletons) / columns))
    figure = plt.figure(figsize=(2.2 * columns, 2.4 * rows))
    for index, joints in enumerate(skeletons):
        _draw_skeleton(figure.add_subplot(rows, columns, index + 1, projection="3d"), joints)
    if title:
        figure.suptitle(title)
    save_figure(figure, path)
