"""A latency distribution read from a summary's ``hdr``: what plots and statistics use.

Pure data, no I/O. Values are microseconds, as in the histograms; the percentile rule is
HdrHistogram's (the highest value equivalent to the bucket where the cumulative count
reaches ``round(p/100 * total)``), so numbers match the summaries in the Result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from wsbench.report._hdr import HdrDecodeError, decode_hdr

__all__ = ["Distribution", "HdrDecodeError", "distribution_of", "percentile_index"]


def percentile_index(cumulative: np.ndarray, total: int, percentile: float) -> np.ndarray:
    """Index of the bucket holding ``percentile`` along the last axis of ``cumulative``.

    Works on one histogram (1-D) or on a stack of resampled ones (2-D) at once.
    """
    wanted = max(1, int(percentile / 100.0 * total + 0.5))
    wanted = min(wanted, total)
    result: np.ndarray = np.argmax(cumulative >= wanted, axis=-1)
    return result


@dataclass(frozen=True, eq=False)
class Distribution:
    """Non-empty HDR buckets: lowest value, highest equivalent value (µs) and count."""

    lowest_us: np.ndarray
    highest_us: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_hdr(cls, text: str) -> Distribution:
        """Decode a serialised histogram (standard HdrHistogram V2 compressed base64)."""
        buckets = decode_hdr(text)
        return cls(
            np.asarray(buckets.lowest, dtype=np.int64),
            np.asarray(buckets.highest, dtype=np.int64),
            np.asarray(buckets.counts, dtype=np.int64),
        )

    @classmethod
    def empty(cls) -> Distribution:
        """A distribution with no samples."""
        nothing = np.zeros(0, dtype=np.int64)
        return cls(nothing, nothing, nothing)

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
        if percentile >= 100.0:
            return float(self.highest_us[-1])
        index = percentile_index(np.cumsum(self.counts), total, percentile)
        return float(self.highest_us[int(index)])

    def mean(self) -> float:
        """Mean value (µs); 0.0 when empty."""
        total = self.total
        return float((self.middle_us * self.counts).sum() / total) if total else 0.0

    def percentile_spectrum(self) -> tuple[np.ndarray, np.ndarray]:
        """``(percentiles, values_us)``: one point per bucket, for the HdrHistogram plot.

        The last point is pinned just below 100 % so the log axis ``1/(1-p)`` stays finite.
        """
        total = self.total
        if total == 0:
            return np.zeros(0), np.zeros(0)
        cumulative = np.cumsum(self.counts)
        percentiles = 100.0 * cumulative / total
        limit = 100.0 * (1.0 - 0.5 / total)
        percentiles = np.minimum(percentiles, limit)
        # the step starts where the previous bucket ended
        starts = np.concatenate([[0.0], percentiles[:-1]])
        xs = np.column_stack([starts, percentiles]).ravel()
        ys = np.repeat(self.highest_us.astype(float), 2)
        return xs, ys

    def cdf(self) -> tuple[np.ndarray, np.ndarray]:
        """``(values_us, cumulative_fraction)`` at the top of each bucket."""
        total = self.total
        if total == 0:
            return np.zeros(0), np.zeros(0)
        return self.highest_us.astype(float), np.cumsum(self.counts) / total


def distribution_of(summary: Mapping[str, Any] | None) -> Distribution | None:
    """The distribution of a summary ``H`` of the Result; None when it carries no ``hdr``.

    Raises :class:`HdrDecodeError` when the ``hdr`` is present but unreadable.
    """
    if not isinstance(summary, Mapping):
        return None
    text = summary.get("hdr")
    if not isinstance(text, str) or not text:
        return None
    return Distribution.from_hdr(text)
