"""A block bootstrap over time: resample whole seconds, not single samples. Pure numpy.

Latencies of one run are correlated in time (a slow second slows every message in it; a
busy machine slows a whole stretch of seconds), so resampling single samples
(:func:`wsbench.result.stats.bootstrap_statistics`) makes intervals too narrow and calls a
1.06× difference "significant". Here the unit is time: the target's ``blocks`` (written by
the runner, :func:`wsbench.result.shards.time_blocks`) hold one histogram per second (or
per few seconds in long runs), and a resample is a **circular moving-block bootstrap** of
them: runs of ``L`` consecutive units drawn at random starts, laid end to end until the
run's length, added up. ``L`` comes from the data: the first lag at which the
autocorrelation of the per-unit statistic is no longer significant (|r| < 2/√n), so a run
whose tail drifted for several seconds gets long blocks and wide intervals. With fewer than
:data:`MIN_BLOCKS` such blocks the run is too short to tell (None). Deterministic for a
given ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from wsbench.metrics.histogram import Histogram
from wsbench.result.stats import DEFAULT_RESAMPLES, parse_statistic

__all__ = ["MIN_BLOCKS", "block_histograms", "block_samples", "block_length"]

#: Fewer independent blocks than this cannot say anything about time: too short to tell.
MIN_BLOCKS = 3
_BLOCK_KEYS = {("rtt",): "rtt", ("upgrade", "total"): "upgrade_total"}


def block_histograms(target_extra: Mapping[str, Any], path: Sequence[str]) -> list[str]:
    """The encoded block histograms of the summary at ``path`` ([] when the target has none)."""
    blocks = target_extra.get("blocks")
    key = _BLOCK_KEYS.get(tuple(path))
    if not isinstance(blocks, Mapping) or key is None:
        return []
    listed = blocks.get(key)
    return [h for h in listed if isinstance(h, str)] if isinstance(listed, list) else []


def block_length(series: np.ndarray) -> int:
    """Units per block: the first lag whose autocorrelation is not significant (|r| < 2/√n)."""
    n = len(series)
    centred = series - series.mean()
    variance = float(centred @ centred)
    if n < 3 or variance == 0.0:
        return 1
    bound = 2.0 / np.sqrt(n)
    for lag in range(1, n // 2 + 1):
        if abs(float(centred[:-lag] @ centred[lag:]) / variance) < bound:
            return lag
    return n // 2 + 1


def block_samples(encoded: Sequence[str], statistic: str, *, resamples: int = DEFAULT_RESAMPLES,
                  seed: int = 0) -> np.ndarray | None:
    """``statistic`` (µs) of ``resamples`` moving-block-bootstrap resamples; None when the
    run holds fewer than MIN_BLOCKS blocks of the length its autocorrelation asks for."""
    sparse = []
    for text in encoded:
        histogram = Histogram.decode(text)
        if histogram.count:
            indices, counts = histogram.to_sparse()
            sparse.append((np.asarray(indices, dtype=np.int64), np.asarray(counts, dtype=np.float64)))
    units = len(sparse)
    if units < MIN_BLOCKS:
        return None
    columns = np.unique(np.concatenate([indices for indices, _ in sparse]))
    matrix = np.zeros((units, len(columns)))
    for row, (indices, counts) in enumerate(sparse):
        matrix[row, np.searchsorted(columns, indices)] = counts
    values = Histogram().bucket_bounds(columns)[1].astype(float)
    percentile = parse_statistic(statistic)
    per_unit = np.array([_statistic(row, values, percentile) for row in matrix])
    length = block_length(per_unit)
    if units / length < MIN_BLOCKS:
        return None
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, units, size=(resamples, -(-units // length)))
    picked = ((starts[:, :, None] + np.arange(length)) % units).reshape(resamples, -1)[:, :units]
    weights = np.zeros((resamples, units))
    np.add.at(weights, (np.repeat(np.arange(resamples), units), picked.ravel()), 1.0)
    counts = weights @ matrix  # resamples x buckets
    totals = counts.sum(axis=1)
    if percentile is None:
        middles = (Histogram().bucket_bounds(columns)[0] + values + 1) / 2
        return np.asarray((counts @ middles) / totals)
    wanted = np.clip(np.floor(min(percentile, 100.0) / 100.0 * totals + 0.5), 1, totals)
    index = np.argmax(np.cumsum(counts, axis=1) >= wanted[:, None], axis=1)
    return np.asarray(values[index])


def _statistic(counts: np.ndarray, values: np.ndarray, percentile: float | None) -> float:
    """The statistic of one unit's bucket counts (its mean for ``None``)."""
    total = counts.sum()
    if percentile is None:
        return float(counts @ values / total)
    wanted = max(1.0, np.floor(min(percentile, 100.0) / 100.0 * total + 0.5))
    return float(values[int(np.argmax(np.cumsum(counts) >= wanted))])
