"""The one target merge: parts measured side by side become one target. Pure.

Every producer uses it: the runner merges its worker shards (:mod:`wsbench.result.shards`),
``wsbench merge`` the Results of several machines (:mod:`wsbench.result.runs`), the Locust
master its workers' shards. Exact: histograms (upgrade phases, rtt, recovery) add up bucket
by bucket and their summaries are recomputed; counters (sessions, messages, closes, upgrade
failures, subprotocols) are summed. The timeline goes through
:func:`~wsbench.result.timeline.merge_timelines`; ``sessions.peak_open`` follows
:func:`peak_open`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wsbench.result.model import (
    Closes,
    Counts,
    Disruption,
    Messages,
    Sessions,
    TargetResult,
    Timeline,
)
from wsbench.result.summary import Summary
from wsbench.result.timeline import SparseHistogram, TimelinePart, merge_timelines

__all__ = ["TargetPart", "merge_targets", "sum_counts", "peak_open", "CLOSE_SIDES"]

CLOSE_SIDES = ("client", "server", "abnormal")
#: Session counters that are states, not events: never summed.
_NOT_SUMMED = ("peak_open", "open_now")


@dataclass(frozen=True)
class TargetPart:
    """One part of a target: a worker's shard, or one machine's Result of it.

    ``shift_s``: how long after the earliest part's its timeline's t = 0 lies (the timeline
    moves by ``round(shift_s)`` seconds, its disruptions by ``shift_s``). ``tag``: fields
    added to its disruption records (which shard or run they came from). ``rtt_per_second``:
    the part's RTT histogram of each timeline second, when it has them (worker shards).
    """

    target: TargetResult
    label: str = ""
    shift_s: float = 0.0
    tag: Mapping[str, Any] = field(default_factory=dict)
    rtt_per_second: Sequence[SparseHistogram] | None = None


def sum_counts(maps: Iterable[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Counters added key by key (``{"1000": 3}`` + ``{"1000": 1, "1006": 2}``)."""
    total: dict[str, Any] = {}
    for entry in maps:
        for key, value in (entry or {}).items():
            total[key] = total.get(key, 0) + value
    return total


def peak_open(open_per_second: Iterable[int], peaks: Iterable[int]) -> int:
    """Peak open sessions of parts measured side by side: the highest summed once-a-second
    sample, or the highest single part's own peak if higher. A lower bound of the true
    instantaneous peak (the sum of the parts' peaks is an upper bound)."""
    return max(max(open_per_second, default=0), max(peaks, default=0))


def merge_targets(
    parts: Sequence[TargetPart],
    *,
    name: str = "target",
    url: str | None = None,
    disruptions: Sequence[Disruption] | None = None,
    t0_unix_s: float | None = None,
    phases: Sequence[str] = (),
    series: Sequence[str] = (),
) -> TargetResult:
    """One target from its parts.

    ``url``: default the first part's. ``disruptions``: default the parts' records moved
    onto the merged clock and tagged. ``t0_unix_s``: default the earliest part's when every
    part has one. ``phases``/``series``: upgrade phases and timeline series present even
    when no part has them (a run whose workers left nothing still has every section).
    ``name`` is where histograms are in error messages (``targets.<name>``).
    """
    targets = [part.target for part in parts]
    timeline = merge_timelines(
        (TimelinePart(t.timeline or Timeline(), round(part.shift_s), part.rtt_per_second)
         for part, t in zip(parts, targets, strict=True)),
        keys=series,
    )
    peaks = [t.session_counts.peak_open for t in targets]
    sessions = sum_counts({k: v for k, v in (t.sessions or {}).items() if k not in _NOT_SUMMED} for t in targets)
    sessions["peak_open"] = peak_open(timeline.get("open"), peaks)
    names = list(phases)
    for t in targets:
        names.extend(phase for phase in t.upgrade or {} if phase not in names)
    by_side = sum_counts(t.closes.by_side if t.closes else None for t in targets)
    for side in CLOSE_SIDES:
        by_side.setdefault(side, 0)

    def summary(key: str, pick: Any) -> Summary:
        return Summary.merge(((part.label, pick(t)) for part, t in zip(parts, targets, strict=True)),
                             f"targets.{name}.{key}")

    times = [t.t0_unix_s for t in targets]
    if t0_unix_s is None and times and all(value is not None for value in times):
        t0_unix_s = min(value for value in times if value is not None)
    subprotocols = [t.subprotocols for t in targets if t.subprotocols is not None]

    def whole(key: str, pick: Any) -> Summary | None:
        """Only when every part has it (older Results do not): a partial sum would mislead."""
        return summary(key, pick) if targets and all(pick(t) is not None for t in targets) else None

    def counted(pick: Any) -> Counts | None:  # None when no part has the section (older Results)
        present = [pick(t) for t in targets if pick(t) is not None]
        return Counts(sum_counts(present)) if present else None

    return TargetResult(
        url=url if url is not None else (targets[0].url if targets else None),
        complete=bool(targets) and all(t.complete is True for t in targets),
        sessions=Sessions(sessions),
        upgrade={phase: summary(f"upgrade.{phase}", lambda t, p=phase: (t.upgrade or {}).get(p))
                 for phase in names},
        rtt=summary("rtt", lambda t: t.rtt),
        rtt_service=whole("rtt_service", lambda t: t.rtt_service),
        send_lag=whole("send_lag", lambda t: t.send_lag),
        recovery=summary("recovery", lambda t: t.recovery),
        messages=Messages(sum_counts(t.messages for t in targets)),
        closes=Closes(by_code=Counts(sum_counts(t.closes.by_code if t.closes else None for t in targets)),
                      by_side=Counts(by_side), invalid=counted(lambda t: t.closes.invalid if t.closes else None)),
        upgrade_failures=Counts(sum_counts(t.upgrade_failures for t in targets)),
        disruptions=tuple(disruptions) if disruptions is not None else _moved_disruptions(parts),
        timeline=timeline,
        t0_unix_s=t0_unix_s,
        subprotocols=Counts(sum_counts(subprotocols)) if subprotocols else None,
        drop_causes=counted(lambda t: t.drop_causes),
        protocol_errors=counted(lambda t: t.protocol_errors),
    )


def _moved_disruptions(parts: Sequence[TargetPart]) -> tuple[Disruption, ...]:
    """Every part's disruption records, tagged, ``at_s``/``done_at_s`` on the merged clock."""
    moved = []
    for part in parts:
        for record in part.target.disruption_list:
            data = {**record.to_json(), **part.tag}
            for key in ("at_s", "done_at_s"):
                value = data.get(key)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    data[key] = round(value + part.shift_s, 3)
            moved.append(Disruption.from_json(data))
    return tuple(sorted(moved, key=lambda record: record.at_s or 0.0))
