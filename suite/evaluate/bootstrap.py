"""The paired percentile bootstrap of a difference between two rows of a table, pure numpy.

Rows A and B were tested on the same samples (paired by sample id, suite.evaluate.samples.paired) and,
with several fine-tuning seeds, with the same seeds (paired by seed). One resample draws the samples
with replacement, the same draw for both rows, and the difference is metric(A) − metric(B) on it. With
several seeds a resample first draws the seeds with replacement, then, within each drawn seed, the
samples; a row's value is the mean over the drawn seeds, as the table's cell is the mean over seeds.
The interval is the percentile interval of the differences (linear interpolation, as
scipy.stats.bootstrap(paired=True, method="percentile"); with one seed the same draws as scipy's from
the same seeded Generator: rng.integers(0, n, (n_resamples, n))).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from suite.evaluate.samples import Samples, metric, resampled, size

RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 0
WEIGHTS_HELD = 10_000_000  # resample weights held at once (80 MB)


@dataclass(frozen=True)
class Interval:
    estimate: float  # metric(A) − metric(B) on the full samples (the mean over seeds)
    low: float
    high: float
    resamples: int
    seeds: int
    undefined: int = 0  # resamples on which a row's metric is NaN (low and high are NaN then)

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)


def verdict(interval: Interval | None, lower_is_better: bool) -> str:
    """A against B: "better", "worse" or "within noise" ("" without an interval)."""
    if interval is None or np.isnan(interval.low) or np.isnan(interval.high):
        return ""
    if not interval.excludes_zero:
        return "within noise"
    higher = interval.low > 0
    return "better" if higher != lower_is_better else "worse"


def no_verdict(interval: Interval) -> str:
    """Why `verdict` gives none for an interval: its metric is NaN for a row, or on some resamples."""
    if np.isnan(interval.estimate):
        return "a row's metric is NaN (a diverged fine-tuning, or no test sample it applies to)"
    if interval.undefined:
        return (
            f"a row's metric is NaN on {interval.undefined} of {interval.resamples} resamples "
            "(resamples without any test sample it applies to)"
        )
    return ""


def percentile_interval(distribution: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The percentile interval of a bootstrap distribution (linear interpolation between order stats)."""
    alpha = (1 - confidence) / 2
    low, high = np.quantile(np.asarray(distribution, np.float64), [alpha, 1 - alpha], method="linear")
    return float(low), float(high)


def counts(draws: np.ndarray, n: int) -> np.ndarray:
    """(R, n) how often each of n samples is in each of R draws of indices (R, n)."""
    rows = len(draws)
    offsets = (np.arange(rows) * n)[:, None]
    return np.bincount((draws + offsets).ravel(), minlength=rows * n).reshape(rows, n)


def paired_bootstrap(
    statistic: Callable[[int, np.ndarray], np.ndarray],
    sizes: Sequence[int],
    *,
    n_resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> tuple[np.ndarray, float, float]:
    """(the distribution, low, high) of a paired statistic(seed index, weights (R, n)) -> (R,) values of
    A − B, over len(sizes) seeds of sizes[s] samples each; the draws are made in chunks of resamples
    (the same stream as drawing them at once), so memory stays bounded."""
    rng = np.random.default_rng(seed)
    seeds = len(sizes)
    chunk = max(1, WEIGHTS_HELD // (max(sizes) * seeds))
    distribution = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        if seeds == 1:
            (n,) = sizes
            distribution[start : start + rows] = statistic(0, counts(rng.integers(0, n, (rows, n)), n))
            continue
        drawn, draws = np.empty((rows, seeds), dtype=np.int64), []
        for row in range(rows):  # each resample: its seeds with replacement, then samples within each
            drawn[row] = rng.integers(0, seeds, seeds)
            draws += [rng.integers(0, sizes[s], sizes[s]) for s in drawn[row]]
        total = np.zeros(rows)
        for s in range(seeds):
            where = np.flatnonzero(drawn.ravel() == s)
            if len(where):
                weights = counts(np.stack([draws[i] for i in where]), sizes[s])
                np.add.at(total, where // seeds, statistic(s, weights))
        distribution[start : start + rows] = total / seeds
    low, high = percentile_interval(distribution, confidence)
    return distribution, low, high


def difference(
    a: Sequence[Samples],
    b: Sequence[Samples],
    name: str,
    *,
    n_resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = SEED,
) -> Interval:
    """The paired bootstrap interval of metric `name` of row A minus row B; a[s] and b[s] are the two
    rows' samples of seed s, already paired (the same samples in the same order)."""
    if len(a) != len(b) or not a:
        raise ValueError(f"expected the same number of seeds for both rows, got {len(a)} and {len(b)}")
    if any(size(x) != size(y) for x, y in zip(a, b, strict=True)):
        raise ValueError("the rows' samples are not paired: pair them with suite.evaluate.samples.paired")

    def statistic(s: int, weights: np.ndarray) -> np.ndarray:
        return resampled(a[s], name, weights) - resampled(b[s], name, weights)

    estimate = float(np.mean([metric(x, name) - metric(y, name) for x, y in zip(a, b, strict=True)]))
    sizes = [size(x) for x in a]
    distribution, low, high = paired_bootstrap(
        statistic, sizes, n_resamples=n_resamples, confidence=confidence, seed=seed
    )
    return Interval(estimate, low, high, n_resamples, len(a), int(np.isnan(distribution).sum()))
