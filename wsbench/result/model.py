"""The Result (``wsbench/result@1``, DESIGN.md "The Result contract") as frozen dataclasses.

Pure: ``from_json`` takes a dict or a JSON string, ``to_json`` gives the dict back; nothing
here reads or writes a file. ``Result.to_json(Result.from_json(d)) == d`` for every Result:
keys the types do not know are kept in each section's ``extra`` and written back, so what
other code adds stays additive. Absent keys are None (older and partial Results omit
sections); readers decide what absence means. Malformed input raises a one-line
:class:`~wsbench.errors.InputFileError` naming the file and the key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from wsbench.errors import InputFileError
from wsbench.result.calibration import Calibration
from wsbench.result.codec import (
    Field,
    Section,
    plain,
    read_bool,
    read_int,
    read_list,
    read_mapping,
    read_number,
    read_object,
    read_section,
    read_str,
    write_section,
)
from wsbench.result.infrastructure import Infrastructure
from wsbench.result.summary import Summary

__all__ = [
    "RESULT_SCHEMA",
    "Counts",
    "Sessions",
    "Messages",
    "Closes",
    "Disruption",
    "Timeline",
    "ShardOf",
    "Generator",
    "TargetResult",
    "Result",
]

RESULT_SCHEMA = "wsbench/result@1"


# --- counters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts(Mapping[str, float]):
    """A map of counters (``{"1000": 3, "1006": 1}``); non-numbers are kept in ``extra``."""

    values: Mapping[str, float] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str) -> Any:
        values: dict[str, float] = {}
        extra: dict[str, Any] = {}
        for key, value in read_object(data, where).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values[key] = value
            else:
                extra[key] = plain(value)
        return cls(values, extra)

    def to_json(self) -> dict[str, Any]:
        return {**self.values, **plain(dict(self.extra))}

    def __getitem__(self, key: str) -> float:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def count(self, key: str) -> int:
        """The counter ``key`` (0 when absent)."""
        return int(self.values.get(key, 0))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Counts)
        return dict(self.values) == dict(other.values) and dict(self.extra) == dict(other.extra)

    __hash__ = None  # type: ignore[assignment]


def _counter(key: str) -> Any:
    return property(lambda self: self.count(key), doc=f"``{key}`` (0 when absent)")


class Sessions(Counts):
    """``sessions``: attempted, opened, failed, dropped, reconnected, peak_open."""

    attempted = _counter("attempted")
    opened = _counter("opened")
    failed = _counter("failed")
    dropped = _counter("dropped")
    reconnected = _counter("reconnected")
    peak_open = _counter("peak_open")


class Messages(Counts):
    """``messages``: sent, received, lost, duplicated, reordered (and late_sends, unmatched)."""

    sent = _counter("sent")
    received = _counter("received")
    lost = _counter("lost")
    duplicated = _counter("duplicated")
    reordered = _counter("reordered")


def _writer(value: Any) -> Any:
    return value.to_json()


def _section(cls: Any) -> Any:
    return lambda value, where: cls.from_json(value, where)


_CLOSES_FIELDS = (Field("by_code", _section(Counts), _writer), Field("by_side", _section(Counts), _writer),
                  Field("invalid", _section(Counts), _writer))


@dataclass(frozen=True)
class Closes(Section):
    """``closes``: sessions ended, by close code and by the side that ended them; ``invalid``:
    close frames the peer should not have sent, by what was wrong (``bad_close_code``, ...)."""

    FIELDS: ClassVar[tuple[Field, ...]] = _CLOSES_FIELDS

    by_code: Counts | None = None
    by_side: Counts | None = None
    invalid: Counts | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)



# --- disruptions, timeline ----------------------------------------------------------------

_DISRUPTION_FIELDS = (
    Field("kind", read_str),
    Field("at_s", read_number),
    Field("pod", read_str),
    Field("sessions_dropped", read_int),
    Field("messages_lost", read_int),
    Field("recovery", _section(Summary), _writer),
)


@dataclass(frozen=True)
class Disruption(Section):
    """One disruption and its blast radius; what the injector recorded stays in ``extra``."""

    FIELDS: ClassVar[tuple[Field, ...]] = _DISRUPTION_FIELDS

    kind: str | None = None
    at_s: float | None = None
    pod: str | None = None
    sessions_dropped: int | None = None
    messages_lost: int | None = None
    recovery: Summary | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)



@dataclass(frozen=True)
class Timeline:
    """Per-second series: ``t_s`` (end of each second) and same-length lists beside it.

    ``open``, ``messages_per_s``, ``sent_per_s``, ``dropped``, ``lost``, ``upgrade_failures``
    are counts (summed when merged); series named ``*_ms`` (``rtt_p99_ms``) are latencies,
    None in a second without samples.
    """

    t_s: tuple[float, ...] | None = None
    series: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str = "timeline") -> Timeline:
        t_s = None
        series: dict[str, tuple[Any, ...]] = {}
        extra: dict[str, Any] = {}
        for key, value in read_object(data, where).items():
            if key == "t_s" and value is not None:
                t_s = read_list(read_number)(value, f"{where}.t_s")
            elif isinstance(value, list):
                series[key] = tuple(plain(value))
            else:
                extra[key] = plain(value)
        return cls(t_s, series, extra)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.t_s is None else {"t_s": list(self.t_s)}
        out.update((key, list(values)) for key, values in self.series.items())
        out.update(plain(dict(self.extra)))
        return out

    def get(self, name: str) -> tuple[Any, ...]:
        """The series ``name`` (empty when absent)."""
        return self.series.get(name, ())

    @property
    def seconds(self) -> tuple[float, ...]:
        return self.t_s or ()


# --- generator, shard ---------------------------------------------------------------------

_SHARD_FIELDS = (Field("index", read_int), Field("count", read_int))


@dataclass(frozen=True)
class ShardOf(Section):
    """``shard``: this Result ran the sessions ``i % count == index``."""

    FIELDS: ClassVar[tuple[Field, ...]] = _SHARD_FIELDS

    index: int | None = None
    count: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)



_GENERATOR_FIELDS = (
    Field("processes", read_int),
    Field("cpu_percent_max", read_number),
    Field("loop_lag_ms_p99", read_number),
    Field("saturated", read_bool),
    Field("saturation_reasons", read_list(read_str), list),
    Field("workers", read_list(read_mapping), lambda items: [plain(dict(item)) for item in items]),
    Field("machine", read_mapping),
    Field("calibration", lambda value, where: Calibration.from_json(value, where), lambda c: c.to_json()),
)


@dataclass(frozen=True)
class Generator(Section):
    """``generator``: the load generator's health, and the verdict whether it was saturated."""

    FIELDS: ClassVar[tuple[Field, ...]] = _GENERATOR_FIELDS

    processes: int | None = None
    cpu_percent_max: float | None = None
    loop_lag_ms_p99: float | None = None
    saturated: bool | None = None
    saturation_reasons: tuple[str, ...] | None = None
    workers: tuple[Mapping[str, Any], ...] | None = None
    machine: Mapping[str, Any] | None = None
    #: the generator against a reference echo before the load (wsbench.result.calibration)
    calibration: Calibration | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)



# --- target ---------------------------------------------------------------------------------


def _read_upgrade(value: Any, where: str) -> dict[str, Summary]:
    return {phase: Summary.from_json(summary, f"{where}.{phase}")
            for phase, summary in read_object(value, where).items()}


def _read_disruptions(value: Any, where: str) -> tuple[Disruption, ...]:
    return read_list(_section(Disruption))(value, where)  # type: ignore[no-any-return]


_TARGET_FIELDS = (
    Field("url", read_str),
    Field("complete", read_bool),
    Field("sessions", _section(Sessions), _writer),
    Field("upgrade", _read_upgrade, lambda phases: {name: s.to_json() for name, s in phases.items()}),
    Field("rtt", _section(Summary), _writer),
    Field("rtt_service", _section(Summary), _writer),
    Field("send_lag", _section(Summary), _writer),
    Field("recovery", _section(Summary), _writer),
    Field("messages", _section(Messages), _writer),
    Field("closes", _section(Closes), _writer),
    Field("upgrade_failures", _section(Counts), _writer),
    Field("disruptions", _read_disruptions, lambda items: [item.to_json() for item in items]),
    Field("timeline", _section(Timeline), _writer),
    Field("t0_unix_s", read_number),
    Field("subprotocols", _section(Counts), _writer),
    Field("infrastructure", _section(Infrastructure), _writer),
    Field("drop_causes", _section(Counts), _writer),
    Field("protocol_errors", _section(Counts), _writer),
)


@dataclass(frozen=True)
class TargetResult(Section):
    """One target of the Result: sessions, upgrade phases, RTT, messages, closes, timeline."""

    FIELDS: ClassVar[tuple[Field, ...]] = _TARGET_FIELDS

    url: str | None = None
    complete: bool | None = None
    sessions: Sessions | None = None
    upgrade: Mapping[str, Summary] | None = None
    rtt: Summary | None = None
    #: each reply's time from the *actual* send: the RTT less the generator's own lateness in
    #: sending it (rate mode; in closed loop the RTT itself); absent in older Results
    rtt_service: Summary | None = None
    #: rate mode: how late each message went out after its scheduled time (the generator's
    #: timer and event loop); absent in older Results and empty in closed loop
    send_lag: Summary | None = None
    recovery: Summary | None = None
    messages: Messages | None = None
    closes: Closes | None = None
    upgrade_failures: Counts | None = None
    disruptions: tuple[Disruption, ...] | None = None
    timeline: Timeline | None = None
    #: wall clock (Unix s) of the timeline's t = 0, for aligning Results of several machines
    t0_unix_s: float | None = None
    subprotocols: Counts | None = None
    #: the lab's own health while the target ran (``run --lab``); not ok: a lab failure
    infrastructure: Infrastructure | None = None
    #: why sessions dropped (wsbench.protocol.failures.DROP_CAUSES); absent in older Results
    drop_causes: Counts | None = None
    #: how the peer broke RFC 6455, per class (PROTOCOL_ERRORS); absent in older Results
    protocol_errors: Counts | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


    def summary(self, path: Sequence[str]) -> Summary | None:
        """The summary at ``path`` (``("rtt",)``, ``("upgrade", "total")``, or one other code
        added, e.g. ``("proxy_cost", "rtt")``), or None."""
        if len(path) == 1 and path[0] in ("rtt", "rtt_service", "send_lag", "recovery"):
            return getattr(self, path[0])  # type: ignore[no-any-return]
        if len(path) == 2 and path[0] == "upgrade":
            return (self.upgrade or {}).get(path[1])
        if not path or path[0] in {spec.name for spec in _TARGET_FIELDS}:
            return None
        node: Any = self.extra
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and ("hdr" in node or "p50" in node):
            return Summary.from_json(node, ".".join(path))
        return None

    @property
    def session_counts(self) -> Sessions:
        return self.sessions if self.sessions is not None else Sessions()

    @property
    def message_counts(self) -> Messages:
        return self.messages if self.messages is not None else Messages()

    @property
    def disruption_list(self) -> tuple[Disruption, ...]:
        return self.disruptions or ()


# --- the Result -------------------------------------------------------------------------------


def _read_targets(value: Any, where: str) -> dict[str, TargetResult]:
    return {str(name): TargetResult.from_json(target, f"{where}.{name}")
            for name, target in read_object(value, where).items()}


_RESULT_FIELDS = (
    Field("schema", read_str),
    Field("run_id", read_str),
    Field("started_at", read_str),
    Field("duration_s", read_number),
    Field("complete", read_bool),
    Field("wsbench_version", read_str),
    Field("python", read_str),
    Field("shard", _section(ShardOf), _writer),
    Field("merge", read_mapping),
    Field("scenario", read_mapping),
    Field("generator", _section(Generator), _writer),
    Field("targets", _read_targets, lambda targets: {name: t.to_json() for name, t in targets.items()}),
)


def _family(schema: str) -> str:
    return schema.split("@", 1)[0]


@dataclass(frozen=True)
class Result:
    """A run's Result: what ``result.json`` holds (schema ``wsbench/result@1``)."""

    schema: str = RESULT_SCHEMA
    run_id: str | None = None
    started_at: str | None = None
    duration_s: float | None = None
    complete: bool | None = None
    wsbench_version: str | None = None
    python: str | None = None
    shard: ShardOf | None = None
    merge: Mapping[str, Any] | None = None
    scenario: Mapping[str, Any] | None = None
    generator: Generator | None = None
    targets: Mapping[str, TargetResult] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def coerce(cls, data: Result | Mapping[str, Any] | str, *, source: str = "result") -> Result:
        """``data`` itself when it is a Result, else :meth:`from_json` of it."""
        return data if isinstance(data, Result) else cls.from_json(data, source=source)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str, *, source: str = "result") -> Result:
        """Read a Result (a dict, or JSON text); InputFileError naming ``source`` and the key."""
        if isinstance(data, str | bytes):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise InputFileError(f"{source}: not valid JSON ({exc})") from exc
        if not isinstance(data, Mapping):
            raise InputFileError(f"{source}: not a wsbench Result (a JSON object is expected)")
        schema = data.get("schema")
        if schema != RESULT_SCHEMA:
            if isinstance(schema, str) and _family(schema) == _family(RESULT_SCHEMA):
                raise InputFileError(f"{source}: Result schema {schema!r} is not supported "
                                     f"(this wsbench reads {RESULT_SCHEMA!r})")
            raise InputFileError(f"{source}: not a wsbench Result (schema {schema!r}, expected {RESULT_SCHEMA!r})")
        if not isinstance(data.get("targets"), Mapping):
            raise InputFileError(f"{source}: Result has no 'targets' object")
        for name, target in data["targets"].items():
            if not isinstance(target, Mapping):
                raise InputFileError(f"{source}: target {name!r} is not an object")
        return cls(**read_section(data, source + ":", _RESULT_FIELDS))

    def to_json(self) -> dict[str, Any]:
        """The Result as ``result.json`` holds it (sections other code added before ``targets``)."""
        out = write_section(self, _RESULT_FIELDS)
        out["targets"] = out.pop("targets")
        return out

    def dumps(self, *, indent: int | None = 1) -> str:
        """The JSON text of the Result (what ``result.json`` holds, without the final newline)."""
        return json.dumps(self.to_json(), indent=indent)

    def section(self, key: str) -> Mapping[str, Any]:
        """An object other code added at the top (``lab``, ``versions``), or {}."""
        value = self.extra.get(key)
        return value if isinstance(value, Mapping) else {}
