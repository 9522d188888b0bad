"""`data synth`: every SynthHuman dataset under one root, each from its own random stream.

out/<layouts.SYNTH_FOLDERS[name]> is finished by a .complete marker holding (n, seed), written
last: a dataset whose marker matches is kept, any other is wiped and written again, so a
half-written tree is never taken as finished. The same seed gives byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from suite.data.layouts import DATASETS, SYNTH_FOLDERS, SYNTH_VERSION
from suite.data.synth import body_model, coco, generic, h36m, lip, mpii, pw3d
from suite.io import atomic_write_bytes

DEFAULT_N = 64
MARKER = ".complete"
VERSION = SYNTH_VERSION  # bump it (in layouts.py) when the output changes, so old trees are rewritten

Writer = Callable[[Path, int, np.random.Generator], None]


def writers(out: Path) -> dict[str, Writer]:
    """The dataset writers in the order they run (body models before 3DPW, which renders with them)."""
    body_models = out / SYNTH_FOLDERS["smpl"]
    return {
        "coco": coco.write,
        "mpii": mpii.write,
        "h36m": h36m.write,
        "lip": lip.write,
        "generic": generic.write,
        "smpl": lambda root, n, rng: body_model.write_body_models(root, rng),
        "pw3d": lambda root, n, rng: pw3d.write(root, n, rng, body_models),
    }


def marker(n: int, seed: int) -> bytes:
    return json.dumps({"n": n, "seed": seed, "version": VERSION}, sort_keys=True).encode()


def is_complete(root: Path, n: int, seed: int) -> bool:
    """Whether root holds a finished dataset written with this n and seed."""
    path = root / MARKER
    return path.is_file() and path.read_bytes() == marker(n, seed)


def generate(out: Path, n: int = DEFAULT_N, seed: int = 0) -> None:
    """Write SynthHuman under out: n training persons / frames per dataset, about n/4 for evaluation."""
    out = Path(out)
    jobs = writers(out)
    for name, write in tqdm(jobs.items(), desc="SynthHuman", unit="dataset", disable=None):
        root = out / SYNTH_FOLDERS[name]
        if is_complete(root, n, seed):
            continue
        if root.exists():
            shutil.rmtree(root)
        write(root, n, np.random.default_rng([seed, DATASETS.index(name)]))
        atomic_write_bytes(root / MARKER, marker(n, seed))
