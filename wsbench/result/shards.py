"""Worker shards (``wsbench/shard@1``, :meth:`wsbench.metrics.recorder.Recorder.snapshot`)
into Result parts. Pure: shard dicts in, Result types out.

A shard becomes a :class:`~wsbench.result.merge.TargetPart` whose summaries carry only
``hdr`` and whose timeline keeps each second's RTT histogram, so the one target merge
(:func:`~wsbench.result.merge.merge_targets`) gives the exact per-second p99. The runner
and the Locust master build each target with one call to :func:`target_from_shards`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wsbench.errors import InputFileError
from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import UPGRADE_PHASES
from wsbench.result.merge import TargetPart, merge_targets
from wsbench.result.model import (
    Closes,
    Counts,
    Disruption,
    Generator,
    Messages,
    Sessions,
    TargetResult,
    Timeline,
)
from wsbench.result.summary import Summary

__all__ = [
    "SHARD_SERIES",
    "SATURATION_LAG_MS",
    "SATURATION_CPU_PERCENT",
    "shard_part",
    "target_from_shards",
    "merge_target",
    "disruption_impact",
    "generator_health",
    "generator_from_shards",
]

#: The timeline series of a target merged from shards, in file order.
SHARD_SERIES = ("open", "messages_per_s", "sent_per_s", "dropped", "lost", "upgrade_failures", "rtt_p99_ms")
#: The generator counts as saturated when its event loop lags more than this at p99 ...
SATURATION_LAG_MS = 20.0
#: ... or when a worker ran above this CPU share for at least half of its seconds.
SATURATION_CPU_PERCENT = 95.0


def _shard_timeline(entries: Sequence[Mapping[str, Any]]) -> tuple[Timeline, list[tuple[Any, Any]]]:
    series: dict[str, list[Any]] = {key: [] for key in SHARD_SERIES}
    rtt = []
    for entry in entries:
        series["open"].append(entry.get("open", 0))
        series["messages_per_s"].append(entry.get("received", 0))
        series["sent_per_s"].append(entry.get("sent", 0))
        series["dropped"].append(entry.get("dropped", 0))
        series["lost"].append(entry.get("lost", 0))
        series["upgrade_failures"].append(sum(entry.get("failures", {}).values()))
        series["rtt_p99_ms"].append(None)  # from the histograms below, when merged
        indices, counts = entry["rtt"]
        rtt.append((indices, counts))
    t_s = tuple(float(entry["t"] + 1) for entry in entries)
    return Timeline(t_s=t_s, series={key: tuple(values) for key, values in series.items()}), rtt


def shard_part(shard: Mapping[str, Any], label: str = "shard") -> TargetPart:
    """A worker's shard as a part of its target."""
    try:
        timeline, rtt = _shard_timeline(shard["timeline"])
        closes = shard["closes"]
        target = TargetResult(
            complete=bool(shard.get("complete", False)),
            sessions=Sessions(dict(shard["sessions"])),
            upgrade={phase: Summary.of_hdr(text) for phase, text in shard["upgrade"].items()},
            rtt=Summary.of_hdr(shard["rtt"]),
            recovery=Summary.of_hdr(shard["recovery"]),
            messages=Messages(dict(shard["messages"])),
            closes=Closes(by_code=Counts(dict(closes["by_code"])), by_side=Counts(dict(closes["by_side"]))),
            upgrade_failures=Counts(dict(shard["upgrade_failures"])),
            timeline=timeline,
            subprotocols=Counts(dict(shard["subprotocols"])) if "subprotocols" in shard else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputFileError(f"{label}: not a worker shard ({type(exc).__name__}: {exc})") from exc
    return TargetPart(target, label=label, rtt_per_second=rtt)


def target_from_shards(
    url: str,
    shards: Sequence[Mapping[str, Any]],
    *,
    records: Sequence[Mapping[str, Any]] = (),
    t0_unix_s: float | None = None,
    name: str = "target",
) -> TargetResult:
    """One target of the Result from its workers' shards, disruption records and t = 0."""
    return merge_targets(
        [shard_part(shard, f"shard {index}") for index, shard in enumerate(shards)],
        name=name,
        url=url,
        disruptions=disruption_impact(shards, records),
        t0_unix_s=t0_unix_s,
        phases=UPGRADE_PHASES,
        series=SHARD_SERIES,
    )


def merge_target(url: str, shards: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """:func:`target_from_shards` as the Result's JSON (no disruptions, no t = 0)."""
    return target_from_shards(url, shards).to_json()


def disruption_impact(
    shards: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]
) -> tuple[Disruption, ...]:
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
        impacts.append(Disruption.from_json({
            **record,
            "sessions_dropped": dropped,
            "messages_lost": lost,
            "closes_by_code": closes,
            "upgrade_failures": failures,
            "recovered": recovery.count,
            "recovery": recovery.summary_ms(),
        }, f"disruptions[{index}]"))
    return tuple(impacts)


def generator_health(shards_per_target: Sequence[Sequence[Mapping[str, Any]]], processes: int) -> dict[str, Any]:
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


def generator_from_shards(
    shards_per_target: Sequence[Sequence[Mapping[str, Any]]], processes: int, machine: Mapping[str, Any]
) -> Generator:
    """:func:`generator_health` with the machine's facts, as the Result's ``generator``."""
    return Generator.from_json({**generator_health(shards_per_target, processes), "machine": dict(machine)})
