"""Worker shards (``wsbench/shard@1``, :meth:`wsbench.metrics.recorder.Recorder.snapshot`)
into Result parts. Pure: shard dicts in, Result types out.

A shard becomes a :class:`~wsbench.result.merge.TargetPart` whose summaries carry only
``hdr`` and whose timeline keeps each second's RTT histogram, so the one target merge
(:func:`~wsbench.result.merge.merge_targets`) gives the exact per-second p99. The runner
and the Locust master build each target with one call to :func:`target_from_shards`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from wsbench.errors import InputFileError
from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import FINE_SERIES, UPGRADE_PHASES
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
    "disruption_window",
    "time_blocks",
    "WINDOW_BEFORE_S",
    "WINDOW_AFTER_S",
    "MAX_BLOCKS",
]

#: The 100 ms view of a disruption: this long before it ...
WINDOW_BEFORE_S = 2.0
#: ... and this long after it (or until the next disruption).
WINDOW_AFTER_S = 10.0
#: At most this many time blocks per target for the block bootstrap (``blocks``).
MAX_BLOCKS = 60

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


def _counts(value: Any) -> Counts | None:
    """A shard's counter map; None when the shard predates it (kept absent in the Result)."""
    return None if value is None else Counts(dict(value))


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
            rtt_service=Summary.of_hdr(shard["rtt_service"]) if "rtt_service" in shard else None,
            send_lag=Summary.of_hdr(shard["send_lag"]) if "send_lag" in shard else None,
            recovery=Summary.of_hdr(shard["recovery"]),
            messages=Messages(dict(shard["messages"])),
            closes=Closes(by_code=Counts(dict(closes["by_code"])), by_side=Counts(dict(closes["by_side"])),
                          invalid=_counts(closes.get("invalid"))),
            upgrade_failures=Counts(dict(shard["upgrade_failures"])),
            timeline=timeline,
            subprotocols=Counts(dict(shard["subprotocols"])) if "subprotocols" in shard else None,
            drop_causes=_counts(shard.get("drop_causes")),
            protocol_errors=_counts(shard.get("protocol_errors")),
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
    """One target of the Result from its workers' shards, disruption records and t = 0.

    Beside the merge: ``blocks`` (the RTT and upgrade histograms of consecutive time blocks,
    for a block bootstrap) and the timeline's ``last_second_s`` when its last second was
    cut short (how much of it ran).
    """
    target = merge_targets(
        [shard_part(shard, f"shard {index}") for index, shard in enumerate(shards)],
        name=name,
        url=url,
        disruptions=disruption_impact(shards, records),
        t0_unix_s=t0_unix_s,
        phases=UPGRADE_PHASES,
        series=SHARD_SERIES,
    )
    extra = dict(target.extra)
    blocks = time_blocks(shards)
    if blocks:
        extra["blocks"] = blocks
    timeline = target.timeline
    last = len(timeline.seconds) - 1 if timeline is not None else -1
    partial = [entry["partial_s"] for shard in shards for entry in shard.get("timeline", ())
               if entry.get("t") == last and isinstance(entry.get("partial_s"), int | float)]
    if timeline is not None and partial:
        timeline = replace(timeline, extra={**timeline.extra, "last_second_s": max(partial)})
    return replace(target, timeline=timeline, extra=extra)


def time_blocks(shards: Sequence[Mapping[str, Any]], *, max_blocks: int = MAX_BLOCKS) -> dict[str, Any]:
    """RTT and upgrade-time histograms of consecutive blocks of whole seconds (at most
    ``max_blocks`` blocks; all workers together): what a block bootstrap resamples, since
    samples close in time are not independent. {} when the shards kept no per-second ones."""
    seconds = [entry for shard in shards for entry in shard.get("timeline", ()) if "rtt" in entry]
    if not seconds:
        return {}
    length = max(int(entry["t"]) for entry in seconds) + 1
    block_s = max(1, math.ceil(length / max_blocks))
    count = math.ceil(length / block_s)
    rtt = [Histogram() for _ in range(count)]
    upgrade = [Histogram() for _ in range(count)]
    for entry in seconds:
        index = int(entry["t"]) // block_s
        indices, counts = entry["rtt"]
        if len(indices):
            rtt[index].add_sparse(indices, counts)
        ups = entry.get("upgrade_total")
        if ups and len(ups[0]):
            upgrade[index].add_sparse(ups[0], ups[1])
    return {"block_s": block_s, "rtt": [h.encode() for h in rtt], "upgrade_total": [h.encode() for h in upgrade]}


def disruption_window(shards: Sequence[Mapping[str, Any]], at_s: float, until_s: float | None) -> dict[str, Any]:
    """The 100 ms buckets around a disruption at ``at_s`` (all workers summed): from
    WINDOW_BEFORE_S before it to WINDOW_AFTER_S after it (or ``until_s``, the next one).
    ``t_s`` is each bucket's start relative to the disruption's bucket; {} without buckets."""
    first = max(0, math.floor((at_s - WINDOW_BEFORE_S) * 10))
    at_bucket = math.floor(at_s * 10)
    end = at_s + WINDOW_AFTER_S if until_s is None else min(until_s, at_s + WINDOW_AFTER_S)
    last = math.ceil(end * 10)
    series: dict[str, dict[int, int]] = {name: {} for name in FINE_SERIES}
    seen = -1
    for shard in shards:
        for entry in shard.get("timeline", ()):
            fine = entry.get("fine")
            if not isinstance(fine, Mapping):
                continue
            base = int(entry["t"]) * 10
            for offset in range(10):
                bucket = base + offset
                if first <= bucket < last:
                    seen = max(seen, bucket)
                    for name in FINE_SERIES:
                        values = fine.get(name) or ()
                        if offset < len(values):
                            series[name][bucket] = series[name].get(bucket, 0) + int(values[offset])
    if seen < first:
        return {}
    buckets = range(first, seen + 1)
    return {
        "bucket_ms": 100,
        "t_s": [round((bucket - at_bucket) / 10, 1) for bucket in buckets],
        **{name: [series[name].get(bucket, 0) for bucket in buckets] for name in FINE_SERIES},
    }


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
        at = float(record["at_s"])
        until = float(records[index + 1]["at_s"]) if index + 1 < len(records) else None
        window_100ms = disruption_window(shards, at, until)
        impacts.append(Disruption.from_json({
            **record,
            **({"timeline_100ms": window_100ms} if window_100ms else {}),
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
                    **({"max_rss_mb": shard["max_rss_mb"]} if "max_rss_mb" in shard else {}),
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
    pushed_back = _pushed_back(shards_per_target)
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
        **({"pushed_back": pushed_back} if pushed_back else {}),
    }


def _pushed_back(shards_per_target: Sequence[Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, int]]:
    """Targets that stopped reading: the sessions that held messages back, the messages unsent."""
    out: dict[str, dict[str, int]] = {}
    for shards in shards_per_target:
        for shard in shards:
            sessions = int(shard.get("sessions", {}).get("pushed_back", 0))
            if sessions:
                entry = out.setdefault(str(shard.get("target")), {"sessions": 0, "unsent": 0})
                entry["sessions"] += sessions
                entry["unsent"] += int(shard.get("messages", {}).get("unsent", 0))
    return out


def generator_from_shards(
    shards_per_target: Sequence[Sequence[Mapping[str, Any]]], processes: int, machine: Mapping[str, Any]
) -> Generator:
    """:func:`generator_health` with the machine's facts, as the Result's ``generator``."""
    return Generator.from_json({**generator_health(shards_per_target, processes), "machine": dict(machine)})
