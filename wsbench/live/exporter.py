"""Prometheus metrics of a run in progress, from what the runner already has.

The runner tells :class:`LiveMetrics` where each target's worker shards are
(``target_started``), hands it every event (disruptions are counted), and gives it the
final shards when a target is done (``target_finished``). Nothing is computed between
scrapes: each scrape reads the shards the workers rewrite every second (atomically), so
the numbers are at most a second old, and after a target ends they are exactly the
Result's (same shards, same sums).

Metrics (label ``target``; histograms in seconds, bucket edges within HDR's 3 significant
digits of the le value):

- ``wsbench_sessions_open`` (gauge), ``wsbench_sessions_{attempted,opened,failed,dropped,reconnected}_total``
- ``wsbench_messages_{sent,received,lost}_total`` (messages/s: ``rate(...[30s])``)
- ``wsbench_upgrade_failures_total{class}``, ``wsbench_closes_total{code}``
- ``wsbench_upgrade_duration_seconds{phase}`` and ``wsbench_rtt_seconds`` (histograms)
- ``wsbench_disruptions_total{kind,ok}``, ``wsbench_target_complete`` (1 once a target is done)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from wsbench.errors import LocalError
from wsbench.metrics.histogram import Histogram

__all__ = ["LiveMetrics", "serve_metrics", "BUCKETS_S", "cumulative_buckets"]

#: histogram bucket edges (seconds) for upgrade phases and RTT
BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_SESSION_COUNTERS = ("attempted", "opened", "failed", "dropped", "reconnected")
_MESSAGE_COUNTERS = ("sent", "received", "lost")


def cumulative_buckets(hist: Histogram) -> tuple[list[tuple[str, float]], float]:
    """Prometheus ``(le, cumulative count)`` pairs and the sum (s) of an HDR histogram of µs."""
    indices, counts = hist.to_sparse()
    pairs = []
    for edge in BUCKETS_S:
        last = hist.index_of(int(edge * 1_000_000))
        pairs.append((repr(edge), float(sum(c for i, c in zip(indices, counts, strict=True) if i <= last))))
    pairs.append(("+Inf", float(hist.count)))
    return pairs, hist.mean * hist.count / 1_000_000 if hist.count else 0.0


class LiveMetrics(Collector):
    """The run's state for scrapes; the runner's watcher (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shard_dirs: dict[str, Path] = {}
        self._final: dict[str, list[dict[str, Any]]] = {}
        self._disruptions: dict[tuple[str, str, str], int] = {}

    # --- the runner's side ------------------------------------------------------------

    def target_started(self, target: str, shard_dir: Path) -> None:
        with self._lock:
            self._shard_dirs[target] = shard_dir

    def event(self, target: str, kind: str, fields: dict[str, Any]) -> None:
        if kind != "disruption":
            return
        key = (target, str(fields.get("disruption", "?")), "true" if fields.get("ok") else "false")
        with self._lock:
            self._disruptions[key] = self._disruptions.get(key, 0) + 1

    def target_finished(self, target: str, shards: list[dict[str, Any]]) -> None:
        with self._lock:
            self._final[target] = list(shards)

    # --- Prometheus' side -------------------------------------------------------------

    def _shards(self) -> dict[str, tuple[list[dict[str, Any]], bool]]:
        with self._lock:
            dirs, final = dict(self._shard_dirs), dict(self._final)
        out = {}
        for target, folder in dirs.items():
            if target in final:
                out[target] = (final[target], True)
                continue
            shards = []
            for path in sorted(folder.glob("worker-*.json")):
                try:
                    shards.append(json.loads(path.read_text()))
                except (OSError, ValueError):  # not written yet: the next scrape has it
                    continue
            out[target] = (shards, False)
        return out

    def collect(self) -> Iterator[Metric]:
        per_target = self._shards()
        open_now = GaugeMetricFamily("wsbench_sessions_open", "Sessions open now", labels=["target"])
        complete = GaugeMetricFamily("wsbench_target_complete", "1 once the target's run is over",
                                     labels=["target"])
        sessions = {k: CounterMetricFamily(f"wsbench_sessions_{k}", f"Sessions {k}", labels=["target"])
                    for k in _SESSION_COUNTERS}
        messages = {k: CounterMetricFamily(f"wsbench_messages_{k}", f"Messages {k}", labels=["target"])
                    for k in _MESSAGE_COUNTERS}
        failures = CounterMetricFamily("wsbench_upgrade_failures", "Failed upgrades by class",
                                       labels=["target", "class"])
        closes = CounterMetricFamily("wsbench_closes", "Closed sessions by close code", labels=["target", "code"])
        upgrade = HistogramMetricFamily("wsbench_upgrade_duration_seconds", "Upgrade time by phase",
                                        labels=["target", "phase"])
        rtt = HistogramMetricFamily("wsbench_rtt_seconds", "Message round-trip time", labels=["target"])
        for target, (shards, done) in sorted(per_target.items()):
            complete.add_metric([target], 1.0 if done else 0.0)
            open_now.add_metric([target], 0.0 if done else float(sum(
                s["sessions"].get("open_now", 0) for s in shards)))
            for key, family in sessions.items():
                family.add_metric([target], float(sum(s["sessions"][key] for s in shards)))
            for key, family in messages.items():
                family.add_metric([target], float(sum(s["messages"][key] for s in shards)))
            for name, count in sorted(_sum_maps(s["upgrade_failures"] for s in shards).items()):
                failures.add_metric([target, name], float(count))
            for code, count in sorted(_sum_maps(s["closes"]["by_code"] for s in shards).items()):
                closes.add_metric([target, code], float(count))
            phases = sorted({phase for s in shards for phase in s["upgrade"]})
            for phase in phases:
                buckets, total = cumulative_buckets(_merged(s["upgrade"][phase] for s in shards))
                upgrade.add_metric([target, phase], buckets, total)
            buckets, total = cumulative_buckets(_merged(s["rtt"] for s in shards))
            rtt.add_metric([target], buckets, total)
        disruptions = CounterMetricFamily("wsbench_disruptions", "Disruptions injected",
                                          labels=["target", "kind", "ok"])
        with self._lock:
            for (target, kind, ok), count in sorted(self._disruptions.items()):
                disruptions.add_metric([target, kind, ok], float(count))
        yield from (open_now, complete, *sessions.values(), *messages.values(), failures, closes,
                    upgrade, rtt, disruptions)


def _sum_maps(maps: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for mapping in maps:
        for key, value in mapping.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def _merged(encoded: Any) -> Histogram:
    merged = Histogram()
    for text in encoded:
        merged.merge(Histogram.decode(text))
    return merged


def serve_metrics(live: LiveMetrics, port: int, addr: str = "0.0.0.0") -> tuple[Any, int]:
    """Serve ``live`` on http://addr:port/metrics (a daemon thread); the server and its port."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(live)
    try:
        server, _thread = start_http_server(port, addr=addr, registry=registry)
    except OSError as exc:
        raise LocalError(f"--metrics-port {port}: cannot listen on {addr}: {exc.strerror}") from exc
    return server, server.server_address[1]
