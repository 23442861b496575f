"""Number formatting shared by reports, comparisons and the gate's Markdown."""

from __future__ import annotations

import math

__all__ = ["ms", "count", "number", "ratio", "percent_change"]


def ms(value: float | None) -> str:
    """A latency in ms, with a precision that suits its size: ``0.183 ms``, ``42.1 ms``, ``2.31 s``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    magnitude = abs(value)
    if magnitude >= 10_000:
        return f"{value / 1000:.1f} s"
    if magnitude >= 1000:
        return f"{value / 1000:.2f} s"
    if magnitude >= 100:
        return f"{value:.0f} ms"
    if magnitude >= 10:
        return f"{value:.1f} ms"
    if magnitude >= 1:
        return f"{value:.2f} ms"
    return f"{value:.3f} ms"


def count(value: float | int | None) -> str:
    """An integer count with thin thousands separators: ``12 345``."""
    if value is None:
        return "–"
    return f"{int(value):,}".replace(",", "\u202f")


def number(value: float | None) -> str:
    """A plain number: integers as counts, others with 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if float(value).is_integer() and abs(value) < 1e15:
        return count(value)
    return f"{value:.4g}"


def ratio(value: float) -> str:
    """A ratio as ``1.8×`` (2 significant digits below 10, 3 above)."""
    return f"{value:.2f}×" if value < 10 else f"{value:.1f}×"


def percent_change(ratio_value: float) -> str:
    """A ratio as a signed change: 1.23 -> ``+23%``, 0.9 -> ``−10%``."""
    change = (ratio_value - 1.0) * 100.0
    sign = "+" if change >= 0 else "−"
    return f"{sign}{abs(change):.1f}%"
