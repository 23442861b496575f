"""Merge worker shards into the Result (see DESIGN.md, "The Result contract").

Pure: shards in, dicts out. Histograms merge exactly (counts added bucket by bucket),
so a Result from N processes equals the one a single process would have produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import UPGRADE_PHASES

__all__ = [
    "RESULT_SCHEMA",
    "merge_target",
    "disruption_impact",
    "generator_health",
    "empty_summary",
    "sum_counts",
    "merge_encoded",
    "peak_open",
    "SATURATION_LAG_MS",
    "SATURATION_CPU_PERCENT",
]

RESULT_SCHEMA = "wsbench/result@1"
#: The generator counts as saturated when its event loop lags more than this at p99 ...
SATURATION_LAG_MS = 20.0
#: ... or when a worker ran above this CPU share for at least half of its seconds.
SATURATION_CPU_PERCENT = 95.0


def sum_counts(dicts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counters added key by key (``{"1000": 3}`` + ``{"1000": 1, "1006": 2}``)."""
    total: dict[str, int] = {}
    for entry in dicts:
        for key, value in entry.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def merge_encoded(encoded: Iterable[str]) -> Histogram:
    """The exact sum of encoded histograms (``hdr`` strings)."""
    hist = Histogram()
    for text in encoded:
        hist.merge(Histogram.decode(text))
    return hist


def peak_open(open_per_second: Iterable[int], peaks: Iterable[int]) -> int:
    """Peak open sessions of parts measured side by side: the highest summed once-a-second
    sample, or the highest single part's own peak if higher. A lower bound of the true
    instantaneous peak (the sum of the parts' peaks is an upper bound)."""
    return max(max(open_per_second, default=0), max(peaks, default=0))


def empty_summary() -> dict[str, Any]:
    """The summary of an empty histogram."""
    return Histogram().summary_ms()


def merge_target(url: str, shards: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One target's entry of the Result, from the shards of every worker."""
    sessions = sum_counts(
        {k: v for k, v in s["sessions"].items() if k not in ("peak_open", "open_now")}
        for s in shards
    )
    timeline = _merge_timeline(shards)
    sessions["peak_open"] = peak_open(timeline["open"], (s["sessions"]["peak_open"] for s in shards))
    messages = sum_counts(s["messages"] for s in shards)
    by_side = sum_counts(s["closes"]["by_side"] for s in shards)
    for side in ("client", "server", "abnormal"):
        by_side.setdefault(side, 0)
    failures = sum_counts(s["upgrade_failures"] for s in shards)
    return {
        "url": url,
        "complete": all(s.get("complete", False) for s in shards) and bool(shards),
        "sessions": sessions,
        "upgrade": {
            phase: merge_encoded(s["upgrade"][phase] for s in shards).summary_ms()
            for phase in UPGRADE_PHASES
        },
        "rtt": merge_encoded(s["rtt"] for s in shards).summary_ms(),
        "recovery": merge_encoded(s["recovery"] for s in shards).summary_ms(),
        "messages": messages,
        "closes": {"by_code": sum_counts(s["closes"]["by_code"] for s in shards), "by_side": by_side},
        "upgrade_failures": failures,
        "disruptions": [],
        "timeline": timeline,
    }


def _merge_timeline(shards: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    seconds: dict[int, dict[str, Any]] = {}
    for shard in shards:
        for entry in shard["timeline"]:
            slot = seconds.setdefault(
                entry["t"],
                {"open": 0, "sent": 0, "received": 0, "dropped": 0, "lost": 0, "failed": 0,
                 "rtt": Histogram()},
            )
            for key in ("open", "sent", "received", "dropped", "lost"):
                slot[key] += entry.get(key, 0)
            slot["failed"] += sum(entry.get("failures", {}).values())
            indices, counts = entry["rtt"]
            if indices:
                slot["rtt"].add_sparse(indices, counts)
    ordered = sorted(seconds.items())
    return {
        "t_s": [float(t + 1) for t, _ in ordered],
        "open": [slot["open"] for _, slot in ordered],
        "messages_per_s": [slot["received"] for _, slot in ordered],
        "sent_per_s": [slot["sent"] for _, slot in ordered],
        "dropped": [slot["dropped"] for _, slot in ordered],
        "lost": [slot["lost"] for _, slot in ordered],
        "upgrade_failures": [slot["failed"] for _, slot in ordered],
        "rtt_p99_ms": [
            round(slot["rtt"].value_at_percentile(99.0) / 1000.0, 3) if slot["rtt"].count else None
            for _, slot in ordered
        ],
    }


def generator_health(shards_per_target: Sequence[Sequence[dict[str, Any]]], processes: int) -> dict[str, Any]:
    """The ``generator`` section: CPU and loop lag of the load generator, and a verdict."""
    lag = Histogram()
    cpu_max = 0.0
    busy_workers = 0
    workers = []
    for shards in shards_per_target:
        for shard in shards:
            worker_lag = Histogram.decode(shard["loop_lag"])
            lag.merge(worker_lag)
            cpu = shard.get("cpu_percent", [])
            workers.append(
                {
                    "target": shard.get("target"),
                    "worker": shard.get("worker"),
                    "pid": shard.get("pid"),
                    "transport": shard.get("transport"),
                    "hot_path": shard.get("hot_path"),
                    "cpu_percent_max": max(cpu, default=0.0),
                    "loop_lag_ms_p99": round(worker_lag.value_at_percentile(99.0) / 1000.0, 3)
                    if worker_lag.count
                    else 0.0,
                }
            )
            if cpu:
                cpu_max = max(cpu_max, max(cpu))
                high = sum(1 for c in cpu if c >= SATURATION_CPU_PERCENT)
                if high * 2 >= len(cpu) and len(cpu) >= 2:
                    busy_workers += 1
    lag_p99 = lag.value_at_percentile(99.0) / 1000.0 if lag.count else 0.0
    reasons = []
    if lag_p99 > SATURATION_LAG_MS:
        reasons.append(f"event-loop lag p99 {lag_p99:.1f} ms > {SATURATION_LAG_MS:g} ms")
    if busy_workers:
        reasons.append(
            f"{busy_workers} worker(s) at >= {SATURATION_CPU_PERCENT:g}% CPU for half the run or more"
        )
    return {
        "processes": processes,
        "cpu_percent_max": round(cpu_max, 1),
        "loop_lag_ms_p99": round(lag_p99, 3),
        "saturated": bool(reasons),
        "saturation_reasons": reasons,
        "workers": workers,
    }


def disruption_impact(
    shards: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each disruption's blast radius: what happened from its second to the next one's.

    Drops, lost messages, close codes and failed upgrades are counted per second by the
    workers; recovery is the time each session dropped in the window took to work again.
    """
    starts = [int(record["at_s"]) for record in records]
    impacts = []
    for index, record in enumerate(records):
        window = range(starts[index], starts[index + 1] if index + 1 < len(starts) else 1 << 40)
        dropped = lost = 0
        closes: dict[str, int] = {}
        failures: dict[str, int] = {}
        recovery = Histogram()
        for shard in shards:
            for entry in shard["timeline"]:
                if entry["t"] in window:
                    dropped += entry.get("dropped", 0)
                    lost += entry.get("lost", 0)
                    for key, value in entry.get("closes", {}).items():
                        closes[key] = closes.get(key, 0) + value
                    for key, value in entry.get("failures", {}).items():
                        failures[key] = failures.get(key, 0) + value
            for dropped_ms, recovery_us in shard.get("recoveries", []):
                if dropped_ms // 1000 in window:
                    recovery.record(recovery_us)
        impacts.append(
            {
                **record,
                "sessions_dropped": dropped,
                "messages_lost": lost,
                "closes_by_code": closes,
                "upgrade_failures": failures,
                "recovered": recovery.count,
                "recovery": recovery.summary_ms(),
            }
        )
    return impacts
