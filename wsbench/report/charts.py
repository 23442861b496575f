"""Interactive chart specs (JSON drawn by ``templates/charts.js``): timelines, the 100 ms view
around each disruption, the RTT CDF and percentile spectrum. Pure: Result in, data out.

Each target's timeline is on its own time axis (targets are measured one after the other,
never at once); the disruption views align every target on its own disruption (x = seconds
from it). A last second the run cut short is not drawn (its rates would read as a dip or a
spike); the caption says how long it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wsbench.report.svg import PALETTE  # not plots: no matplotlib on a run's path
from wsbench.result.distribution import Distribution
from wsbench.result.model import Disruption, TargetResult
from wsbench.result.ranking import disruption_name

__all__ = ["Chart", "timeline_charts", "disruption_charts", "cdf_chart", "spectrum_chart"]

_EVENT_COLOURS = {"dropped": "#D55E00", "http_5xx": "#CC79A7", "failed": "#E69F00", "reconnected": "#009E73"}
_DASHES = ("", "6 3", "2 2", "8 3 2 3")


@dataclass(frozen=True)
class Chart:
    """One chart: its id in the page, a caption, and the spec ``charts.js`` draws."""

    id: str
    caption: str
    spec: Mapping[str, Any] = field(default_factory=dict)

    @property
    def json(self) -> str:
        """The spec as JSON safe inside a ``<script>`` element."""
        text = json.dumps(self.spec, separators=(",", ":"), allow_nan=False)
        return text.replace("<", "\\u003c").replace(">", "\\u003e")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


def _clean(values: Sequence[Any]) -> list[float | None]:
    return [None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v) for v in values]


def _series(name: str, x: Sequence[float], y: Sequence[Any], colour: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "x": [round(float(v), 4) for v in x], "y": _clean(y), "color": colour, **extra}


def timeline_charts(targets: Mapping[str, TargetResult]) -> list[Chart]:
    """Per target, on its own clock: open sessions, messages/s, RTT p99; drops and failed
    upgrades marked; its disruptions as vertical lines."""
    charts = []
    for index, (name, target) in enumerate(targets.items()):
        timeline = target.timeline
        if timeline is None or not timeline.seconds:
            continue
        t = list(timeline.seconds)
        keep = len(t)
        cut = timeline.extra.get("last_second_s")
        note = ""
        if isinstance(cut, int | float) and 0 < cut < 1 and keep > 1:
            keep -= 1
            note = f" The last second ran only {cut:.2f} s (the run's end) and is not drawn."

        part = {key: (list(timeline.get(key))[:keep] if len(timeline.get(key)) == len(t) else [None] * keep)
                for key in ("open", "messages_per_s", "rtt_p99_ms", "dropped", "upgrade_failures")}
        x = t[:keep]
        series = [
            _series("open sessions", x, part["open"], PALETTE[0]),
            _series("messages/s", x, part["messages_per_s"], PALETTE[2], dash="6 3"),
            _series("RTT p99 (ms)", x, part["rtt_p99_ms"], PALETTE[1], axis="right", unit="ms"),
            _series("sessions dropped", x, part["dropped"], _EVENT_COLOURS["dropped"], kind="events"),
            _series("failed upgrades", x, part["upgrade_failures"], _EVENT_COLOURS["failed"], kind="events"),
        ]
        marks = [{"x": float(d.at_s), "text": disruption_name(d)} for d in target.disruption_list if d.at_s is not None]
        spec = {"title": f"{name}: timeline", "x_label": f"seconds since {name} started", "x_name": "second",
                "y_label": "sessions · messages/s", "y2_label": "RTT p99 (ms)", "series": series, "marks": marks}
        charts.append(Chart(f"timeline-{index}-{_slug(name)}",
                            f"{name}, per second on its own clock: open sessions, messages received per second, "
                            f"RTT p99 (right axis); ▲ marks seconds with drops or failed upgrades; dashed lines "
                            f"mark disruptions. Drag across to zoom, double-click to undo.{note}", spec))
    return charts


def _window(item: Disruption) -> Mapping[str, Any] | None:
    window = item.extra.get("timeline_100ms")
    return window if isinstance(window, Mapping) and window.get("t_s") else None


def disruption_charts(targets: Sequence[tuple[str, TargetResult]]) -> list[Chart]:
    """Per disruption (kind, pod, second), every target that had it aligned on it: echoes/s in
    100 ms buckets, open sessions; drops, 5xx and reconnects marked."""
    groups: dict[tuple[str, str, int], list[tuple[str, Disruption]]] = {}
    for name, target in targets:
        for item in target.disruption_list:
            if _window(item) is not None:
                key = (item.kind or "", item.pod or "", int(round(item.at_s or 0.0)))
                groups.setdefault(key, []).append((name, item))
    charts = []
    for number, (_key, members) in enumerate(sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0]))):
        series: list[dict[str, Any]] = []
        for index, (name, item) in enumerate(members):
            window = _window(item)
            assert window is not None
            x = [float(v) for v in window["t_s"]]
            colour = PALETTE[index % len(PALETTE)]
            scale = 1000.0 / float(window.get("bucket_ms", 100))
            received = [v * scale for v in window.get("received", [])]
            series.append(_series(f"{name}: echoes/s", x, received, colour, dash=_DASHES[index % len(_DASHES)]))
            series.append(_series(f"{name}: open", x, window.get("open", []), colour, axis="right", dash="2 2"))
            for event in ("dropped", "http_5xx", "reconnected"):
                values = window.get(event, [])
                if any(values):
                    label = {"http_5xx": "5xx", "reconnected": "reconnects"}.get(event, "drops")
                    series.append(_series(f"{name}: {label}", x, values, _EVENT_COLOURS[event], kind="events"))
        title = disruption_name(members[0][1])
        spec = {"title": title, "x_label": f"seconds from {title} (100 ms buckets)", "x_name": "s from it",
                "y_label": "echoes/s", "y2_label": "open sessions", "series": series,
                "marks": [{"x": 0.0, "text": title}]}
        charts.append(Chart(f"disruption-{number}-{_slug(title)}",
                            f"{title}: each target aligned on its own disruption (x = 0), in 100 ms buckets: echoes "
                            "received per second, open sessions (right axis); ▲ marks buckets with drops, 5xx "
                            "answers to upgrades, reconnects (hover for counts).", spec))
    return charts


def cdf_chart(distributions: Mapping[str, Distribution], *, key: str = "rtt-cdf") -> Chart:
    """Cumulative distribution of RTT (ms, log x); toggle targets in the legend."""
    series = []
    for index, (name, dist) in enumerate(distributions.items()):
        values, fractions = dist.cdf()
        series.append(_series(name, np.maximum(values, 1.0) / 1000.0, fractions, PALETTE[index % len(PALETTE)],
                              dash=_DASHES[index % len(_DASHES)], step=True))
    spec = {"title": "RTT CDF", "x_label": "RTT (ms, log scale)", "x_name": "RTT ms", "x_log": True,
            "y_label": "fraction of messages", "series": series}
    return Chart(key, "Cumulative distribution: the share of messages answered within a time. Click a name to hide "
                      "or show it; drag to zoom.", spec)


_SPECTRUM_TICKS = (0.0, 90.0, 99.0, 99.9, 99.99, 99.999, 99.9999)


def spectrum_chart(distributions: Mapping[str, Distribution], *, key: str = "rtt-spectrum") -> Chart:
    """The HdrHistogram plot: RTT against percentile, x on a ``1/(1-p)`` log scale."""
    series, top = [], 99.9
    for index, (name, dist) in enumerate(distributions.items()):
        percentiles, values = dist.percentile_spectrum()
        if not len(values):
            continue
        top = max(top, float(percentiles.max()))
        x = 1.0 / (1.0 - np.minimum(percentiles, 99.99999) / 100.0)
        series.append(_series(name, x, values / 1000.0, PALETTE[index % len(PALETTE)],
                              dash=_DASHES[index % len(_DASHES)], unit="ms"))
    ticks = [[1.0 / (1.0 - p / 100.0), f"{p:g}%"] for p in _SPECTRUM_TICKS if p <= top]
    spec = {"title": "RTT by percentile", "x_label": "percentile", "x_name": "percentile", "x_log": True,
            "x_format": "percentile", "x_ticks": ticks, "y_label": "RTT (ms)", "series": series}
    return Chart(key, "Percentile spectrum (HdrHistogram plot): the x axis stretches the tail, 99% and 99.9% are "
                      "equally far apart. Hover for values.", spec)
