"""``Summary``: one histogram of the Result (``H`` in DESIGN.md's contract). Pure.

Latencies in milliseconds (floats) and ``hdr``, the histogram in the standard HdrHistogram
V2 compressed encoding, which :meth:`Summary.histogram` decodes to a
:class:`~wsbench.metrics.histogram.Histogram`. Every field may be absent (older or
hand-written Results; a worker shard's part carries only ``hdr``); absent is None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wsbench.errors import HdrDecodeError, InputFileError
from wsbench.metrics.histogram import Histogram
from wsbench.result.codec import Field, Section, read_int, read_number, read_str

__all__ = ["Summary", "STATISTICS"]

#: The statistics a summary carries, in file order (ms, except ``count``).
STATISTICS = ("count", "min", "mean", "p50", "p90", "p99", "p999", "max")
_FIELDS = (
    Field("count", read_int),
    *(Field(name, read_number) for name in STATISTICS[1:]),
    Field("hdr", read_str),
)


@dataclass(frozen=True)
class Summary(Section):
    """A histogram's count, min, mean, p50/p90/p99/p99.9, max (ms) and its encoding."""

    FIELDS: ClassVar[tuple[Field, ...]] = _FIELDS

    count: int | None = None
    min: float | None = None
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    p999: float | None = None
    max: float | None = None
    hdr: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, histogram: Histogram) -> Summary:
        """The summary of ``histogram`` (what the runner writes)."""
        return cls(**histogram.summary_ms())

    @classmethod
    def of_hdr(cls, text: str) -> Summary:
        """A summary carrying only an encoded histogram (a worker shard's)."""
        return cls(hdr=text)

    def statistic(self, name: str) -> float | None:
        """``count`` or a latency (ms); None when absent or when the histogram is empty."""
        value = getattr(self, name, None) if name in STATISTICS else self.extra.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if name != "count" and self.count == 0:
            return None
        return float(value)

    @property
    def has_samples(self) -> bool:
        return bool(self.count)

    def histogram(self, where: str = "hdr") -> Histogram | None:
        """The decoded ``hdr`` (None when there is none); HdrDecodeError naming ``where``."""
        if not self.hdr:
            return None
        try:
            return Histogram.decode(self.hdr)
        except (ValueError, TypeError) as exc:
            raise HdrDecodeError(f"{where}: {exc}" if where != "hdr" else str(exc)) from exc

    @classmethod
    def merge(cls, summaries: Iterable[tuple[str, Summary | None]], where: str) -> Summary:
        """The summary of the exact sum of the histograms behind ``(label, summary)`` pairs.

        A summary with samples but no ``hdr`` cannot be merged (InputFileError); a broken
        ``hdr`` raises HdrDecodeError naming ``label: where.hdr``.
        """
        total = Histogram()
        for label, summary in summaries:
            if summary is None:
                continue
            hist = summary.histogram(f"{label}: {where}.hdr")
            if hist is None:
                if summary.count:
                    raise InputFileError(f"{label}: {where} has samples but no 'hdr' histogram to merge")
                continue
            total.merge(hist)
        return cls.of(total)
