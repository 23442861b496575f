"""Merge the Results of several machines into one Result (``wsbench merge``).

Pure: Result dicts in, one :class:`~wsbench.result.model.Result` out; nothing here reads a
file or a clock. Each target goes through the one target merge
(:func:`~wsbench.result.merge.merge_targets`), each input a part shifted by its offset.
Two kinds of input (DESIGN.md, "Scale beyond one machine"), which do not mix:

- **shards** of one run (``wsbench run --shard I/N``, e.g. a Kubernetes Indexed Job):
  shard I ran the scenario's sessions ``i % N == I``, so together they are the scenario.
  Missing shards still merge, into a partial Result (``complete: false``) and a warning.
- **plain runs** of the same scenario (no ``shard``), e.g. from two machines: each ran the
  whole scenario, so the merged load is their sum (``merge.count`` times the scenario).

Exact: histograms (upgrade phases, rtt, recovery) are decoded and added bucket by bucket,
their summaries recomputed as the runner does; counters (sessions, messages, closes,
upgrade failures, subprotocols) are summed.

Aligned, not exact:

- **timeline**: every input is placed on the clock of the earliest one by the wall clock
  of its timeline's t = 0 (the target's ``t0_unix_s``, which the runner records), shifted
  by whole seconds (``round(t0 - earliest t0)``), and the per-second counts are summed.
  A second lands within ±0.5 s, plus the machines' clock difference (NTP: milliseconds).
  Results without ``t0_unix_s`` are placed by ``started_at`` (whole seconds, taken before
  the workers start: about ±2 s); ``merge.alignment`` says which was used.
- **rtt_p99_ms per second** and ``generator.loop_lag_ms_p99``: a Result keeps only those
  percentiles, not their histograms, so the merged value is the highest input's: an upper
  bound (the p99 of a union never exceeds the largest p99 of its parts).
- **sessions.peak_open**: the rule the runner applies to its workers
  (:func:`~wsbench.result.merge.peak_open`) on the aligned timeline: a lower bound of the
  instantaneous peak; the sum of the inputs' peaks, an upper bound, is in
  ``merge.peak_open_upper_bound``.
- **disruptions**: concatenated (each input injected its own), tagged with the input,
  ``at_s`` / ``done_at_s`` moved onto the merged clock.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from wsbench.errors import UsageError
from wsbench.result.merge import TargetPart, merge_targets
from wsbench.result.model import RESULT_SCHEMA, Generator, Result

__all__ = ["MergedResult", "merge_results", "RUN_SPECIFIC_KEYS"]

#: Scenario keys that may differ between the inputs (where and how each machine ran).
RUN_SPECIFIC_KEYS = frozenset({"shard", "out", "processes", "source_addresses", "ca_file"})
#: Top-level keys this module writes; any other section is taken from the first input.
_OWN_KEYS = frozenset({"schema", "run_id", "started_at", "duration_s", "complete", "wsbench_version",
                       "python", "shard", "merge", "scenario", "generator", "targets"})
_NOTES = (
    "histograms and counters: exact sums of the inputs",
    "timeline: inputs aligned by wall clock to the nearest second; rtt_p99_ms per second is "
    "the highest input's (an upper bound)",
    "sessions.peak_open: from the aligned timeline (a lower bound); merge.peak_open_upper_bound "
    "is the sum of the inputs' peaks",
    "generator.loop_lag_ms_p99: the highest input's (an upper bound)",
)


@dataclass(frozen=True)
class MergedResult:
    """The merged Result and the warnings a user must see (missing shards, partial inputs)."""

    merged: Result
    warnings: tuple[str, ...]

    @cached_property
    def result(self) -> dict[str, Any]:
        """The merged Result as ``result.json`` holds it."""
        return self.merged.to_json()


@dataclass(frozen=True)
class _Input:
    label: str  # where it came from (a path), for messages
    data: Mapping[str, Any]
    shard: tuple[int, int] | None
    started: float  # started_at, Unix seconds
    result: Result = field(compare=False, default_factory=Result)

    @property
    def tag(self) -> str:
        return f"shard {self.shard[0]}" if self.shard else f"run {self.data.get('run_id', self.label)}"

    @property
    def tag_fields(self) -> dict[str, Any]:
        return {"shard": self.shard[0]} if self.shard else {"run_id": self.data.get("run_id")}


def merge_results(inputs: Sequence[tuple[str, Mapping[str, Any] | Result]], *, run_id: str) -> MergedResult:
    """Merge ``(label, Result)`` pairs into one Result named ``run_id``.

    Raises :class:`~wsbench.errors.UsageError` (one line, naming the input) when the inputs
    are not mergeable: not Results of a run, another scenario, a shard twice, mixed N,
    sharded mixed with plain runs, an already merged Result.
    """
    parts = _check(inputs)
    first = parts[0]
    warnings: list[str] = []
    merge: dict[str, Any] = {}
    complete = all(part.result.complete is True for part in parts)
    for part in parts:
        if part.result.complete is not True:
            warnings.append(f"{part.label} is partial (complete: false)")
    if first.shard is not None:
        count = first.shard[1]
        present = [part.shard[0] for part in parts if part.shard]
        missing = [index for index in range(count) if index not in present]
        merge.update(kind="shards", count=count, present=present, missing=missing)
        if missing:
            complete = False
            warnings.append(f"shard(s) {', '.join(map(str, missing))} of {count} missing (I counts from 0): "
                            "the merged Result is partial (complete: false)")
    else:
        merge.update(kind="runs", count=len(parts))
    merge["inputs"] = [
        {"source": part.label, "run_id": part.result.run_id, "started_at": part.result.started_at,
         "complete": part.result.complete is True,
         "shard": {"index": part.shard[0], "count": part.shard[1]} if part.shard else None,
         "host": _machine(part.result).get("host")}
        for part in parts
    ]

    names = _target_names(parts)
    targets = {}
    merge.update(alignment={}, offsets_s={}, peak_open_upper_bound={})
    for name in names:
        having = [part for part in parts if name in part.result.targets]
        warnings.extend(f"target {name!r} is missing from {part.label}"
                        for part in parts if name not in part.result.targets)
        alignment, offsets = _offsets(name, having)
        target = merge_targets(
            [TargetPart(part.result.targets[name], label=part.label, shift_s=offset, tag=part.tag_fields)
             for part, offset in zip(having, offsets, strict=True)],
            name=name,
        )
        if len(having) != len(parts):
            target = replace(target, complete=False)
        complete = complete and target.complete is True
        targets[name] = target
        merge["alignment"][name] = alignment
        merge["offsets_s"][name] = {part.tag: round(offset, 3) for part, offset in zip(having, offsets, strict=True)}
        merge["peak_open_upper_bound"][name] = sum(part.result.targets[name].session_counts.peak_open
                                                   for part in having)
    merge["notes"] = list(_NOTES)
    if first.shard is None:
        merge["notes"].append(f"plain runs: each of the {len(parts)} inputs ran the whole scenario, "
                              "so the merged load is their sum")

    begin = min(part.started for part in parts)
    end = max(part.started + (part.result.duration_s or 0.0) for part in parts)
    scenario = dict(first.result.scenario or {})
    if "shard" in scenario:
        scenario["shard"] = None
    earliest = min(parts, key=lambda part: part.started)
    merged = Result(
        run_id=run_id,
        started_at=earliest.result.started_at,
        duration_s=round(end - begin, 3),
        complete=complete,
        wsbench_version=first.result.wsbench_version,
        python=first.result.python,
        scenario=scenario,
        merge=merge,
        generator=_merge_generator(parts),
        targets=targets,
        extra={**{key: None for key in ("wsbench_version", "python") if getattr(first.result, key) is None},
               **{key: value for key, value in first.result.extra.items() if key not in _OWN_KEYS}},
    )
    return MergedResult(merged=merged, warnings=tuple(warnings))


# --- checks -----------------------------------------------------------------------


def _check(inputs: Sequence[tuple[str, Mapping[str, Any] | Result]]) -> list[_Input]:
    """The inputs in merge order (shards by index), or a one-line UsageError."""
    if not inputs:
        raise UsageError("merge: no Results given")
    parts = [_input(label, data.to_json() if isinstance(data, Result) else data) for label, data in inputs]
    sharded = [(part, part.shard) for part in parts if part.shard is not None]
    plain = [part for part in parts if part.shard is None]
    if sharded and plain:
        first, shard = sharded[0]
        raise UsageError(f"cannot merge shards with plain runs: {first.label} is shard {_fraction(shard)}, "
                         f"{plain[0].label} has no shard")
    if sharded:
        first, (_, count) = sharded[0]
        seen: dict[int, _Input] = {}
        for part, (index, its_count) in sharded:
            if its_count != count:
                raise UsageError(f"shard counts differ: {first.label} is shard {_fraction(first.shard)}, "
                                 f"{part.label} is shard {_fraction(part.shard)}")
            if index in seen:
                raise UsageError(f"shard {_fraction(part.shard)} given twice: {seen[index].label} and {part.label}")
            seen[index] = part
        parts = [seen[index] for index in sorted(seen)]
    else:
        runs: dict[Any, _Input] = {}
        for part in parts:
            key = part.data.get("run_id")
            if key in runs:
                raise UsageError(f"the same run given twice: {runs[key].label} and {part.label} (run_id {key})")
            runs[key] = part
    reference = parts[0]
    for part in parts[1:]:
        difference = _scenario_difference(reference.data["scenario"], part.data["scenario"])
        if difference:
            raise UsageError(f"{part.label}: not the same scenario as {reference.label} ({difference})")
    return parts


def _input(label: str, data: Mapping[str, Any]) -> _Input:
    if not isinstance(data, Mapping) or data.get("schema") != RESULT_SCHEMA:
        raise UsageError(f"{label}: not a wsbench Result (schema {RESULT_SCHEMA!r} expected)")
    if "merge" in data:
        raise UsageError(f"{label}: already a merged Result; merge the Results it was made from")
    if not isinstance(data.get("scenario"), Mapping):
        raise UsageError(f"{label}: not the Result of a run (no 'scenario')")
    targets = data.get("targets")
    if not isinstance(targets, Mapping):
        raise UsageError(f"{label}: Result has no 'targets' object")
    for name, target in targets.items():
        for key in ("sessions", "messages", "rtt"):
            if not isinstance(target, Mapping) or not isinstance(target.get(key), Mapping):
                raise UsageError(f"{label}: target {name!r} has no {key!r} object")
    shard = data.get("shard")
    parsed = None
    if shard is not None:
        index = shard.get("index") if isinstance(shard, Mapping) else None
        count = shard.get("count") if isinstance(shard, Mapping) else None
        if not (type(index) is int and type(count) is int and 0 <= index < count):
            raise UsageError(f"{label}: bad 'shard' {shard!r} (expected {{index: I, count: N}}, 0 <= I < N)")
        parsed = (index, count)
    return _Input(label=label, data=data, shard=parsed, started=_started(label, data.get("started_at")),
                  result=Result.from_json(data, source=label))


def _started(label: str, text: Any) -> float:
    try:
        moment = _dt.datetime.fromisoformat(str(text))
    except ValueError:
        raise UsageError(f"{label}: no valid 'started_at' (ISO 8601 expected, got {text!r})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.timestamp()


def _scenario_difference(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """The first scenario key (not run-specific) whose values differ, as ``key: a vs b``."""
    keys = [*a, *(key for key in b if key not in a)]
    for key in keys:
        if key not in RUN_SPECIFIC_KEYS and a.get(key) != b.get(key):
            return f"{key}: {_short(a.get(key))} vs {_short(b.get(key))}"
    return ""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fraction(shard: tuple[int, int] | None) -> str:
    return f"{shard[0]}/{shard[1]}" if shard else "-"


def _machine(result: Result) -> Mapping[str, Any]:
    return (result.generator.machine if result.generator else None) or {}


# --- targets ----------------------------------------------------------------------


def _target_names(parts: Sequence[_Input]) -> list[str]:
    names: list[str] = []
    for part in parts:
        names.extend(name for name in part.result.targets if name not in names)
    return names


def _offsets(name: str, parts: Sequence[_Input]) -> tuple[str, list[float]]:
    """How each input's timeline t = 0 lies after the earliest one's (s), and by what clock."""
    t0 = [part.result.targets[name].t0_unix_s for part in parts]
    if all(value is not None for value in t0):
        alignment, times = "t0_unix_s", [float(value or 0.0) for value in t0]
    else:
        alignment, times = "started_at", [part.started for part in parts]
    earliest = min(times)
    return alignment, [value - earliest for value in times]


# --- generator ----------------------------------------------------------------------


def _merge_generator(parts: Sequence[_Input]) -> Generator:
    """Processes summed, the worst CPU and loop lag, saturated if any input was."""
    generators = [(part, part.result.generator or Generator()) for part in parts]
    reasons = [f"{part.tag}: {reason}" for part, g in generators for reason in g.saturation_reasons or ()]
    machines = [{**_machine(part.result), **part.tag_fields} for part in parts]
    return Generator(
        processes=sum(g.processes or 0 for _, g in generators),
        cpu_percent_max=max(g.cpu_percent_max or 0.0 for _, g in generators),
        loop_lag_ms_p99=max(g.loop_lag_ms_p99 or 0.0 for _, g in generators),
        saturated=any(g.saturated for _, g in generators) or bool(reasons),
        saturation_reasons=tuple(reasons),
        workers=tuple({**worker, **part.tag_fields} for part, g in generators for worker in g.workers or ()),
        machine=_common_machine([_machine(part.result) for part in parts]),
        extra={"machines": machines},
    )


def _common_machine(machines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each fact the machines share, or their distinct values joined with `` / ``."""
    keys: list[str] = []
    for machine in machines:
        keys.extend(key for key in machine if key not in keys)
    common: dict[str, Any] = {}
    for key in keys:
        values: list[Any] = []
        for machine in machines:
            if machine.get(key) not in values:
                values.append(machine.get(key))
        common[key] = values[0] if len(values) == 1 else " / ".join(map(str, values))
    return common
