"""Drawing dressed figures into an image with a z-buffer: pixels, LIP labels, instances, visibility.

Each capsule is drawn over its bounding box only. A pixel inside the projected capsule takes the
depth of the capsule's surface: the depth along the axis at the closest point, minus the radius
scaled by how far the pixel is from the silhouette. Nearer surfaces win, across people too.
A point is visible when it projects inside the image onto its own person, with nothing of that
person or anyone else nearer than its own limb surface by more than VISIBILITY_TOLERANCE.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from suite.data.skeleton import NUM_JOINTS
from suite.data.synth.figure import LIP, Figure, Part, dress

MIN_DEPTH = 100.0  # mm; parts closer to the camera plane than this are not drawn
VISIBILITY_TOLERANCE = 30.0  # mm
AMBIENT = 0.45
LIGHT = np.array([-0.3, -0.5, -0.8]) / np.linalg.norm([-0.3, -0.5, -0.8])  # towards the light
STRIPE_CONTRAST = 0.35
FACE_COS = -0.2  # head normals turned further from the face than this are hair
HAIR_TOP_COS = 0.6  # head normals pointing up more than this are hair
NOISE_STD = 4.0  # pixel noise over the whole image, in grey levels
BACKGROUND_SHAPES = (3, 9)  # random shapes per background
SHAPE_SIZE = (0.05, 0.3)  # shape radius as a fraction of the image's larger side
CIRCLE_PROBABILITY = 0.5  # else a rectangle


@dataclass
class Scene:
    image: np.ndarray  # (H, W, 3) uint8 RGB
    labels: np.ndarray  # (H, W) uint8 LIP class ids (0 background)
    instances: np.ndarray  # (H, W) int16, -1 background, p = index of the person owning the pixel
    joints_2d: np.ndarray  # (P, 17, 2) float64 projected joints, px (pixel centres at integer coords)
    visible: np.ndarray  # (P, 17) bool: inside the image and not hidden behind another body part
    boxes: np.ndarray  # (P, 4) float64 tight [x, y, w, h] of each person's visible pixels


@dataclass
class Rendering:
    """A scene with what drew it: the z-buffer (H, W) mm (inf on background) and the figures."""

    scene: Scene
    depth: np.ndarray
    figures: list[Figure]
    focal: np.ndarray
    centre: np.ndarray

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixels."""
        return _project(points, self.focal, self.centre)

    def inside(self, pixels: np.ndarray) -> np.ndarray:
        """Which pixel positions (..., 2) fall on the image (pixel i spans [i - 0.5, i + 0.5))."""
        height, width = self.depth.shape
        return ((pixels >= -0.5) & (pixels < np.array([width, height]) - 0.5)).all(-1)

    def visible(self, person: int, points: np.ndarray, radii: np.ndarray | float = 0.0) -> np.ndarray:
        """Which of a person's points (k, 3), lying inside limbs of the given radii (mm), can be seen."""
        projected = self.project(points)
        inside = self.inside(projected)
        pixels = np.floor(projected + 0.5).astype(np.int64)
        cols, rows = np.where(inside, pixels[:, 0], 0), np.where(inside, pixels[:, 1], 0)
        surface = points[:, 2] - radii
        own = self.scene.instances[rows, cols] == person
        return inside & own & (self.depth[rows, cols] >= surface - VISIBILITY_TOLERANCE)


def render_people(
    joints_cam: np.ndarray,
    focal,
    centre,
    size: tuple[int, int],
    rng: np.random.Generator,
    background: np.ndarray | None = None,
) -> Scene:
    """Dress and draw people (P, 17, 3) mm in the camera frame; size = (width, height)."""
    figures = [dress(joints, rng) for joints in joints_cam]
    return render(figures, focal, centre, size, rng, background).scene


def render(
    figures: list[Figure],
    focal,
    centre,
    size: tuple[int, int],
    rng: np.random.Generator,
    background: np.ndarray | None = None,
) -> Rendering:
    """Draw dressed figures over a background (a random one when None)."""
    width, height = size
    focal, centre = np.asarray(focal, dtype=np.float64), np.asarray(centre, dtype=np.float64)
    image = (random_background(size, rng) if background is None else background).astype(np.float32)
    labels = np.zeros((height, width), dtype=np.uint8)
    instances = np.full((height, width), -1, dtype=np.int16)
    depth = np.full((height, width), np.inf)
    for person, figure in enumerate(figures):
        for part in figure.parts:
            _draw_part(part, person, focal, centre, image, labels, instances, depth)
    image += NOISE_STD * rng.standard_normal(image.shape, dtype=np.float32)
    image = np.clip(image + 0.5, 0, 255).astype(np.uint8)

    joints = np.array([figure.joints for figure in figures]).reshape(-1, NUM_JOINTS, 3)
    joints_2d = _project(joints, focal, centre)
    scene = Scene(
        image,
        labels,
        instances,
        joints_2d,
        np.zeros(joints.shape[:2], dtype=bool),
        _boxes(instances, len(figures)),
    )
    rendering = Rendering(scene, depth, list(figures), focal, centre)
    for person, figure in enumerate(figures):
        scene.visible[person] = rendering.visible(person, figure.joints, figure.joint_radii)
    return rendering


def _draw_part(
    part: Part,
    person: int,
    focal: np.ndarray,
    centre: np.ndarray,
    image: np.ndarray,
    labels: np.ndarray,
    instances: np.ndarray,
    depth: np.ndarray,
) -> None:
    """Z-buffer one capsule into the canvases, over its bounding box only."""
    ends = np.stack([part.start, part.end])
    if (ends[:, 2] < MIN_DEPTH).any():
        return
    uv = ends[:, :2] / ends[:, 2:] * focal + centre
    radii_mm = np.array(part.radii)
    radii_px = radii_mm * np.sqrt(focal.prod()) / ends[:, 2]
    height, width = depth.shape
    x0, y0 = np.maximum(np.floor((uv - radii_px[:, None]).min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil((uv + radii_px[:, None]).max(0)).astype(int) + 1, (width, height))
    if x0 >= x1 or y0 >= y1:
        return

    qx = np.arange(x0, x1, dtype=np.float64)[None, :] - uv[0, 0]
    qy = np.arange(y0, y1, dtype=np.float64)[:, None] - uv[0, 1]
    dx, dy = uv[1] - uv[0]
    length2 = dx * dx + dy * dy
    s = np.clip((qx * dx + qy * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros((y1 - y0, x1 - x0))
    ex, ey = qx - s * dx, qy - s * dy
    r = radii_px[0] + s * (radii_px[1] - radii_px[0])
    rho2 = (ex * ex + ey * ey) / (r * r)
    window = depth[y0:y1, x0:x1]
    cos = np.sqrt(np.clip(1.0 - rho2, 0.0, 1.0))
    z = ends[0, 2] + s * (ends[1, 2] - ends[0, 2]) - (radii_mm[0] + s * (radii_mm[1] - radii_mm[0])) * cos
    win = (rho2 < 1.0) & (z < window)
    if not win.any():
        return

    s, cos, r = s[win], cos[win], r[win]
    normal = np.stack([ex[win] / r, ey[win] / r, -cos], axis=-1)
    shade = AMBIENT + (1.0 - AMBIENT) * np.clip(normal @ LIGHT, 0.0, 1.0)
    if part.stripes:
        shade = shade * (1.0 - STRIPE_CONTRAST * (np.floor(s * part.stripes) % 2))
    label = np.full(s.shape, part.label, dtype=np.uint8)
    colour = np.broadcast_to(part.colour, (len(s), 3))
    if part.hair is not None:
        hair = (normal @ part.hair.forward < FACE_COS) | (normal @ part.hair.up > HAIR_TOP_COS)
        label[hair] = LIP["Hair"]
        colour = np.where(hair[:, None], part.hair.colour, colour)
    window[win] = z[win]
    labels[y0:y1, x0:x1][win] = label
    instances[y0:y1, x0:x1][win] = person
    image[y0:y1, x0:x1][win] = colour * shade[:, None]


def _project(points: np.ndarray, focal: np.ndarray, centre: np.ndarray) -> np.ndarray:
    return points[..., :2] / points[..., 2:3] * focal + centre


def _boxes(instances: np.ndarray, count: int) -> np.ndarray:
    """Tight [x, y, w, h] of each person's pixels (zeros for a person with none)."""
    boxes = np.zeros((count, 4))
    for person in range(count):
        mask = instances == person
        cols, rows = np.flatnonzero(mask.any(0)), np.flatnonzero(mask.any(1))
        if len(cols):
            boxes[person] = cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    return boxes


def random_background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A (H, W, 3) uint8 backdrop: a linear gradient between two colours under random shapes."""
    width, height = size
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * np.arange(width)[None, :] + np.sin(angle) * np.arange(height)[:, None]
    ramp = (ramp - ramp.min()) / max(np.ptp(ramp), 1.0)
    low, high = rng.uniform(0, 255, (2, 3))
    image = np.ascontiguousarray((low + ramp[..., None] * (high - low)).astype(np.uint8))
    scale = max(size)
    for _ in range(rng.integers(*BACKGROUND_SHAPES)):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(width)), int(rng.integers(height))
        radius = int(scale * rng.uniform(*SHAPE_SIZE))
        if rng.random() < CIRCLE_PROBABILITY:
            cv2.circle(image, (x, y), radius, colour, -1)
        else:
            cv2.rectangle(image, (x - radius, y - radius // 2), (x + radius, y + radius // 2), colour, -1)
    return image
