"""The generic image set standing in for ImageNet: torchvision's ImageFolder layout {split}/<class>/<image>.

Classes are the sub-folders sorted by name, labelled 0, 1, ...; as in ImageFolder, files whose
suffix is not an image's are not samples, and the split counts them (`not_images`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from suite.data.images import read_image
from suite.data.layouts import GENERIC_IMAGES, GENERIC_SPLITS
from suite.data.validate import listing, spread
from suite.errors import DatasetError

# torchvision.datasets.folder.IMG_EXTENSIONS
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
LAYOUT_FIX = "arrange the images as {train,val}/<class>/<image> under the root (torchvision ImageFolder)"


@dataclass(frozen=True)
class ImageFolder:
    split: str
    classes: tuple[str, ...]  # class index = position
    samples: tuple[tuple[Path, int], ...]  # (image path, class index)
    not_images: int  # files left out because their suffix is not an image's


def read_split(root: str | Path, split: str) -> ImageFolder:
    """List one split; no classes or an empty class is an error, naming the folder."""
    root = Path(root)
    folder = root / GENERIC_IMAGES.format(split=split)
    if not folder.is_dir():
        raise DatasetError(
            f"no {folder.name}/ in the image set root; found {listing(root)}", root, LAYOUT_FIX
        )
    classes = tuple(sorted(path.name for path in folder.iterdir() if path.is_dir()))
    if not classes:
        loose = "images directly in it, " if any(_is_image(path) for path in folder.iterdir()) else ""
        raise DatasetError(f"no class folders ({loose}found {listing(folder)})", folder, LAYOUT_FIX)
    samples, not_images = [], 0
    for label, name in enumerate(classes):
        files = sorted(path for path in (folder / name).rglob("*") if path.is_file())
        images = [path for path in files if _is_image(path)]
        if not images:
            raise DatasetError(
                f"class {name} has no images", folder / name, "add its images or remove the folder"
            )
        samples += [(path, label) for path in images]
        not_images += len(files) - len(images)
    return ImageFolder(split, classes, tuple(samples), not_images)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def check(root: Path) -> str:
    """Validate both splits (a few images decoded, spread over the set); one-line summary."""
    splits = [read_split(root, split) for split in GENERIC_SPLITS]
    for path in spread([path for split in splits for path, _ in split.samples]):
        read_image(path)
    return "; ".join(
        f"{s.split}: {len(s.samples)} images / {len(s.classes)} classes"
        + (f" ({s.not_images} other files ignored)" if s.not_images else "")
        for s in splits
    )
