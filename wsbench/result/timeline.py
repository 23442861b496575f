"""The one timeline merge: per-second series of several parts on one clock. Pure.

A part is a :class:`~wsbench.result.model.Timeline` shifted by whole seconds (its t = 0
after the earliest part's), optionally with its RTT histogram of each second (worker
shards keep them, sparse; a Result keeps only ``rtt_p99_ms``). Per second:

- counts (``open``, ``messages_per_s``, ...; any series not named ``*_ms``) are summed;
- ``rtt_p99_ms`` is the p99 of the summed histograms where every part brought one
  (exact); a part that brought only its p99 joins as that number, and the second's value
  is the highest: an upper bound (the p99 of a union never exceeds its parts' largest);
- other ``*_ms`` series: the highest value (an upper bound of the same kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wsbench.metrics.histogram import Histogram
from wsbench.result.model import Timeline

__all__ = ["TimelinePart", "merge_timelines", "RTT_P99"]

RTT_P99 = "rtt_p99_ms"
#: Per second: ``(indices, counts)`` of the non-empty buckets (:meth:`Histogram.to_sparse`).
SparseHistogram = tuple[Sequence[int], Sequence[int]]


@dataclass(frozen=True)
class TimelinePart:
    """One part's timeline, its shift (whole seconds) and, optionally, its per-second RTT."""

    timeline: Timeline
    shift: int = 0
    rtt: Sequence[SparseHistogram] | None = None  # one per entry of ``timeline.t_s``


def merge_timelines(parts: Iterable[TimelinePart], *, keys: Sequence[str] = ()) -> Timeline:
    """The parts on one clock, dense from the first second to the last; ``keys`` come first."""
    slots: dict[str, dict[int, Any]] = {key: {} for key in keys}
    histograms: dict[int, Histogram] = {}
    length = 0
    for part in parts:
        seconds = part.timeline.seconds
        positions = [int(round(t)) - 1 + part.shift for t in seconds]
        for key, values in part.timeline.series.items():
            series = slots.setdefault(key, {})
            if key == RTT_P99 and part.rtt is not None:
                continue
            for slot, value in zip(positions, values, strict=False):
                if value is None:
                    continue
                if key.endswith("_ms"):
                    series[slot] = max(series.get(slot, value), value)
                else:
                    series[slot] = series.get(slot, 0) + value
        if part.rtt is not None:
            slots.setdefault(RTT_P99, {})
            for slot, (indices, counts) in zip(positions, part.rtt, strict=False):
                if len(indices):
                    histograms.setdefault(slot, Histogram()).add_sparse(indices, counts)
        length = max(length, *(slot + 1 for slot in positions), 0) if positions else length
    for slot, histogram in histograms.items():
        exact = round(histogram.value_at_percentile(99.0) / 1000.0, 3)
        series = slots[RTT_P99]
        series[slot] = max(series.get(slot, exact), exact)
    merged: dict[str, tuple[Any, ...]] = {}
    for key, series in slots.items():
        empty = None if key.endswith("_ms") else 0
        merged[key] = tuple(series.get(slot, empty) for slot in range(length))
    return Timeline(t_s=tuple(float(slot + 1) for slot in range(length)), series=merged)
