"""The check every task's fine-tuning test makes of samples.npz: the metrics recomputed from the
per-sample values equal metrics.json's (the bootstrap's resamples start from these decompositions)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.evaluate.samples import SAMPLES_FILE, has_metric, metric, read_samples, size


def assert_samples_reproduce_the_metrics(folder: Path, metrics_names: tuple[str, ...]) -> None:
    """Each of metrics_names recomputed from folder/samples.npz equals folder/metrics.json's value."""
    reported = json.loads((Path(folder) / "metrics.json").read_text())
    samples = read_samples(Path(folder) / SAMPLES_FILE)
    assert samples is not None and size(samples) > 0
    assert len(set(samples["id"].tolist())) == size(samples)  # ids pair two rows' samples up
    for name in metrics_names:
        assert has_metric(samples, name), name
        expected = reported[name]
        assert metric(samples, name) == pytest.approx(expected, rel=1e-12, abs=1e-12, nan_ok=True), name
        assert np.isfinite(metric(samples, name, np.full(size(samples), 2.0))) or np.isnan(expected)
