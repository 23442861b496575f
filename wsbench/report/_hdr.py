"""Read the standard HdrHistogram V2 compressed encoding (the ``hdr`` of every summary).

Pure: a base64 string in, sparse bucket arrays out. Only what reports and the gate need:
the non-empty buckets of one histogram, each with its lowest value, its highest
equivalent value and its count. :mod:`wsbench.report.distribution` prefers
``wsbench.metrics.histogram.Histogram`` when that module is importable; this reader is the
fallback and the reference its tests compare with (the ``hdrhistogram`` package).

Wire format (HdrHistogram's ``encodeIntoCompressedByteBuffer``, V2)::

    base64( cookie 0x1c849314 (u32 BE) | length (u32 BE) | zlib(
        cookie 0x1c849313 | payload_len | normalizing_index_offset | significant_digits
        | lowest_trackable (u64) | highest_trackable (u64) | int_to_double_ratio (f64)
        | counts as ZigZag LEB128 varints, a negative value N meaning -N empty buckets ) )
"""

from __future__ import annotations

import base64
import binascii
import math
import struct
import zlib
from dataclasses import dataclass

__all__ = ["HdrBuckets", "HdrDecodeError", "decode_hdr"]

_COMPRESSION_COOKIE_BASE = 0x1C849304
_ENCODING_COOKIE_BASE = 0x1C849303
_EXTERNAL_HEADER = struct.Struct(">II")
_PAYLOAD_HEADER = struct.Struct(">IIIIqqd")
_MAX_COUNTS = 4 * 1024 * 1024


class HdrDecodeError(ValueError):
    """The text is not a histogram in the standard V2 compressed encoding."""


@dataclass(frozen=True)
class HdrBuckets:
    """The non-empty buckets of one histogram, in increasing value order (µs)."""

    lowest: tuple[int, ...]
    highest: tuple[int, ...]
    counts: tuple[int, ...]
    significant_digits: int


def _cookie_base(cookie: int) -> int:
    return cookie & ~0xF0


def _zigzag_varints(data: bytes, start: int, end: int) -> list[int]:
    """Decode HdrHistogram's ZigZag LEB128 (at most 9 bytes; the 9th carries 8 bits)."""
    values: list[int] = []
    pos = start
    while pos < end:
        raw = 0
        shift = 0
        for byte_number in range(9):
            if pos >= end:
                raise HdrDecodeError("truncated varint in histogram payload")
            byte = data[pos]
            pos += 1
            if byte_number == 8:
                raw |= byte << 56
                break
            raw |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        values.append((raw >> 1) ^ -(raw & 1))
    return values


def decode_hdr(text: str) -> HdrBuckets:
    """Decode one histogram; raise :class:`HdrDecodeError` when it is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise HdrDecodeError(f"not base64: {exc}") from exc
    if len(raw) < _EXTERNAL_HEADER.size:
        raise HdrDecodeError("too short to be a histogram")
    cookie, length = _EXTERNAL_HEADER.unpack_from(raw)
    if _cookie_base(cookie) != _COMPRESSION_COOKIE_BASE:
        raise HdrDecodeError(f"unknown histogram cookie {cookie:#x} (V2 compressed expected)")
    if length != len(raw) - _EXTERNAL_HEADER.size:
        raise HdrDecodeError("histogram length does not match its header")
    try:
        payload = zlib.decompress(raw[_EXTERNAL_HEADER.size :])
    except zlib.error as exc:
        raise HdrDecodeError(f"corrupt histogram payload: {exc}") from exc
    if len(payload) < _PAYLOAD_HEADER.size:
        raise HdrDecodeError("histogram payload too short")
    (p_cookie, payload_len, offset, digits, lowest, _highest, _ratio) = _PAYLOAD_HEADER.unpack_from(
        payload
    )
    if _cookie_base(p_cookie) != _ENCODING_COOKIE_BASE:
        raise HdrDecodeError(f"unknown payload cookie {p_cookie:#x}")
    if not 0 <= digits <= 5 or lowest < 1:
        raise HdrDecodeError(f"implausible histogram settings (digits={digits}, lowest={lowest})")
    end = _PAYLOAD_HEADER.size + payload_len
    if end > len(payload):
        raise HdrDecodeError("histogram counts truncated")

    unit_magnitude = int(math.floor(math.log2(lowest)))
    sub_bucket_count_magnitude = int(math.ceil(math.log2(2 * 10**digits)))
    half_magnitude = max(sub_bucket_count_magnitude, 1) - 1
    half_count = 1 << half_magnitude

    lows: list[int] = []
    highs: list[int] = []
    counts: list[int] = []
    index = 0
    for value in _zigzag_varints(payload, _PAYLOAD_HEADER.size, end):
        if value < 0:
            index += -value
            continue
        if value > 0:
            normalized = index - offset
            bucket = (normalized >> half_magnitude) - 1
            sub_bucket = (normalized & (half_count - 1)) + half_count
            if bucket < 0:
                sub_bucket -= half_count
                bucket = 0
            low = sub_bucket << (bucket + unit_magnitude)
            lows.append(low)
            highs.append(low + (1 << (bucket + unit_magnitude)) - 1)
            counts.append(value)
        index += 1
        if index > _MAX_COUNTS:
            raise HdrDecodeError("histogram has too many buckets")
    return HdrBuckets(tuple(lows), tuple(highs), tuple(counts), digits)
