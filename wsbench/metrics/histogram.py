"""HDR histogram of integer latencies (µs), backed by a numpy counts array.

Pure code: no I/O, no asyncio, no clock reads. The bucket layout, the percentile rules and
the wire format are HdrHistogram's (checked against HdrHistogram_py in the tests):

* layout: ``lowest`` (lowest discernible value), ``highest`` (highest trackable value) and
  ``significant_digits`` give the same counts array as every HdrHistogram port, so a
  counts-array index means the same bucket everywhere (see :meth:`Histogram.to_sparse`);
* :meth:`Histogram.value_at_percentile` answers like ``get_value_at_percentile``: the highest
  value equivalent to the bucket that holds the requested rank;
* :meth:`Histogram.encode` writes the standard V2 compressed form (base64 of cookie
  ``0x1c849314`` + length + zlib of a ``0x1c849313`` payload of zig-zag LEB128 counts, zero
  runs as negative numbers), which any HdrHistogram library decodes.

Differences: values above ``highest`` are clamped to it and counted in
:attr:`Histogram.clamped` (HdrHistogram drops or rejects them); ``clamped`` does not travel
in the encoding.
"""

from __future__ import annotations

import base64
import binascii
import math
import operator
import struct
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Histogram", "merge_all"]

_PAYLOAD_COOKIE = 0x1C849313  # V2 encoding cookie base 0x1c849303 | 0x10 (as Java, C, Python)
_COMPRESSED_COOKIE = 0x1C849314  # V2 compressed cookie base 0x1c849304 | 0x10
_COOKIE_BASE_MASK = ~0xF0  # the 0xf0 nibble carries a word size that V2 ignores
_OUTER_HEADER = struct.Struct(">II")  # cookie, length of the zlib data
# cookie, payload length, normalizing index offset, significant digits, lowest, highest,
# integer-to-double conversion ratio
_PAYLOAD_HEADER = struct.Struct(">IIiIqqd")
_VARINT_MAX_BYTES = 9  # LEB128-64b9B: 8 bytes of 7 bits, then one full byte


class Histogram:
    """Counts of integer values (µs) in HdrHistogram buckets; see the module docstring."""

    __slots__ = (
        "clamped",
        "_lowest",
        "_highest",
        "_digits",
        "_unit",
        "_half_magnitude",
        "_half_count",
        "_mask",
        "_bucket_shift",
        "_offset",
        "_counts",
        "_view",
        "_version",
        "_encoded",
    )

    def __init__(
        self, *, lowest: int = 1, highest: int = 3_600_000_000, significant_digits: int = 3
    ) -> None:
        if lowest < 1:
            raise ValueError(f"lowest must be >= 1, not {lowest}")
        if highest < 2 * lowest or highest >= 2**62:
            raise ValueError(f"highest must be in [2 * lowest, 2**62), not {highest}")
        if not 1 <= significant_digits <= 5:
            raise ValueError(f"significant_digits must be 1..5, not {significant_digits}")
        # The same float formulas as HdrHistogram, so odd ``lowest`` values agree too.
        unit = int(math.floor(math.log(lowest) / math.log(2)))
        single_unit_range = 2 * 10**significant_digits
        count_magnitude = int(math.ceil(math.log(single_unit_range) / math.log(2)))
        half_magnitude = max(count_magnitude, 1) - 1
        sub_bucket_count = 1 << (half_magnitude + 1)
        smallest_untrackable = sub_bucket_count << unit
        buckets = 1
        while smallest_untrackable <= highest:
            smallest_untrackable <<= 1
            buckets += 1
        self._lowest = lowest
        self._highest = highest
        self._digits = significant_digits
        self._unit = unit
        self._half_magnitude = half_magnitude
        self._half_count = sub_bucket_count >> 1
        self._mask = (sub_bucket_count - 1) << unit
        # shift = bucket index + unit = bit_length(value | mask) - _bucket_shift
        self._bucket_shift = half_magnitude + 1
        self._offset = unit << half_magnitude
        self._counts = np.zeros((buckets + 1) * self._half_count, dtype=np.int64)
        self._view = memoryview(self._counts)  # scalar += through it is ~3x faster
        #: How many recorded values were above ``highest`` (recorded as ``highest``).
        self.clamped = 0
        self._version = 0  # bumped by every change: encode() reuses its text until then
        self._encoded: tuple[int, str] | None = None

    # --- layout ---------------------------------------------------------------------

    @property
    def layout(self) -> tuple[int, int, int]:
        """``(lowest, highest, significant_digits)``."""
        return (self._lowest, self._highest, self._digits)

    @property
    def counts_len(self) -> int:
        """Length of the counts array (23,552 for the default layout)."""
        return len(self._counts)

    def index_of(self, value: int) -> int:
        """Counts-array index of the bucket holding ``value`` (0 <= value <= highest)."""
        shift = (value | self._mask).bit_length() - self._bucket_shift
        return (shift << self._half_magnitude) + (value >> shift) - self._offset

    def bucket_bounds(self, indices: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Lowest and highest equivalent value of each counts-array index (vectorised).

        The one place the bucket layout is spelled out backwards (value -> index is
        :meth:`index_of`): ``2 * 10**digits`` values at unit resolution, then buckets that
        double in width.
        """
        where = np.asarray(indices, dtype=np.int64)
        bucket = (where >> self._half_magnitude) - 1
        sub_bucket = (where & (self._half_count - 1)) + self._half_count
        sub_bucket = np.where(bucket < 0, sub_bucket - self._half_count, sub_bucket)
        shift = np.maximum(bucket, 0) + self._unit
        low = sub_bucket << shift
        return low, low + (np.int64(1) << shift) - 1

    def _indices(self, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Vectorised :meth:`index_of`: bit length from the float64 exponent field.

        Above 2**53 the float can round up to the next power of two, making ``shift`` one too
        big; that happens only when the top 53 bits are all ones, and then
        ``((shift + 1) << m) + (value >> (shift + 1))`` is the same index, so no fix is needed.
        """
        exponent = (values | self._mask).astype(np.float64).view(np.int64) >> 52
        shift = exponent - (1022 + self._bucket_shift)
        return (shift << self._half_magnitude) + (values >> shift) - self._offset

    # --- recording ------------------------------------------------------------------

    def record(self, value: int, count: int = 1) -> None:
        """Add ``count`` occurrences of ``value``; above ``highest`` counts as ``highest``."""
        try:
            if 0 <= value <= self._highest and count >= 0:
                shift = (value | self._mask).bit_length() - self._bucket_shift
                index = (shift << self._half_magnitude) + (value >> shift) - self._offset
                self._view[index] += count
                self._version += 1
                return
        except (AttributeError, TypeError):  # numpy integers, or not an integer at all
            pass
        value = operator.index(value)
        count = operator.index(count)
        if value < 0 or count < 0:
            raise ValueError(f"value and count must be >= 0, not {value}, {count}")
        if value > self._highest:
            value = self._highest
            self.clamped += count
        self._counts[self.index_of(value)] += count
        self._version += 1

    def record_many(self, values: npt.ArrayLike) -> None:
        """Record every value of an integer array or sequence, once each (vectorised)."""
        array = np.asarray(values).ravel()
        if array.size == 0:
            return
        if array.dtype.kind not in "iu":
            raise TypeError(f"values must be integers, not {array.dtype}")
        if int(array.min()) < 0:
            raise ValueError("values must be >= 0")
        if int(array.max()) > self._highest:
            self.clamped += int(np.count_nonzero(array > self._highest))
            array = np.minimum(array, self._highest)
        # np.add.at beats np.bincount at every batch size with numpy >= 2 (measured)
        np.add.at(self._counts, self._indices(array.astype(np.int64, copy=False)), 1)
        self._version += 1

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s counts (and ``clamped``) to this histogram, exactly."""
        if not isinstance(other, Histogram):
            raise TypeError(f"cannot merge {type(other).__name__} into a Histogram")
        if other.layout != self.layout:
            raise ValueError(f"cannot merge layout {other.layout} into {self.layout}")
        self._counts += other._counts
        self.clamped += other.clamped
        self._version += 1

    def to_sparse(self) -> tuple[list[int], list[int]]:
        """``(indices, counts)`` of the non-empty buckets, as JSON-able lists."""
        indices = np.flatnonzero(self._counts)
        return indices.tolist(), self._counts[indices].tolist()

    def add_sparse(self, indices: npt.ArrayLike, counts: npt.ArrayLike) -> None:
        """Add counts given as :meth:`to_sparse` returns them (indices may repeat)."""
        where = _integers(indices, "indices")
        amounts = _integers(counts, "counts")
        if where.shape != amounts.shape:
            raise ValueError(f"{where.size} indices but {amounts.size} counts")
        if where.size == 0:
            return
        if int(where.min()) < 0 or int(where.max()) >= self._counts.size:
            raise ValueError(f"indices must be in [0, {self._counts.size})")
        if int(amounts.min()) < 0:
            raise ValueError("counts must be >= 0")
        np.add.at(self._counts, where, amounts)
        self._version += 1

    def copy(self) -> Histogram:
        """An independent histogram with the same layout, counts and ``clamped``."""
        twin = Histogram(
            lowest=self._lowest, highest=self._highest, significant_digits=self._digits
        )
        twin._counts[:] = self._counts
        twin.clamped = self.clamped
        return twin

    def reset(self) -> None:
        """Forget every recorded value."""
        self._counts.fill(0)
        self.clamped = 0
        self._version += 1

    # --- statistics -----------------------------------------------------------------

    @property
    def count(self) -> int:
        """Number of recorded values."""
        return int(self._counts.sum())

    @property
    def min(self) -> int:
        """Lowest value equivalent to the smallest recorded value (0 when empty)."""
        nonzero = np.flatnonzero(self._counts)
        return int(self.bucket_bounds(nonzero[:1])[0][0]) if nonzero.size else 0

    @property
    def max(self) -> int:
        """Highest value equivalent to the largest recorded value (0 when empty)."""
        nonzero = np.flatnonzero(self._counts)
        return int(self.bucket_bounds(nonzero[-1:])[1][0]) if nonzero.size else 0

    @property
    def mean(self) -> float:
        """Mean of the bucket midpoints, as HdrHistogram computes it (0.0 when empty)."""
        indices = np.flatnonzero(self._counts)
        if not indices.size:
            return 0.0
        low, high = self.bucket_bounds(indices)
        midpoints = low + ((high - low + 1) >> 1)
        counts = self._counts[indices].tolist()
        weighted = sum(map(operator.mul, counts, midpoints.tolist()))  # exact, like HdrHistogram
        return float(weighted) / sum(counts)

    def value_at_percentile(self, percentile: float) -> int:
        """Value at ``percentile`` (0..100) with HdrHistogram's rounding; 0 when empty."""
        return self._values_at_percentiles([percentile])[0]

    def _values_at_percentiles(self, percentiles: Iterable[float]) -> list[int]:
        wanted = list(percentiles)
        for percentile in wanted:
            if not percentile >= 0.0:
                raise ValueError(f"percentile must be in [0, 100], not {percentile}")
        cumulative = np.cumsum(self._counts)
        total = int(cumulative[-1])
        if not total:
            return [0] * len(wanted)
        targets = [max(int(min(p, 100.0) * total / 100 + 0.5), 1) for p in wanted]
        indices = np.searchsorted(cumulative, targets, side="left").tolist()
        lows, highs = self.bucket_bounds(indices)
        return [
            int(high) if percentile else int(low)
            for percentile, low, high in zip(wanted, lows.tolist(), highs.tolist(), strict=True)
        ]

    def percentile_spectrum(self, ticks_per_half_distance: int = 5) -> list[tuple[float, int]]:
        """``(percentile, value)`` steps of HdrHistogram's percentile iterator, for plots."""
        if ticks_per_half_distance < 1:
            raise ValueError("ticks_per_half_distance must be >= 1")
        indices = np.flatnonzero(self._counts)
        if not indices.size:
            return []
        running = np.cumsum(self._counts[indices]).tolist()
        total = running[-1]
        points: list[tuple[float, int]] = []
        level = 0.0
        for value, reached in zip(self.bucket_bounds(indices)[1].tolist(), running, strict=True):
            current = (100.0 * reached) / total
            if reached == total:  # one step at the pending level, then the final 100 %
                if current >= level:
                    points.append((level, value))
                points.append((100.0, value))
                break
            while current >= level:
                points.append((level, value))
                gap = 100.0 - level
                following = math.inf  # the level cannot move (HdrHistogram would spin here)
                if gap:
                    half_distance = math.pow(2, (math.log(100 / gap) / math.log(2)) + 1)
                    following = level + 100.0 / (ticks_per_half_distance * half_distance)
                level = following if following > level else math.inf
        return points

    def summary_ms(self) -> dict[str, Any]:
        """Count, min, mean, p50/p90/p99/p99.9, max in ms (floats), and ``hdr``: encode()."""
        p50, p90, p99, p999 = self._values_at_percentiles([50.0, 90.0, 99.0, 99.9])
        return {
            "count": self.count,
            "min": self.min / 1000.0,
            "mean": self.mean / 1000.0,
            "p50": p50 / 1000.0,
            "p90": p90 / 1000.0,
            "p99": p99 / 1000.0,
            "p999": p999 / 1000.0,
            "max": self.max / 1000.0,
            "hdr": self.encode(),
        }

    # --- wire format ----------------------------------------------------------------

    def encode(self) -> str:
        """The standard HdrHistogram V2 compressed, base64 form of the counts.

        The text is kept until the next change: a worker writes its shard every second, and
        an idle run's histograms do not change (~1 ms each to encode).
        """
        if self._encoded is not None and self._encoded[0] == self._version:
            return self._encoded[1]
        nonzero = np.flatnonzero(self._counts)
        words = _run_length_words(self._counts[nonzero], nonzero)
        varints = _write_varints(words)
        payload = _PAYLOAD_HEADER.pack(
            _PAYLOAD_COOKIE, len(varints), 0, self._digits, self._lowest, self._highest, 1.0
        )
        compressed = zlib.compress(payload + varints)
        outer = _OUTER_HEADER.pack(_COMPRESSED_COOKIE, len(compressed))
        text = base64.b64encode(outer + compressed).decode("ascii")
        self._encoded = (self._version, text)
        return text

    @classmethod
    def decode(cls, text: str | bytes) -> Histogram:
        """Inverse of :meth:`encode`; reads any V2 histogram (e.g. HdrHistogram_py's)."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError("not a base64 HdrHistogram encoding") from exc
        if len(raw) < _OUTER_HEADER.size:
            raise ValueError("HdrHistogram encoding too short")
        cookie, length = _OUTER_HEADER.unpack_from(raw)
        if cookie & _COOKIE_BASE_MASK != _COMPRESSED_COOKIE & _COOKIE_BASE_MASK:
            raise ValueError(f"not a V2 compressed HdrHistogram (cookie {cookie:#x})")
        if length != len(raw) - _OUTER_HEADER.size:
            raise ValueError(f"compressed length {length} != {len(raw) - _OUTER_HEADER.size}")
        try:
            payload = zlib.decompress(raw[_OUTER_HEADER.size :])
        except zlib.error as exc:
            raise ValueError("corrupt HdrHistogram payload") from exc
        if len(payload) < _PAYLOAD_HEADER.size:
            raise ValueError("HdrHistogram payload too short")
        cookie, size, normalizing, digits, lowest, highest, _ratio = _PAYLOAD_HEADER.unpack_from(
            payload
        )
        if cookie & _COOKIE_BASE_MASK != _PAYLOAD_COOKIE & _COOKIE_BASE_MASK:
            raise ValueError(f"not a V2 HdrHistogram payload (cookie {cookie:#x})")
        if normalizing != 0:
            raise ValueError("shifted histograms (normalizing index offset) are not supported")
        if size > len(payload) - _PAYLOAD_HEADER.size:
            raise ValueError("HdrHistogram payload truncated")
        histogram = cls(lowest=lowest, highest=highest, significant_digits=digits)
        words = _read_varints(payload[_PAYLOAD_HEADER.size : _PAYLOAD_HEADER.size + size])
        _fill_counts(histogram._counts, words)
        return histogram

    # --- object protocol ------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.layout == other.layout and bool(np.array_equal(self._counts, other._counts))

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"Histogram(count={self.count}, min={self.min}, max={self.max}, layout={self.layout})"
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"layout": self.layout, "counts": self._counts.copy(), "clamped": self.clamped}

    def __setstate__(self, state: dict[str, Any]) -> None:
        lowest, highest, digits = state["layout"]
        self.__init__(lowest=lowest, highest=highest, significant_digits=digits)  # type: ignore[misc]
        self._counts[:] = state["counts"]
        self.clamped = state["clamped"]
        self._version += 1


def merge_all(hists: Iterable[Histogram]) -> Histogram:
    """A new histogram holding the sum of ``hists`` (an empty default one if none)."""
    merged: Histogram | None = None
    for hist in hists:
        if merged is None:
            merged = hist.copy()
        else:
            merged.merge(hist)
    return merged if merged is not None else Histogram()


# --- V2 codec helpers (module functions: no state) ------------------------------------


def _integers(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if array.size and array.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integers, not {array.dtype}")
    return array.astype(np.int64)


def _run_length_words(
    counts: npt.NDArray[np.int64], indices: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """V2 words for non-zero ``counts`` at ``indices``: each zero run before one as ``-len``."""
    gaps = indices - np.concatenate(([0], indices[:-1] + 1))
    words = np.empty(2 * indices.size, dtype=np.int64)
    words[0::2] = -gaps
    words[1::2] = counts
    keep = np.ones(words.size, dtype=bool)
    keep[0::2] = gaps > 0
    return words[keep]


def _write_varints(words: npt.NDArray[np.int64]) -> bytes:
    """Zig-zag LEB128-64b9B, vectorised."""
    zigzag = ((words << 1) ^ (words >> 63)).view(np.uint64)
    lengths = np.ones(zigzag.size, dtype=np.int64)
    for group in range(1, _VARINT_MAX_BYTES):
        lengths += zigzag >= np.uint64(1 << (7 * group))
    table = np.empty((zigzag.size, _VARINT_MAX_BYTES), dtype=np.uint8)
    for position in range(_VARINT_MAX_BYTES - 1):
        chunk = (zigzag >> np.uint64(7 * position)) & np.uint64(0x7F)
        more = (lengths > position + 1).astype(np.uint64) << np.uint64(7)
        table[:, position] = chunk | more
    table[:, -1] = zigzag >> np.uint64(56)
    return table[np.arange(_VARINT_MAX_BYTES) < lengths[:, None]].tobytes()


def _read_varints(data: bytes) -> npt.NDArray[np.int64]:
    """Inverse of :func:`_write_varints`; ValueError when truncated."""
    stream = np.frombuffer(data, dtype=np.uint8)
    if not stream.size:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(stream < 0x80)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    lengths = ends - starts + 1
    if not ends.size or ends[-1] != stream.size - 1 or lengths.max() > 8:
        return _read_varints_slowly(data)  # a 9-byte word, or a truncated stream
    owner = np.repeat(np.arange(ends.size), lengths)
    position = (np.arange(stream.size) - starts[owner]).astype(np.uint64)
    parts = (stream & 0x7F).astype(np.uint64) << (np.uint64(7) * position)
    zigzag = np.bitwise_or.reduceat(parts, starts)
    return (zigzag >> np.uint64(1)).view(np.int64) ^ -(zigzag & np.uint64(1)).view(np.int64)


def _read_varints_slowly(data: bytes) -> npt.NDArray[np.int64]:
    words: list[int] = []
    value = shift = used = 0
    for byte in data:
        value |= (byte & 0x7F if used < 8 else byte) << shift
        used += 1
        shift += 7
        if byte < 0x80 or used == _VARINT_MAX_BYTES:
            words.append((value >> 1) ^ -(value & 1))
            value = shift = used = 0
    if used:
        raise ValueError("HdrHistogram payload ends inside a number")
    return np.array(words, dtype=np.int64)


def _fill_counts(counts: npt.NDArray[np.int64], words: npt.NDArray[np.int64]) -> None:
    """Lay V2 words (counts, and ``-n`` for n zeros) into an all-zero counts array."""
    if not words.size:
        return
    if int(words.min()) < -counts.size:
        raise ValueError("HdrHistogram payload overruns the counts array")
    steps = np.where(words < 0, -words, 1)
    positions = np.cumsum(steps) - steps
    if int(positions[-1] + steps[-1]) > counts.size:
        raise ValueError("HdrHistogram payload overruns the counts array")
    present = words > 0
    counts[positions[present]] = words[present]
