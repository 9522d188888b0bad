"""The two-view input pipeline's speed, per core, beside MoCo's `TwoCropsTransform` (not a test: speed
is measured here, never asserted).

    .venv/bin/python benchmarks/view_pipeline.py [--images DIR] [--size 224] [--rounds 5]
    .venv/bin/python benchmarks/view_pipeline.py --moco-repo ~/src/moco      # MoCo's own loader classes
    .venv/bin/python benchmarks/view_pipeline.py --method moco-v2 --workers 4  # + loader and step

Both pipelines read the same JPEG files, one image at a time on one thread (one core): ours is the
pre-training dataset's item (decode, both views, each view's geometry: suite/data/views.py "mocov2");
MoCo's is ImageFolder's loader (PIL open + convert RGB) and `TwoCropsTransform` of main_moco.py's
`--aug-plus` list (RandomResizedCrop scale (0.2, 1), ColorJitter(0.4, 0.4, 0.4, 0.1) p 0.8,
grayscale p 0.2, GaussianBlur σ ~ U[0.1, 2] p 0.5, flip, ToTensor, Normalize). With --moco-repo
PATH (a checkout of facebookresearch/moco) its `moco.loader.TwoCropsTransform` and `GaussianBlur`
are used; without it the same list is built from torchvision and PIL here (MoCo's GaussianBlur is
PIL's GaussianBlur with the radius drawn from [0.1, 2]), as printed. Each round times every pipeline
over all images in turn, so a slow spell hits both alike; printed: the median views/s per core and
the ratio of ours to MoCo's.

--images: any pre-training source (an ImageFolder root, a flat folder, `data crops` output); by
default --count JPEGs of ImageNet's typical size (500 x 375, quality 90) written to a temporary folder.
With --method, also the images/s of the DataLoader alone (--workers processes; SLURM_CPUS_PER_TASK
minus one inside a SLURM job, as the trainer), of that method's training step alone at --size and
--batch, and of both together: whether data loading keeps the step busy.
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter
from torch.utils.data import DataLoader
from torchvision import transforms

from suite.data.pretrain_data import collate, pretrain_dataset
from suite.data.views import IMAGENET_MEAN, IMAGENET_STD, TwoViewAugment, augment_options
from suite.training.loop import loader_workers

IMAGENET_SIZE = (500, 375)


def write_images(folder: Path, count: int, seed: int = 0) -> Path:
    """`count` smooth random colour images as JPEGs in folder/train/ (a flat pre-training source)."""
    rng = np.random.default_rng(seed)
    train = folder / "train"
    train.mkdir(parents=True)
    width, height = IMAGENET_SIZE
    for i in range(count):
        coarse = rng.uniform(0, 255, (height // 25, width // 25, 3)).astype(np.uint8)
        image = Image.fromarray(coarse).resize(IMAGENET_SIZE, Image.BICUBIC)
        noise = rng.normal(0, 12, (height, width, 3))
        pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(train / f"{i:05d}.jpg", quality=90)
    return folder


class PilBlur:
    """MoCo's GaussianBlur: PIL's GaussianBlur, radius uniform in `sigma`."""

    def __init__(self, sigma=(0.1, 2.0)) -> None:
        self.sigma = sigma

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.filter(ImageFilter.GaussianBlur(radius=random.uniform(*self.sigma)))


def moco_pipeline(size: int, repo: Path | None) -> tuple[Callable[[Path], object], str]:
    """ImageFolder's loader and TwoCropsTransform(aug-plus); which classes were used, in words."""
    if repo is not None:
        sys.path.insert(0, str(repo))
        from moco.loader import GaussianBlur, TwoCropsTransform

        source = f"moco.loader from {repo}"
    else:
        GaussianBlur, source = PilBlur, "aug-plus rebuilt here from torchvision and PIL (no --moco-repo)"

        class TwoCropsTransform:
            def __init__(self, base) -> None:
                self.base = base

            def __call__(self, x):
                return [self.base(x), self.base(x)]

    augmentation = transforms.Compose(
        [
            transforms.RandomResizedCrop(size, scale=(0.2, 1.0)),
            transforms.RandomApply([transforms.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            transforms.RandomGrayscale(p=0.2),
            transforms.RandomApply([GaussianBlur([0.1, 2.0])], p=0.5),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD),
        ]
    )
    two = TwoCropsTransform(augmentation)

    def item(path: Path):
        with open(path, "rb") as handle:
            image = Image.open(handle).convert("RGB")
        return two(image)

    return item, source


def views_per_second(item: Callable[[int], object], count: int) -> float:
    start = time.perf_counter()
    for index in range(count):
        item(index)
    return 2 * count / (time.perf_counter() - start)


def loader_and_step(dataset, method_name: str, size: int, batch: int, workers: int, steps: int) -> None:
    """Images/s of the DataLoader alone, of the method's step alone, and of both together."""
    sys.path.insert(0, str(Path(__file__).parent))
    from pretrain_step import suite_step

    from suite.profiles import PRETRAIN_PROFILES

    profile = replace(PRETRAIN_PROFILES["demo"], image_size=size)
    step = suite_step(method_name, profile, batch, torch.device("cpu"))

    def loader():
        return DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, collate_fn=collate)

    def timed(body: Callable[[], int]) -> float:
        start = time.perf_counter()
        images = body()
        return images / (time.perf_counter() - start)

    def data_only() -> int:
        return sum(len(b.index) for _, b in zip(range(steps), loader(), strict=False))

    def step_only() -> int:
        for _ in range(steps):
            step(0.0)
        return steps * batch

    def both() -> int:
        seen = 0
        for _, data in zip(range(steps), loader(), strict=False):
            step(0.0)  # the step's own fixed batch: the loader's work is what overlaps it
            seen += len(data.index)
        return seen

    step(0.0)  # warm-up
    print(f"\n{method_name}, batch {batch} at {size} px, {workers} loader workers, {steps} steps:")
    for name, body in (("data loader", data_only), ("step", step_only), ("data + step", both)):
        print(f"  {name:12s} {timed(body):8.1f} images/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, help="a pre-training image source (default: written here)")
    parser.add_argument("--count", type=int, default=64, help="images written when --images is not given")
    parser.add_argument("--size", type=int, default=224, help="view side (MoCo's 224; the paper's 256)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--moco-repo", type=Path, help="a checkout of facebookresearch/moco")
    parser.add_argument("--method", help="also time the loader and this method's step (e.g. liftedcl)")
    parser.add_argument("--workers", type=int, default=2, help="loader workers with --method")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as temporary:
        root = args.images or write_images(Path(temporary), args.count)
        ours = pretrain_dataset(root, TwoViewAugment(augment_options("mocov2", args.size)), seed=0)
        files = ours.files
        moco, source = moco_pipeline(args.size, args.moco_repo)
        print(f"{len(files)} images from {root}; views of {args.size} px; one thread; MoCo: {source}")
        pipelines = {"ours": ours.__getitem__, "MoCo": lambda index: moco(files[index])}
        for item in pipelines.values():
            item(0)  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in pipelines}
        for _ in range(args.rounds):
            for name, item in pipelines.items():
                rates[name].append(views_per_second(item, len(files)))
        median = {name: statistics.median(values) for name, values in rates.items()}
        for name, value in median.items():
            spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
            print(f"  {name:5s} {value:8.1f} views/s per core (rounds {spread})")
        print(f"  ours / MoCo: {median['ours'] / median['MoCo']:.2f}x")
        if args.method:
            workers = loader_workers(args.workers)
            loader_and_step(ours, args.method, args.size, args.batch, workers, args.steps)


if __name__ == "__main__":
    main()
