"""Reading and writing images with errors that name the file; atomic writes for generated files."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from suite.errors import DatasetError
from suite.io import atomic_write_bytes


def read_image(path: str | Path, mode: str = "RGB") -> np.ndarray:
    """Decode a whole image (H, W, 3) uint8 RGB (mode "L": (H, W)); grayscale files become RGB."""
    return np.asarray(open_image(path, mode))


def open_image(path: str | Path, mode: str = "RGB") -> Image.Image:
    """The whole image decoded as a PIL image in `mode`, converted only if the file is in another (an
    RGB JPEG is not copied: the pre-training pipeline's decode costs what ImageFolder's does)."""
    with _decoded(path, "image", "check the dataset root and that the image was extracted") as image:
        return image if image.mode == mode else image.convert(mode)


def read_label_map(path: str | Path) -> np.ndarray:
    """A single-channel label PNG as (H, W) uint8, refusing colour images (a palette is kept as indices)."""
    with _decoded(path, "label map", "check the dataset root and its segmentation folder") as image:
        if image.mode not in ("L", "P"):
            raise DatasetError(
                f"label map has mode {image.mode}, expected one 8-bit channel of class ids",
                path,
                "use the dataset's original single-channel PNG annotations",
            )
        return np.asarray(image)


@contextmanager
def _decoded(path: str | Path, what: str, fix_missing: str) -> Iterator[Image.Image]:
    """The fully decoded image at path, or a DatasetError naming the file (missing, truncated, corrupt)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{what} not found", path, fix_missing)
    try:
        with Image.open(path) as image:
            image.load()
            yield image
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DatasetError(
            f"{what} is truncated or corrupt ({error})", path, "re-extract this file"
        ) from error


def write_image(path: str | Path, array: np.ndarray, quality: int = 90) -> None:
    """Encode (H, W, 3) RGB as JPEG or (H, W) uint8 as PNG by the file suffix, atomically."""
    path = Path(path)
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(array))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())
