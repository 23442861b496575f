"""A proxy's cost per unit of work, from its per-second readings and the run's timeline. Pure.

The sampler reads the proxy's CPU time and RSS at t = 0, 1, 2 ... s on the run's clock,
the same seconds the workers count opens and echoes in, so second ``k`` of the timeline
(``t_s = k``, the interval [k-1, k)) has its CPU from the readings at k-1 and k (a reading
that came late is interpolated to the whole second). Then:

- **CPU per message** (one echoed message: a frame each way through the proxy): the CPU of
  the *steady* seconds (open sessions unchanged) less the proxy's idle rate, over the
  echoes in them.
- **CPU per upgrade**: the CPU of the seconds in which sessions opened, less the idle rate
  and less their echoes at the per-message cost, over the sessions opened in them.
- **KiB per open session**: RSS when the most sessions were open, less the RSS before the
  run, over those sessions (at the run's message rate: idle sessions when it is low).

A figure that the run cannot give (no steady second, no echo, no readings) is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["proxy_cost", "COST_FIGURES"]

#: the derived figures, in the order reports show them
COST_FIGURES = ("cpu_us_per_message", "cpu_us_per_upgrade", "kib_per_session")


def _per_second(samples: Sequence[Mapping[str, float]]) -> dict[int, Mapping[str, float]]:
    """CPU and RSS at each whole second t >= 0, interpolated between the readings around it
    (a reading may come late on a busy machine); a second outside the readings is left out."""
    ordered = sorted(samples, key=lambda s: float(s["t_s"]))
    at: dict[int, Mapping[str, float]] = {}
    for before, after in zip(ordered, ordered[1:], strict=False):
        t0, t1 = float(before["t_s"]), float(after["t_s"])
        if t1 <= t0:
            continue
        for second in range(max(0, math.ceil(t0)), math.floor(t1) + 1):
            share = (second - t0) / (t1 - t0)
            at[second] = {"t_s": float(second),
                          **{key: float(before[key]) + share * (float(after[key]) - float(before[key]))
                             for key in ("cpu_s", "rss_kib")}}
    return at


def _idle(samples: Sequence[Mapping[str, float]]) -> tuple[float, float | None]:
    """Idle CPU rate (s/s) and RSS before the run, from the readings before t = 0."""
    before = [s for s in samples if float(s["t_s"]) < 0]
    rss = float(before[-1]["rss_kib"]) if before else (float(samples[0]["rss_kib"]) if samples else None)
    if len(before) < 2:
        return 0.0, rss
    span = float(before[-1]["t_s"]) - float(before[0]["t_s"])
    rate = (float(before[-1]["cpu_s"]) - float(before[0]["cpu_s"])) / span if span > 0 else 0.0
    return max(rate, 0.0), rss


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def proxy_cost(samples: Sequence[Mapping[str, float]], target: Mapping[str, Any]) -> dict[str, Any]:
    """Totals and per-unit figures of one proxy over one target's run (see the module doc)."""
    timeline = target.get("timeline") or {}
    seconds = [round(float(t)) for t in timeline.get("t_s", [])]
    opened = list(timeline.get("open", []))
    echoes = list(timeline.get("messages_per_s", []))
    readings = _per_second(samples)
    idle_rate, rss_before = _idle(samples)
    steady_cpu = steady_msgs = steady_n = 0.0
    ramp_cpu = ramp_msgs = ramp_opens = ramp_n = 0.0
    previous_open = 0
    for second, now_open, msgs in zip(seconds, opened, echoes, strict=False):
        delta_open = now_open - previous_open
        previous_open = now_open
        if second not in readings or second - 1 not in readings:
            continue
        cpu = float(readings[second]["cpu_s"]) - float(readings[second - 1]["cpu_s"])
        if delta_open == 0 and now_open > 0:
            steady_cpu, steady_msgs, steady_n = steady_cpu + cpu, steady_msgs + msgs, steady_n + 1
        elif delta_open > 0:
            ramp_cpu, ramp_msgs, ramp_n = ramp_cpu + cpu, ramp_msgs + msgs, ramp_n + 1
            ramp_opens += delta_open
    per_message = (steady_cpu - idle_rate * steady_n) / steady_msgs if steady_msgs else None
    per_upgrade = None
    if ramp_opens and (per_message is not None or not ramp_msgs):
        spent = ramp_cpu - idle_rate * ramp_n - (per_message or 0.0) * ramp_msgs
        per_upgrade = spent / ramp_opens
    per_session = None
    peak_at = max(range(len(opened)), key=lambda i: opened[i], default=None)
    if peak_at is not None and opened[peak_at] > 0 and rss_before is not None:
        at_peak = readings.get(seconds[peak_at])
        if at_peak is not None:
            per_session = (float(at_peak["rss_kib"]) - rss_before) / opened[peak_at]
    ordered = [s for s in samples if float(s["t_s"]) >= 0]
    return {
        "cpu_s": _round(float(ordered[-1]["cpu_s"]) - float(ordered[0]["cpu_s"]), 4) if ordered else None,
        "idle_cpu_percent": round(idle_rate * 100, 2),
        "rss_kib": {"before": rss_before, "peak": max((int(s["rss_kib"]) for s in ordered), default=None)},
        "cpu_us_per_message": _round(None if per_message is None else per_message * 1e6),
        "cpu_us_per_upgrade": _round(None if per_upgrade is None else per_upgrade * 1e6),
        "kib_per_session": _round(per_session),
        "basis": {"steady_seconds": int(steady_n), "echoes": int(steady_msgs),
                  "opening_seconds": int(ramp_n), "upgrades": int(ramp_opens),
                  "sessions_at_peak": opened[peak_at] if peak_at is not None else 0},
    }
