"""A latency distribution read from a summary's ``hdr``: what plots and statistics use.

Pure data, no I/O. The ``hdr`` is decoded by :class:`wsbench.metrics.histogram.Histogram`
and kept as its non-empty buckets only (lowest value, highest equivalent value, count),
which is what percentile plots, CDFs and bootstrap resampling need. Values are
microseconds; the percentile rule is HdrHistogram's (the highest value equivalent to the
bucket where the cumulative count reaches ``round(p/100 * total)``), so numbers match the
summaries in the Result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from wsbench.errors import HdrDecodeError
from wsbench.metrics.histogram import Histogram
from wsbench.result.summary import Summary

__all__ = ["Distribution", "HdrDecodeError", "distribution_of", "percentile_index", "bucket_bounds"]


def bucket_bounds(
    indices: np.ndarray, *, lowest: int, significant_digits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest equivalent value of HDR counts-array ``indices`` (vectorised),
    in the layout of :class:`Histogram` (which owns it)."""
    return Histogram(lowest=lowest, significant_digits=significant_digits).bucket_bounds(indices)


def percentile_index(cumulative: np.ndarray, total: int, percentile: float) -> np.ndarray:
    """Index of the bucket holding ``percentile`` along the last axis of ``cumulative``.

    Works on one histogram (1-D) or on a stack of resampled ones (2-D) at once.
    """
    wanted = min(max(1, int(percentile / 100.0 * total + 0.5)), total)
    result: np.ndarray = np.argmax(cumulative >= wanted, axis=-1)
    return result


@dataclass(frozen=True, eq=False)
class Distribution:
    """Non-empty HDR buckets: lowest value, highest equivalent value (µs) and count."""

    lowest_us: np.ndarray
    highest_us: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_histogram(cls, histogram: Histogram) -> Distribution:
        """The non-empty buckets of a :class:`Histogram`."""
        indices, counts = histogram.to_sparse()
        low, high = histogram.bucket_bounds(np.asarray(indices, dtype=np.int64))
        return cls(low, high, np.asarray(counts, dtype=np.int64))

    @classmethod
    def from_hdr(cls, text: str) -> Distribution:
        """Decode a serialised histogram (standard HdrHistogram V2 compressed base64)."""
        try:
            histogram = Histogram.decode(text)
        except (ValueError, TypeError) as exc:
            raise HdrDecodeError(str(exc)) from exc
        return cls.from_histogram(histogram)

    @property
    def total(self) -> int:
        """Number of recorded values."""
        return int(self.counts.sum())

    @property
    def middle_us(self) -> np.ndarray:
        """HdrHistogram's median-equivalent value of each bucket (used for means)."""
        return self.lowest_us + (self.highest_us - self.lowest_us + 1) // 2

    def value_at_percentile(self, percentile: float) -> float:
        """The value (µs) at ``percentile`` (0-100); 0.0 when empty."""
        total = self.total
        if total == 0:
            return 0.0
        index = int(percentile_index(np.cumsum(self.counts), total, min(percentile, 100.0)))
        return float(self.highest_us[index])

    def mean(self) -> float:
        """Mean value (µs); 0.0 when empty."""
        total = self.total
        return float((self.middle_us * self.counts).sum() / total) if total else 0.0

    def percentile_spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """``(percentiles, values_us)`` as steps, one per bucket, for the HdrHistogram plot.

        The last step ends just below 100 % so the axis ``1/(1-p)`` stays finite.
        """
        total = self.total
        if total == 0:
            return np.zeros(0), np.zeros(0)
        ends = np.minimum(100.0 * np.cumsum(self.counts) / total, 100.0 * (1.0 - 0.5 / total))
        starts = np.concatenate([[0.0], ends[:-1]])
        return (
            np.column_stack([starts, ends]).ravel(),
            np.repeat(self.highest_us.astype(float), 2),
        )

    def cdf(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values_us, cumulative_fraction)`` at the top of each bucket."""
        total = self.total
        if total == 0:
            return np.zeros(0), np.zeros(0)
        return self.highest_us.astype(float), np.cumsum(self.counts) / total


def distribution_of(summary: Summary | Mapping[str, Any] | None) -> Distribution | None:
    """The distribution of a summary ``H`` of the Result; None when it carries no ``hdr``.

    Raises :class:`~wsbench.errors.HdrDecodeError` when the ``hdr`` is present but unreadable.
    """
    if isinstance(summary, Summary):
        text: Any = summary.hdr
    elif isinstance(summary, Mapping):
        text = summary.get("hdr")
    else:
        return None
    if not isinstance(text, str) or not text:
        return None
    return Distribution.from_hdr(text)
