"""Report figures drawn as plain SVG text: no matplotlib on the path of a run.

``wsbench run`` writes its report at the end of every run; importing matplotlib and laying
out its figures was the largest fixed cost of a run (~1.6 s of CPU, measured with
``bench/peers``). The upgrade-phases bars are written here directly as SVG elements (a few
milliseconds); the palette is the one every figure and chart uses.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from html import escape

__all__ = ["PALETTE", "PHASE_COLOURS", "upgrade_phases_svg"]

#: Okabe & Ito (2008), without yellow (too light on white): every figure and chart
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
PHASE_COLOURS = {"dns": "#56B4E9", "tcp": "#009E73", "tls": "#E69F00", "http": "#CC79A7"}
_FONT = 'font-family="sans-serif" font-size="11"'
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 26, 28, 42  # margins around a plot area (px)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _label(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"


class _Axes:
    """Data to pixels for one plot area (linear axes)."""

    def __init__(self, box: tuple[float, float, float, float], xs: tuple[float, float],
                 ys: tuple[float, float]) -> None:
        self.x0, self.y0, self.width, self.height = box
        self.xlo, self.xhi = xs if xs[1] > xs[0] else (xs[0], xs[0] + 1.0)
        self.ylo, self.yhi = ys if ys[1] > ys[0] else (ys[0], ys[0] + 1.0)

    def px(self, x: float) -> float:
        return self.x0 + (x - self.xlo) / (self.xhi - self.xlo) * self.width

    def py(self, y: float) -> float:
        return self.y0 + self.height - (y - self.ylo) / (self.yhi - self.ylo) * self.height

    def frame(self, parts: list[str], xticks: Iterable[tuple[float, str]], yticks: Iterable[tuple[float, str]],
              xlabel: str, ylabel: str) -> None:
        bottom = self.y0 + self.height
        for value, text in yticks:
            y = _num(self.py(value))
            parts.append(f'<line x1="{_num(self.x0)}" x2="{_num(self.x0 + self.width)}" y1="{y}" y2="{y}" '
                         f'stroke="#dddddd" stroke-width="0.6"/>'
                         f'<text x="{_num(self.x0 - 5)}" y="{y}" text-anchor="end" dy="0.35em">{escape(text)}</text>')
        for value, text in xticks:
            x = _num(self.px(value))
            parts.append(f'<line x1="{x}" x2="{x}" y1="{_num(self.y0)}" y2="{_num(bottom)}" stroke="#dddddd" '
                         f'stroke-width="0.6"/><text x="{x}" y="{_num(bottom + 14)}" '
                         f'text-anchor="middle">{escape(text)}</text>')
        parts.append(f'<path d="M{_num(self.x0)},{_num(self.y0)}V{_num(bottom)}H{_num(self.x0 + self.width)}" '
                     f'fill="none" stroke="#333333" stroke-width="0.8"/>')
        if xlabel:
            parts.append(f'<text x="{_num(self.x0 + self.width / 2)}" y="{_num(bottom + 32)}" '
                         f'text-anchor="middle">{escape(xlabel)}</text>')
        if ylabel:
            parts.append(f'<text transform="translate({_num(self.x0 - 48)},{_num(self.y0 + self.height / 2)}) '
                         f'rotate(-90)" text-anchor="middle">{escape(ylabel)}</text>')


def _linear_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round-numbered ticks covering ``low..high``."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if m * step >= raw)
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int(math.ceil((high - first) / step)) + 1)]


def _open(key: str, width: int, height: int, title: str) -> list[str]:
    return [f'<svg role="img" aria-labelledby="{key}-title" xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" {_FONT}>'
            f'<title id="{key}-title">{escape(key.replace("-", " "))}</title>',
            f'<text x="{_LEFT}" y="16" font-size="12">{escape(title)}</text>' if title else ""]


def upgrade_phases_svg(phases: Mapping[str, Mapping[str, float]], *, key: str = "upgrade-phases") -> str:
    """Median upgrade time per phase, one stacked horizontal bar per target.

    ``phases`` maps a target label to ``{phase: p50_ms}`` for dns, tcp, tls, http.
    """
    labels = list(phases)
    width, bar, left = 1100, 22, 160
    rows_h = 30 * max(len(labels), 1) + 12
    height = 36 + rows_h + _BOTTOM
    totals = [sum(float(phases[label].get(p) or 0.0) for p in PHASE_COLOURS) for label in labels]
    xmax = max(totals, default=1.0) * 1.05 or 1.0
    axes = _Axes((left, 36, width - left - _RIGHT, rows_h), (0.0, xmax), (0.0, 1.0))
    parts = _open(key, width, height, "")
    axes.frame(parts, [(v, _label(v)) for v in _linear_ticks(0.0, xmax, 8) if v <= xmax], [],
               "median time (ms)", "")
    used = [p for p in PHASE_COLOURS if any(float(phases[label].get(p) or 0.0) for label in labels)]
    for row, label in enumerate(labels):
        y = 36 + 8 + row * 30
        parts.append(f'<text x="{left - 6}" y="{_num(y + bar / 2)}" text-anchor="end" dy="0.35em">'
                     f'{escape(label)}</text>')
        start = 0.0
        for phase in used:
            value = float(phases[label].get(phase) or 0.0)
            if value <= 0:
                continue
            x0, x1 = axes.px(start), axes.px(start + value)
            parts.append(f'<rect x="{_num(x0)}" y="{_num(y)}" width="{_num(x1 - x0)}" height="{bar}" '
                         f'fill="{PHASE_COLOURS[phase]}" stroke="white" stroke-width="0.8"/>')
            if value > 0.08 * xmax:
                parts.append(f'<text x="{_num((x0 + x1) / 2)}" y="{_num(y + bar / 2)}" text-anchor="middle" '
                             f'dy="0.35em" font-size="9">{value:.2g}</text>')
            start += value
    for index, phase in enumerate(used):
        x = width - _RIGHT - 70 * (len(used) - index)
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" fill="{PHASE_COLOURS[phase]}"/>'
                     f'<text x="{x + 16}" y="14" dy="0.35em">{phase.upper()}</text>')
    return "".join(parts) + "</svg>"
