"""Per-sample values of a metric: what an evaluate run keeps in samples.npz so that two rows can be
compared with a paired bootstrap (suite/evaluate/bootstrap.py).

Every metric of the suite is a function of sums over test samples, so a resample of the samples is a
vector of weights (how often each sample was drawn) and the metric of the resample is the metric of the
weighted sums; with every weight 1 it is the reported metric. The kinds:

    mean       value/<metric> (N,): the metric is the mean over samples (MPJPE and PA-MPJPE per frame,
               JDR per frame, the reconstruction error per person)
    pckh       correct, quirk_correct, annotated (N, 16): PCKh's ratios of the weighted counts per joint
               (persons resampled, the ratio recomputed), suite.evaluate.pckh.pckh_from_counts
    confusion  confusion (N, C, C): mIoU / mACC of the weighted sum of the images' confusion matrices
    coco       the test images' ground-truth persons and detections: COCOeval re-run on the images drawn,
               duplicates under new ids (suite.evaluate.coco_samples)

Each file also holds `kind` and `id` (N,), the sample ids that pair two rows' samples up.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from suite.errors import SuiteError

SAMPLES_FILE = "samples.npz"
MEAN, PCKH, CONFUSION, COCO = "mean", "pckh", "confusion", "coco"
FEWER_RESAMPLES = {COCO: 200}  # kinds whose metric is slow: fewer resamples than the bootstrap's 1000
VALUE = "value/"
READ_FIX = "delete the evaluate run's folder and run it again (its samples are rewritten with its metrics)"

Samples = dict[str, np.ndarray]


def mean_samples(ids, values: Mapping[str, np.ndarray]) -> Samples:
    """Metrics that are means over samples: metric name -> (N,) per-sample values."""
    return {"kind": np.array(MEAN), "id": np.asarray(ids)} | {
        VALUE + name: np.asarray(value, dtype=np.float64) for name, value in values.items()
    }


def pckh_samples(ids, correct: np.ndarray, quirk_correct: np.ndarray, annotated: np.ndarray) -> Samples:
    """PCKh: per person and joint (N, 16), correct at the threshold, at 0.11, and annotated."""
    return {
        "kind": np.array(PCKH),
        "id": np.asarray(ids),
        "correct": np.asarray(correct, dtype=bool),
        "quirk_correct": np.asarray(quirk_correct, dtype=bool),
        "annotated": np.asarray(annotated, dtype=bool),
    }


def confusion_samples(ids, matrices: np.ndarray) -> Samples:
    """Parsing: each image's (C, C) confusion matrix."""
    return {"kind": np.array(CONFUSION), "id": np.asarray(ids), "confusion": np.asarray(matrices, np.int64)}


def size(samples: Samples) -> int:
    return len(samples["id"])


def metric(samples: Samples, name: str, weights: np.ndarray | None = None) -> float:
    """The metric `name` of the samples, each counted as often as `weights` (N,) says (None: once)."""
    w = np.ones(size(samples)) if weights is None else np.asarray(weights, dtype=np.float64)
    return float(resampled(samples, name, w[None])[0])


def resampled(samples: Samples, name: str, weights: np.ndarray) -> np.ndarray:
    """(R,) the metric `name` of R resamples, given as weights (R, N): how often each sample is drawn."""
    kind = str(samples["kind"])
    w = np.asarray(weights, dtype=np.float64)
    if kind == MEAN:
        return w @ samples[VALUE + name] / w.sum(axis=1)
    if kind == PCKH:
        from suite.evaluate.pckh import pckh_from_counts

        correct, quirk, annotated = (w @ samples[key] for key in ("correct", "quirk_correct", "annotated"))
        return np.array([pckh_from_counts(*row)[name] for row in zip(correct, annotated, quirk, strict=True)])
    if kind == CONFUSION:
        from suite.evaluate.parsing import scores

        matrices = samples["confusion"]
        flat = matrices.reshape(len(matrices), -1).astype(np.float64)  # exact: counts below 2**53
        return np.array([scores(row.reshape(matrices.shape[1:]))[name] for row in w @ flat])
    if kind == COCO:
        from suite.evaluate.coco_samples import coco_metrics

        return np.array([coco_metrics(samples, row)[name] for row in w])
    raise ValueError(f"unknown kind of samples {kind!r}")


def has_metric(samples: Samples, name: str) -> bool:
    kind = str(samples["kind"])
    if kind == MEAN:
        return VALUE + name in samples
    return True  # pckh, confusion and coco give every metric of their module


def paired(a: Samples, b: Samples) -> tuple[Samples, Samples] | None:
    """The two rows' samples restricted to the ids both hold, in the same order (as they are if their ids
    are the same list); None if they share none, or differ and an id repeats."""
    ids_a, ids_b = list(a["id"].tolist()), list(b["id"].tolist())
    if ids_a == ids_b:
        return a, b
    if len(set(ids_a)) != len(ids_a) or len(set(ids_b)) != len(ids_b):
        return None
    where = {sample: i for i, sample in enumerate(ids_b)}
    common = [i for i, sample in enumerate(ids_a) if sample in where]
    if not common:
        return None
    order_b = [where[ids_a[i]] for i in common]
    return _take(a, np.array(common)), _take(b, np.array(order_b))


def _take(samples: Samples, index: np.ndarray) -> Samples:
    return {key: value if key == "kind" else value[index] for key, value in samples.items()}


def to_bytes(samples: Samples) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **samples)
    return buffer.getvalue()


def read_samples(path: Path) -> Samples | None:
    """An evaluate run's samples.npz, None if it has none (evaluated before samples were kept)."""
    if not Path(path).is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            samples = {key: data[key] for key in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise SuiteError(f"not a readable samples file ({error})", path, READ_FIX) from error
    if "kind" not in samples or "id" not in samples:
        raise SuiteError(f"holds {sorted(samples)}, no kind and id", path, READ_FIX)
    return samples
