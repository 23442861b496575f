"""Bootstrap statistics on histograms: confidence intervals for p50/p99/mean differences.

Pure numpy, no I/O, deterministic for a given ``seed`` (a report or a gate verdict
rebuilt from the same files says the same thing).

Method: a histogram of ``n`` samples is resampled as ``multinomial(n, counts / n)``
(the classic bootstrap, done on bucket counts instead of raw samples); each resample
gives the statistic the HdrHistogram way. Two independent distributions are compared
through the ratio and the difference of paired resamples; the interval is the
percentile interval of those. Caveat: the bootstrap assumes independent samples, and
latencies of one run are correlated in time, so intervals are somewhat too narrow; it
also knows nothing of run-to-run variation, which only repeated runs can show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from wsbench.result.distribution import Distribution, percentile_index

__all__ = [
    "DEFAULT_RESAMPLES",
    "DEFAULT_CONFIDENCE",
    "Interval",
    "RatioEstimate",
    "bootstrap_statistics",
    "compare",
    "parse_statistic",
    "statistic_value",
]

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
_CHUNK = 200  # resamples drawn at once; bounds memory to CHUNK x buckets integers
_PERCENTILE_NAME = re.compile(r"^p(\d{1,2})(\d*)$")


def parse_statistic(name: str) -> float | None:
    """``p50`` -> 50.0, ``p999`` -> 99.9, ``p9999`` -> 99.99, ``p100`` -> 100.0, ``mean`` -> None.

    Raises ValueError for a name that is neither ``mean`` nor ``p<digits>``.
    """
    if name == "mean":
        return None
    if name == "p100":
        return 100.0
    match = _PERCENTILE_NAME.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a statistic (use p50, p95, p99, p999, mean)")
    whole, fraction = match.groups()
    if fraction and whole != "99":
        raise ValueError(f"{name!r}: write percentiles as p50, p95, p99, p999 (99.9), p9999")
    return float(f"{whole}.{fraction or 0}")


def statistic_value(dist: Distribution, name: str) -> float:
    """The statistic ``name`` of ``dist`` in µs."""
    percentile = parse_statistic(name)
    if percentile is None:
        return dist.mean()
    return dist.value_at_percentile(percentile)


def _categories(dist: Distribution, percentile: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Fewer multinomial categories giving the same answer: ``(counts, values_us)``.

    Resampling merged buckets is exact for their sums (the multinomial aggregates), so a
    percentile only needs the buckets it can land in: a window of +-8 standard errors of
    the rank around it, with everything below and above merged into one category each
    (landing outside the window has a probability below 1e-15; it would be clamped).
    The mean is linear, so buckets are merged into at most 512 groups of equal count,
    each carrying its count-weighted midpoint (the within-group spread is lost; with
    that many groups it is far below the bucket resolution).
    """
    counts = dist.counts
    total = int(counts.sum())
    if percentile is None:
        groups = min(512, len(counts))
        edges = np.searchsorted(np.cumsum(counts), np.linspace(0, total, groups + 1)[1:-1], side="right")
        labels = np.zeros(len(counts), dtype=np.int64)
        labels[edges[edges < len(counts)]] += 1
        labels = np.cumsum(labels)
        merged = np.bincount(labels, weights=counts).astype(np.int64)
        weighted = np.bincount(labels, weights=counts * dist.middle_us.astype(float))
        keep = merged > 0
        return merged[keep], weighted[keep] / merged[keep]
    fraction = min(percentile, 100.0) / 100.0
    spread = 8.0 * np.sqrt(max(fraction * (1.0 - fraction), 1.0 / total) / total) + 1.0 / total
    cumulative = np.cumsum(counts) / total
    low = int(np.searchsorted(cumulative, fraction - spread, side="left"))
    high = int(np.searchsorted(cumulative, fraction + spread, side="left"))
    low, high = max(low - 1, 0), min(high + 1, len(counts) - 1)
    below, above = counts[:low].sum(), counts[high + 1 :].sum()
    values = dist.highest_us.astype(float)
    return (
        np.concatenate([[below], counts[low : high + 1], [above]]).astype(np.int64),
        np.concatenate([[values[max(low - 1, 0)]], values[low : high + 1], [values[min(high + 1, len(values) - 1)]]]),
    )


def bootstrap_statistics(
    dist: Distribution,
    names: Iterable[str],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Resample ``dist`` ``resamples`` times; per statistic name, its values (µs) per resample."""
    wanted = list(dict.fromkeys(names))
    total = dist.total
    if total == 0:
        return {name: np.zeros(resamples) for name in wanted}
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name in wanted:
        percentile = parse_statistic(name)
        counts, values = _categories(dist, percentile)
        probabilities = counts / total
        parts: list[np.ndarray] = []
        done = 0
        while done < resamples:
            size = min(_CHUNK, resamples - done)
            draws = rng.multinomial(total, probabilities, size=size)
            if percentile is None:
                parts.append(draws @ values / total)
            elif percentile >= 100.0:
                last = draws.shape[1] - 1 - np.argmax(draws[:, ::-1] > 0, axis=1)
                parts.append(values[last])
            else:
                index = percentile_index(np.cumsum(draws, axis=1), total, percentile)
                parts.append(values[index])
            done += size
        out[name] = np.concatenate(parts)
    return out


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    point: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval (inclusive)."""
        return self.low <= value <= self.high


@dataclass(frozen=True)
class RatioEstimate:
    """Statistic of A against B: ratio A/B and difference A-B (ms), with intervals."""

    statistic: str
    a_ms: float
    b_ms: float
    ratio: Interval
    difference_ms: Interval
    confidence: float
    resamples: int

    @property
    def significant(self) -> bool:
        """True when the interval of the ratio excludes 1 (no difference)."""
        return not self.ratio.contains(1.0)


def _interval(point: float, samples: np.ndarray, confidence: float) -> Interval:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(samples, [tail, 100.0 - tail])
    return Interval(point, float(min(low, point)), float(max(high, point)))


def compare(
    a: Distribution,
    b: Distribution,
    statistic: str,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    a_samples: np.ndarray | None = None,
    b_samples: np.ndarray | None = None,
) -> RatioEstimate:
    """Compare one statistic of two independent distributions by bootstrap.

    ``a_samples``/``b_samples`` may carry resamples computed earlier by
    :func:`bootstrap_statistics` (µs), so one target compared with several others is
    resampled once. Denominators are floored at 1 µs.
    """
    if a.total == 0 or b.total == 0:
        raise ValueError("cannot compare an empty histogram")
    if a_samples is None:
        a_samples = bootstrap_statistics(a, [statistic], resamples=resamples, seed=seed)[statistic]
    if b_samples is None:
        b_samples = bootstrap_statistics(b, [statistic], resamples=resamples, seed=seed + 1)[
            statistic
        ]
    count = min(len(a_samples), len(b_samples))
    a_samples, b_samples = a_samples[:count], b_samples[:count]
    a_point = statistic_value(a, statistic)
    b_point = statistic_value(b, statistic)
    ratio = _interval(
        a_point / max(b_point, 1.0), a_samples / np.maximum(b_samples, 1.0), confidence
    )
    difference = _interval(
        (a_point - b_point) / 1000.0, (a_samples - b_samples) / 1000.0, confidence
    )
    return RatioEstimate(
        statistic, a_point / 1000.0, b_point / 1000.0, ratio, difference, confidence, count
    )
