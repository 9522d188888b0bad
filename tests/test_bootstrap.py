"""The paired percentile bootstrap of a difference between two rows: scipy's interval on the same draws,
identical rows within noise, a clear difference outside it, seeds resampled too, pairing by sample id."""

import numpy as np
import pytest
from scipy import stats

from suite.evaluate import bootstrap
from suite.evaluate.bootstrap import Interval, difference, no_verdict, paired_bootstrap, verdict
from suite.evaluate.samples import confusion_samples, mean_samples, paired, pckh_samples


def test_interval_is_scipys_paired_percentile_interval_on_the_same_draws():
    rng = np.random.default_rng(7)
    x = rng.normal(50.0, 5.0, 200)
    y = x + rng.normal(0.3, 2.0, 200)
    expected = stats.bootstrap(
        (x, y),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        paired=True,
        vectorized=True,
        method="percentile",
        n_resamples=1000,
        rng=np.random.default_rng(3),
    ).confidence_interval
    interval = difference(
        [mean_samples(np.arange(200), {"m": x})], [mean_samples(np.arange(200), {"m": y})], "m", seed=3
    )
    assert (interval.low, interval.high) == pytest.approx((expected.low, expected.high), rel=1e-10, abs=1e-10)
    assert interval.estimate == pytest.approx(x.mean() - y.mean())
    # another seed draws other resamples: the bounds move (the comparison above can fail)
    other = difference(
        [mean_samples(np.arange(200), {"m": x})], [mean_samples(np.arange(200), {"m": y})], "m", seed=4
    )
    assert other.low != pytest.approx(expected.low, rel=1e-10)


def test_identical_rows_are_within_noise_and_a_shift_is_not():
    rng = np.random.default_rng(0)
    values = rng.normal(60.0, 10.0, 300)
    same = mean_samples(np.arange(300), {"mpjpe": values})
    interval = difference([same], [dict(same)], "mpjpe")
    assert interval.low <= 0 <= interval.high and interval.estimate == 0
    assert verdict(interval, lower_is_better=True) == "within noise"
    shifted = mean_samples(np.arange(300), {"mpjpe": values - 5.0 + rng.normal(0, 1, 300)})
    lower = difference([shifted], [same], "mpjpe")
    assert lower.high < 0
    assert (
        verdict(lower, lower_is_better=True) == "better" and verdict(lower, lower_is_better=False) == "worse"
    )
    assert verdict(None, lower_is_better=True) == ""


def test_seeds_are_resampled_too_and_widen_the_interval():
    rng = np.random.default_rng(1)
    base = rng.normal(60.0, 10.0, 100)
    a = [mean_samples(np.arange(100), {"m": base + offset}) for offset in (-3.0, 0.5, 2.0)]
    b = [mean_samples(np.arange(100), {"m": base}) for _ in range(3)]
    interval = difference(a, b, "m", n_resamples=500)
    assert interval.seeds == 3 and interval.estimate == pytest.approx(np.mean([-3.0, 0.5, 2.0]))
    # per-sample noise is nil here: the spread comes from the seeds alone, between their extremes
    assert -3.0 <= interval.low < interval.estimate < interval.high <= 2.0
    assert difference(a, b, "m", n_resamples=500) == interval  # seeded


def test_resample_weights_are_counts_of_draws():
    seen = []
    paired_bootstrap(lambda s, w: seen.append(w.copy()) or np.zeros(len(w)), [5], n_resamples=3, seed=0)
    draws = np.random.default_rng(0).integers(0, 5, (3, 5))
    assert [w.tolist() for w in np.concatenate(seen)] == [np.bincount(d, minlength=5).tolist() for d in draws]


def test_pairing_by_sample_id_reorders_and_intersects():
    a = mean_samples(["f1", "f2", "f3"], {"m": [1.0, 2.0, 3.0]})
    b = mean_samples(["f3", "f1", "f9"], {"m": [30.0, 10.0, 90.0]})
    left, right = paired(a, b)
    assert left["id"].tolist() == right["id"].tolist() == ["f1", "f3"]
    assert right["value/m"].tolist() == [10.0, 30.0]
    assert paired(a, mean_samples(["x"], {"m": [0.0]})) is None
    assert paired(mean_samples(["f1", "f1"], {"m": [1.0, 2.0]}), a) is None  # ambiguous: ids repeat


def test_ratio_and_confusion_metrics_are_recomputed_on_each_resample():
    rng = np.random.default_rng(2)
    annotated = rng.random((50, 16)) < 0.9
    correct = annotated & (rng.random((50, 16)) < 0.7)
    a = pckh_samples(np.arange(50), correct, correct, annotated)
    interval = difference([a], [dict(a)], "total", n_resamples=200)
    assert interval.low == interval.high == 0.0
    matrices = rng.integers(0, 20, (30, 20, 20))
    c = confusion_samples(np.arange(30), matrices)
    better = confusion_samples(np.arange(30), matrices + 5 * np.eye(20, dtype=np.int64))
    assert verdict(difference([better], [c], "miou", n_resamples=200), lower_is_better=False) == "better"


def test_an_interval_knows_whether_it_excludes_zero():
    assert Interval(1.0, 0.2, 2.0, 10, 1).excludes_zero
    assert not Interval(1.0, -0.2, 2.0, 10, 1).excludes_zero


def test_drawing_in_chunks_gives_the_same_interval(monkeypatch):
    rng = np.random.default_rng(5)
    a = [mean_samples(np.arange(90), {"m": rng.normal(0, 1, 90)}) for _ in range(2)]
    b = [mean_samples(np.arange(90), {"m": rng.normal(0, 1, 90)}) for _ in range(2)]

    def bounds():
        both, one = difference(a, b, "m", n_resamples=300), difference(a[:1], b[:1], "m", n_resamples=300)
        return [both.low, both.high, one.low, one.high]

    at_once = bounds()
    monkeypatch.setattr(bootstrap, "WEIGHTS_HELD", 90 * 2 * 7)  # 7 resamples a chunk
    assert bounds() == pytest.approx(at_once, rel=1e-12)  # the same draws; sums may round otherwise


def test_nan_metrics_give_no_verdict_and_say_on_how_many_resamples():
    """A NaN per-sample value (a diverged model) makes the cell and every resample NaN; a ratio whose
    denominator a resample can draw empty (a joint annotated on 2 of 40 persons) is NaN on just those
    resamples. Neither gets a verdict, and the count of undefined resamples is kept: (1 − 2/40)^40 of
    them draw neither person."""
    values = np.arange(20.0)
    diverged = mean_samples(np.arange(20), {"m": np.where(values == 3, np.nan, values)})
    interval = difference([diverged], [mean_samples(np.arange(20), {"m": values})], "m", n_resamples=400)
    assert np.isnan(interval.estimate) and verdict(interval, lower_is_better=True) == ""
    assert interval.undefined == 400 and "metric is NaN (a diverged" in no_verdict(interval)
    annotated = np.ones((40, 16), bool)
    annotated[2:, 0] = False  # joint 0 (r_ankle) annotated on persons 0 and 1 only
    a = pckh_samples(np.arange(40), annotated, annotated, annotated)
    b = pckh_samples(np.arange(40), annotated & (np.arange(40) % 2 == 0)[:, None], annotated, annotated)
    rare = difference([a], [b], "ankle", n_resamples=1000)
    assert np.isfinite(rare.estimate) and verdict(rare, lower_is_better=False) == ""
    assert rare.undefined == pytest.approx(1000 * (1 - 2 / 40) ** 40, rel=0.25)
    assert f"NaN on {rare.undefined} of 1000 resamples" in no_verdict(rare)
    assert no_verdict(difference([a], [a], "total", n_resamples=100)) == ""
