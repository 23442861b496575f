"""Build realistic Result dicts (schema wsbench/result@1) for report and gate tests.

Histograms are recorded with ``wsbench.metrics.histogram.Histogram`` (as the engine does);
``hdrh_summary`` builds the same ``H`` with the ``hdrhistogram`` package for interop tests.
Everything is seeded: the same arguments give the same Result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from wsbench.metrics.histogram import Histogram

__all__ = ["TargetShape", "make_result", "summary", "hdrh_summary", "write_result", "make_conformance"]


@dataclass(frozen=True)
class TargetShape:
    """How one simulated target behaves."""

    url: str
    rtt_median_ms: float = 1.0
    rtt_sigma: float = 0.45
    messages: int = 20_000
    sessions: int = 200
    disruption: bool = True
    upgrade_medians_ms: dict[str, float] = field(
        default_factory=lambda: {"dns": 0.04, "tcp": 0.15, "tls": 1.6, "http": 0.7}
    )


DEFAULT_TARGETS = {
    "nginx": TargetShape("wss://nginx.lab:8443/echo", rtt_median_ms=1.6),
    "envoy": TargetShape("wss://envoy.lab:8444/echo", rtt_median_ms=0.9),
    "haproxy": TargetShape("wss://haproxy.lab:8445/echo", rtt_median_ms=1.0, disruption=False),
}


def summary(values_us: np.ndarray) -> dict[str, Any]:
    """The ``H`` of the Result contract for these values (µs)."""
    hist = Histogram()
    if len(values_us):
        hist.record_many(np.maximum(np.asarray(values_us, dtype=np.int64), 0))
    return hist.summary_ms()


def hdrh_summary(values_us: np.ndarray) -> dict[str, Any]:
    """The same ``H`` built with the hdrhistogram package (HdrHistogram_py)."""
    from hdrh.histogram import HdrHistogram

    hist = HdrHistogram(1, 3_600_000_000, 3)
    values, counts = np.unique(np.asarray(values_us, dtype=np.int64), return_counts=True)
    for value, amount in zip(values.tolist(), counts.tolist(), strict=True):
        hist.record_value(value, amount)
    return {
        "count": hist.get_total_count(),
        "min": hist.get_min_value() / 1000.0,
        "mean": hist.get_mean_value() / 1000.0,
        "p50": hist.get_value_at_percentile(50) / 1000.0,
        "p90": hist.get_value_at_percentile(90) / 1000.0,
        "p99": hist.get_value_at_percentile(99) / 1000.0,
        "p999": hist.get_value_at_percentile(99.9) / 1000.0,
        "max": hist.get_max_value() / 1000.0,
        "hdr": hist.encode().decode("ascii"),
    }


def _lognormal_us(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> np.ndarray:
    return np.maximum(rng.lognormal(np.log(median_ms * 1000.0), sigma, n), 1.0).astype(np.int64)


def _target(name: str, shape: TargetShape, rng: np.random.Generator, duration_s: int) -> dict[str, Any]:
    phases = {
        phase: _lognormal_us(rng, median, 0.35, shape.sessions)
        for phase, median in shape.upgrade_medians_ms.items()
    }
    phases["total"] = sum(phases.values())
    rtt = _lognormal_us(rng, shape.rtt_median_ms, shape.rtt_sigma, shape.messages)
    dropped = 37 if shape.disruption else 0
    lost = 12 if shape.disruption else 0
    seconds = np.arange(1, duration_s + 1, dtype=float)
    open_sessions = np.minimum(seconds * 40, shape.sessions).astype(int)
    rate = open_sessions * 10
    p99 = np.full(duration_s, round(float(np.percentile(rtt, 99)) / 1000.0, 3))
    disruptions: list[dict[str, Any]] = []
    if shape.disruption:
        at = duration_s // 3
        open_sessions[at : at + 2] -= dropped
        rate[at : at + 2] //= 2
        p99[at : at + 2] *= 6
        recovery = _lognormal_us(rng, 450.0, 0.4, dropped)
        disruptions.append(
            {
                "kind": "pod-restart",
                "at_s": float(at),
                "pod": "pod-1",
                "sessions_dropped": dropped,
                "messages_lost": lost,
                "recovery": summary(recovery),
            }
        )
    sent = shape.messages + lost
    return {
        "url": shape.url,
        "sessions": {
            "attempted": shape.sessions + dropped + 3,
            "opened": shape.sessions + dropped,
            "failed": 3,
            "dropped": dropped,
            "reconnected": dropped,
            "peak_open": int(open_sessions.max()),
        },
        "upgrade": {phase: summary(values) for phase, values in phases.items()},
        "rtt": summary(rtt),
        "messages": {"sent": sent, "received": shape.messages, "lost": lost, "duplicated": 0, "reordered": 0},
        "closes": {
            "by_code": {"1000": shape.sessions, **({"1001": dropped} if dropped else {}), "1006": 1},
            "by_side": {"client": shape.sessions, "server": dropped, "abnormal": 1},
        },
        "upgrade_failures": {"http_502": 2 if shape.disruption else 0, "http_503": 1, "refused": 0, "reset": 0, "timeout": 0},
        "disruptions": disruptions,
        "timeline": {
            "t_s": seconds.tolist(),
            "open": open_sessions.tolist(),
            "messages_per_s": rate.tolist(),
            "rtt_p99_ms": p99.tolist(),
        },
    }


def make_result(
    targets: dict[str, TargetShape] | None = None,
    *,
    run_id: str = "20250101T120000-demo",
    seed: int = 1,
    complete: bool = True,
    saturated: bool = False,
    duration_s: int = 30,
    thresholds: list[str] | None = None,
) -> dict[str, Any]:
    """A full Result: three targets (nginx slowest, envoy fastest) unless ``targets`` is given."""
    rng = np.random.default_rng(seed)
    shapes = DEFAULT_TARGETS if targets is None else targets
    scenario: dict[str, Any] = {
        "name": "echo-steady",
        "duration_s": duration_s,
        "sessions": 200,
        "rate_per_session": 10,
        "message_bytes": 64,
        "targets": {name: shape.url for name, shape in shapes.items()},
        "disruptions": [{"kind": "pod-restart", "at_s": duration_s // 3}],
    }
    if thresholds is not None:
        scenario["thresholds"] = thresholds
    return {
        "schema": "wsbench/result@1",
        "run_id": run_id,
        "started_at": "2025-01-01T12:00:00Z",
        "duration_s": float(duration_s) if complete else float(duration_s) / 2,
        "complete": complete,
        "scenario": scenario,
        "generator": {
            "processes": 2,
            "cpu_percent_max": 99.0 if saturated else 71.0,
            "loop_lag_ms_p99": 45.0 if saturated else 1.2,
            "saturated": saturated,
            **({"saturation_reasons": ["event-loop lag p99 45.0 ms > 20 ms"]} if saturated else {}),
        },
        "versions": {"wsbench": "0.1.0", "python": "3.11.2", "nginx": "1.22.1", "envoy": "1.31.0"},
        "lab": {"profile": "local", "pods": 3, "tls": True},
        "targets": {name: _target(name, shape, rng, duration_s) for name, shape in shapes.items()},
    }


def make_conformance(*, target: str = "nginx", failed: tuple[str, ...] = ("5.2",)) -> dict[str, Any]:
    """A small conformance file (schema wsbench/conform@1)."""
    groups = {"1": "framing", "2": "ping/pong", "3": "reserved bits", "5": "fragmentation", "6": "UTF-8", "7": "closing handshake"}
    cases: dict[str, Any] = {}
    for group_id, group in groups.items():
        for number in range(1, 4):
            case = f"{group_id}.{number}"
            verdict = "FAILED" if case in failed else ("NON-STRICT" if case == "7.3" else "OK")
            cases[case] = {"group": group, "verdict": verdict, "observed": "closed 1002" if verdict == "FAILED" else "echoed"}
    return {"schema": "wsbench/conform@1", "target": target, "url": f"wss://{target}.lab/echo", "cases": cases}


def write_result(path: Path, result: dict[str, Any]) -> Path:
    """Write ``result`` as JSON to ``path``; return ``path``."""
    path.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return path
