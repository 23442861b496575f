"""Histograms as distributions, and the bootstrap used by compare and the gate."""

from __future__ import annotations

import numpy as np
import pytest

from wsbench.metrics.histogram import Histogram
from wsbench.result.distribution import Distribution, HdrDecodeError, bucket_bounds, distribution_of
from wsbench.result.stats import bootstrap_statistics, compare, parse_statistic


def lognormal(seed, median_us=1500.0, sigma=0.6, n=20_000):
    rng = np.random.default_rng(seed)
    return np.maximum(rng.lognormal(np.log(median_us), sigma, n), 1).astype(np.int64)


def test_reads_hdrhistogram_encodings_like_the_summaries(resultgen):
    values = lognormal(1)
    theirs = resultgen.hdrh_summary(values)  # encoded by HdrHistogram_py
    ours = resultgen.summary(values)  # encoded by wsbench.metrics.histogram
    for summary in (theirs, ours):
        dist = distribution_of(summary)
        assert dist.total == len(values) == summary["count"]
        for name, percentile in (("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9)):
            assert dist.value_at_percentile(percentile) / 1000 == summary[name]
        assert dist.value_at_percentile(100) / 1000 == summary["max"]
        assert dist.mean() / 1000 == pytest.approx(summary["mean"], rel=1e-9)


def test_bucket_bounds_match_the_histogram():
    hist = Histogram()
    for value in (0, 1, 2047, 2048, 2049, 4095, 4096, 123_456, 59_999_999):
        index = hist.index_of(value)
        low, high = bucket_bounds(np.array([index]), lowest=1, significant_digits=3)
        assert low[0] <= value <= high[0]
        single = Histogram()
        single.record(value)
        assert single.max == high[0] and single.min == low[0]


def test_spectrum_cdf_and_empty():
    dist = Distribution.from_hdr(_encoded(lognormal(2)))
    percentiles, values = dist.percentile_spectrum()
    assert np.all(np.diff(percentiles) >= 0) and np.all(np.diff(values) >= 0) and percentiles[-1] < 100
    xs, fractions = dist.cdf()
    assert fractions[-1] == pytest.approx(1.0) and np.all(np.diff(xs) > 0)
    empty = Distribution.from_hdr(Histogram().encode())
    assert empty.total == 0 and empty.value_at_percentile(99) == 0.0 and len(empty.cdf()[0]) == 0
    assert distribution_of({"count": 0}) is None and distribution_of(None) is None
    with pytest.raises(HdrDecodeError):
        distribution_of({"hdr": "bm90IGEgaGlzdG9ncmFt"})


def _encoded(values):
    hist = Histogram()
    hist.record_many(values)
    return hist.encode()


@pytest.mark.parametrize(("name", "expected"), [("p50", 50.0), ("p999", 99.9), ("p9999", 99.99), ("p100", 100.0), ("mean", None), ("p5", 5.0)])
def test_parse_statistic(name, expected):
    assert parse_statistic(name) == expected


def test_parse_statistic_rejects():
    for bad in ("p", "p955", "median", "max"):
        with pytest.raises(ValueError):
            parse_statistic(bad)


def test_windowed_bootstrap_matches_a_plain_bootstrap_of_the_samples():
    """Merging far buckets (an optimisation) gives the same intervals as resampling raw values."""
    values = lognormal(3, n=5000)
    dist = Distribution.from_hdr(_encoded(values))
    ours = bootstrap_statistics(dist, ["p50", "p99", "mean"], resamples=2000, seed=1)
    rng = np.random.default_rng(2)
    bucketed = dist.highest_us[np.searchsorted(np.cumsum(dist.counts), np.arange(1, dist.total + 1))]
    draws = rng.choice(bucketed, size=(2000, len(bucketed)), replace=True)
    plain = {
        "p50": np.sort(draws, axis=1)[:, int(0.5 * len(bucketed) + 0.5) - 1],
        "p99": np.sort(draws, axis=1)[:, int(0.99 * len(bucketed) + 0.5) - 1],
    }
    for name in ("p50", "p99"):
        assert np.percentile(ours[name], [2.5, 97.5]) == pytest.approx(np.percentile(plain[name], [2.5, 97.5]), rel=0.03)
    middle = dist.middle_us.astype(float)
    mean_sd = np.sqrt(np.average((middle - dist.mean()) ** 2, weights=dist.counts) / dist.total)
    assert ours["mean"].std() == pytest.approx(mean_sd, rel=0.1)


def test_compare_finds_real_differences_and_not_noise():
    a = Distribution.from_hdr(_encoded(lognormal(4)))
    same = Distribution.from_hdr(_encoded(lognormal(5)))
    slower = Distribution.from_hdr(_encoded(lognormal(6, median_us=1800)))
    assert not compare(same, a, "p50").significant
    estimate = compare(slower, a, "p50")
    assert estimate.significant and estimate.ratio.low > 1.1 and estimate.ratio.contains(1.2)
    assert estimate.difference_ms.point == pytest.approx(estimate.a_ms - estimate.b_ms)
    assert compare(slower, a, "p99", seed=3) == compare(slower, a, "p99", seed=3)  # deterministic


def test_false_alarm_rate_is_near_the_confidence_level():
    base = Distribution.from_hdr(_encoded(lognormal(100, n=5000)))
    alarms = sum(
        compare(Distribution.from_hdr(_encoded(lognormal(200 + k, n=5000))), base, "p99", resamples=500, seed=k).significant
        for k in range(20)
    )
    assert alarms <= 3  # 95 % intervals: about 1 in 20 expected
