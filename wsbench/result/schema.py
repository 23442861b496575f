"""Which metric paths a Result has: the schema the gate checks every threshold against. Pure.

A path addresses one number of one target (``rtt.p99``, ``sessions.dropped``,
``upgrade_failures.http_502``, ``disruptions[0].recovery.p99``) or of the Result's top
(``generator.cpu_percent_max``). The schema is the union of

* what ``wsbench/result@1`` defines (DESIGN.md "The Result contract"): the counters, the
  histogram summaries and their statistics (``count``, ``min``, ``mean``, ``max``, any
  ``pNN``), the open count maps and their ``total``, the fields of a disruption;
* every number the Result at hand holds (sections other code added, e.g. ``proxy_cost``).

The open count maps take the keys their vocabulary allows even when this run has none of
them (``upgrade_failures.http_504``, ``closes.by_code.1011`` read 0): that is a
measurement, not a typo. Anything else is bad input: :func:`check_path` raises
:class:`MetricPathError` naming the nearest valid names.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wsbench.errors import UsageError
from wsbench.metrics.recorder import FAILURE_KINDS, UPGRADE_PHASES
from wsbench.result.model import Result
from wsbench.result.summary import STATISTICS

__all__ = [
    "MetricPathError",
    "TOTAL",
    "ROOT_SECTIONS",
    "OPEN_MAPS",
    "Segment",
    "check_path",
    "check_target",
    "metric_paths",
    "nearest",
    "is_statistic",
]

#: ``[*]`` in a path is the segment ``"*"``; an index is an int.
Segment = str | int
TOTAL = "total"
#: Sections read at the top of the Result, not in a target.
ROOT_SECTIONS = ("generator",)
_PERCENTILE = re.compile(r"^p\d+$")
_HTTP_STATUS = re.compile(r"^http_[1-5]\d\d$")
_CLOSE_CODE = re.compile(r"^[1-4]\d{3}$")


class MetricPathError(UsageError):
    """A metric path the Result does not have; the message names the nearest valid ones."""


def is_statistic(name: str) -> bool:
    """A statistic of a histogram summary: count, min, mean, max or pNN."""
    return name in STATISTICS or bool(_PERCENTILE.match(name))


#: Names users write for a statistic or key that has another name here.
_ALIASES = {"avg": "mean", "average": "mean", "median": "p50", "minimum": "min", "maximum": "max",
            "samples": "count", "n": "count", "p99_9": "p999", "sum": "total", "all": "total"}


def nearest(wrong: str, choices: Sequence[str], *, limit: int = 3) -> list[str]:
    """The valid names closest to ``wrong`` (known aliases first, then difflib), best first."""
    alias = _ALIASES.get(wrong.lower())
    if alias is None and wrong.isdigit() and f"http_{wrong}" in choices:
        alias = f"http_{wrong}"
    close = difflib.get_close_matches(wrong, list(choices), n=limit, cutoff=0.5)
    return ([alias] if alias in choices else []) + [c for c in close if c != alias][: limit - 1 if alias else limit]


# --- the schema as a small tree ------------------------------------------------------------


@dataclass
class _Node:
    """One level of the schema: named children, or a summary, an open map, a list."""

    children: dict[str, _Node] = field(default_factory=dict)
    leaf: bool = False
    summary: bool = False
    open_keys: re.Pattern[str] | None = None  # an open count map: keys it may hold
    open_vocabulary: tuple[str, ...] = ()
    items: _Node | None = None  # a list: the schema of each element
    length: int | None = None  # a list: how many elements this Result has
    labels: tuple[str, ...] = ()  # a list: how each element is named in messages

    def child(self, name: str) -> _Node:
        return self.children.setdefault(name, _Node())


def _counter_map(names: Sequence[str]) -> _Node:
    return _Node({name: _Node(leaf=True) for name in names})


def _open_map(pattern: re.Pattern[str], vocabulary: Sequence[str]) -> _Node:
    node = _Node({name: _Node(leaf=True) for name in vocabulary}, open_keys=pattern,
                 open_vocabulary=tuple(vocabulary))
    node.children[TOTAL] = _Node(leaf=True)
    return node


#: The open count maps: ``(path, key pattern, vocabulary)``; ``total`` sums the keys.
OPEN_MAPS: tuple[tuple[tuple[str, ...], re.Pattern[str], tuple[str, ...]], ...] = (
    (("upgrade_failures",), re.compile(rf"^(http_[1-5]\d\d|{'|'.join(FAILURE_KINDS)})$"), FAILURE_KINDS),
    (("closes", "by_code"), _CLOSE_CODE, ("1000", "1001", "1006")),
    (("closes", "by_side"), re.compile(r"^(client|server|abnormal)$"), ("client", "server", "abnormal")),
)


def _disruption() -> _Node:
    node = _counter_map(("at_s", "sessions_dropped", "messages_lost", "recovered", "pod_sessions_before",
                         "exit_code", "done_at_s"))
    node.children["recovery"] = _Node(summary=True)
    node.children["upgrade_failures"] = _open_map(OPEN_MAPS[0][1], OPEN_MAPS[0][2])
    node.children["closes_by_code"] = _open_map(_CLOSE_CODE, ("1000", "1001", "1006"))
    return node


def _static_target() -> _Node:
    target = _Node()
    target.children["sessions"] = _counter_map(
        ("attempted", "opened", "failed", "dropped", "reconnected", "peak_open"))
    target.children["messages"] = _counter_map(
        ("sent", "received", "lost", "duplicated", "reordered", "late_sends", "unmatched"))
    target.children["upgrade"] = _Node({phase: _Node(summary=True) for phase in UPGRADE_PHASES})
    target.children["rtt"] = _Node(summary=True)
    target.children["rtt_service"] = _Node(summary=True)
    target.children["send_lag"] = _Node(summary=True)
    target.children["recovery"] = _Node(summary=True)
    target.children["upgrade_failures"] = _open_map(OPEN_MAPS[0][1], OPEN_MAPS[0][2])
    closes = target.child("closes")
    closes.children["by_code"] = _open_map(OPEN_MAPS[1][1], OPEN_MAPS[1][2])
    closes.children["by_side"] = _open_map(OPEN_MAPS[2][1], OPEN_MAPS[2][2])
    closes.children[TOTAL] = _Node(leaf=True)
    target.children["disruptions"] = _Node(items=_disruption())
    return target


def _static_root() -> _Node:
    return _Node({"generator": _counter_map(("processes", "cpu_percent_max", "loop_lag_ms_p99", "saturated"))})


def _is_summary(value: Any) -> bool:
    return isinstance(value, Mapping) and ("hdr" in value or "p50" in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float)  # bools too: `generator.saturated == 0`


def _add(node: _Node, value: Any) -> None:
    """Every number in ``value`` (a JSON section of the Result) joins the schema at ``node``."""
    if _is_summary(value):
        node.summary = True
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _is_number(item) or _is_summary(item) or isinstance(item, Mapping | list):
                child = node.child(str(key))
                if _is_number(item):
                    child.leaf = True
                else:
                    _add(child, item)
    elif isinstance(value, list):
        if node.items is None:
            node.items = _Node()
        node.length = max(node.length or 0, len(value))
        for item in value:
            if isinstance(item, Mapping):
                _add(node.items, item)


def _disruption_labels(items: Sequence[Any]) -> tuple[str, ...]:
    labels = []
    for index, item in enumerate(items):
        label = f"disruptions[{index}]"
        if isinstance(item, Mapping) and item.get("kind"):
            at = item.get("at_s")
            label += f" ({item['kind']}" + (f"@{at:g}s)" if isinstance(at, int | float) else ")")
        labels.append(label)
    return tuple(labels)


@dataclass(frozen=True)
class _Schema:
    root: _Node
    target: _Node
    targets: tuple[str, ...]


def _schema(result: Result | Mapping[str, Any] | None, targets: Sequence[str] | None = None) -> _Schema:
    """The schema of ``result`` (of the targets named; else of all its targets together)."""
    root, node = _static_root(), _static_target()
    if result is None:
        return _Schema(root, node, ())
    data = result.to_json() if isinstance(result, Result) else dict(result)
    found = data.get("targets") if isinstance(data.get("targets"), Mapping) else {}
    for name in ROOT_SECTIONS:
        if isinstance(data.get(name), Mapping):
            _add(root.child(name), {k: v for k, v in data[name].items() if _is_number(v)})
    chosen = [name for name in (targets if targets is not None else found) if name in found]
    disruptions: list[Any] = []
    for name in chosen:
        if isinstance(found[name], Mapping):
            _add(node, found[name])
            listed = found[name].get("disruptions")
            if isinstance(listed, list) and len(listed) > len(disruptions):
                disruptions = listed
    node.child("disruptions").length = len(disruptions)
    node.child("disruptions").labels = _disruption_labels(disruptions)
    return _Schema(root, node, tuple(str(name) for name in found))


# --- checking a path -------------------------------------------------------------------------


def _text(path: Sequence[Segment]) -> str:
    out = ""
    for segment in path:
        if isinstance(segment, int):
            out += f"[{segment}]"
        elif segment == "*":
            out += "[*]"
        else:
            out += ("." if out else "") + segment
    return out


def _choices(node: _Node) -> list[str]:
    names = sorted(node.children, key=lambda name: (name == TOTAL, name))
    if node.summary:
        names = [*STATISTICS, "pNN"]
    return names


def _fail(path: Sequence[Segment], position: int, node: _Node, *, context: str = "") -> MetricPathError:
    walked, wrong = _text(path[:position]), path[position]
    full = _text(path)
    choices = _choices(node)
    if isinstance(wrong, int) or wrong == "*":
        return MetricPathError(f"{full}: {walked} is not a list")
    close = nearest(str(wrong), choices)
    where = f"{walked} has" if walked else "a target has"
    hint = f"; did you mean {' or '.join((walked + '.' if walked else '') + c for c in close)}?" if close else ""
    shown = ", ".join(choices[:24]) + (", …" if len(choices) > 24 else "")
    if node.open_keys is not None:
        shown += " (and any " + ("http_<status>, " if "upgrade_failures" in walked else "") + "key this map can hold)"
    return MetricPathError(f"{full}: no metric {wrong!r}{context}{hint} ({where}: {shown or 'nothing'})")


def check_path(path: Sequence[Segment], result: Result | Mapping[str, Any] | None = None, *,
               targets: Sequence[str] | None = None) -> None:
    """Raise :class:`MetricPathError` unless ``path`` is a metric of ``result`` (of one of
    ``targets`` when given; a disruption index must exist in one of them). Without a Result,
    only the paths ``wsbench/result@1`` defines are checked; sections other code adds are
    left to the check against the Result."""
    schema = _schema(result, targets)
    node = schema.root if path and path[0] in schema.root.children else schema.target
    if result is None and path and isinstance(path[0], str) and path[0] not in node.children:
        return  # a section the Result may add (proxy_cost, ...): checked when the Result is there
    for position, segment in enumerate(path):
        if isinstance(segment, int) or segment == "*":
            if node.items is None:
                raise _fail(path, position, node)
            if isinstance(segment, int) and result is not None and not -(node.length or 0) <= segment < (node.length or 0):
                listed = ", ".join(node.labels) or "none in this run"
                raise MetricPathError(f"{_text(path)}: no such disruption (this Result has "
                                      f"{node.length or 0}: {listed}); use [*] for every one")
            node = node.items
            continue
        if node.summary:
            if is_statistic(segment) and position == len(path) - 1:
                return
            raise _fail(path, position, node)
        if segment in node.children:
            node = node.children[segment]
            continue
        if node.open_keys is not None and node.open_keys.match(segment) and position == len(path) - 1:
            return
        raise _fail(path, position, node)
    if node.summary:
        raise MetricPathError(f"{_text(path)} is a histogram: name a statistic, e.g. {_text(path)}.p99 "
                              f"({', '.join(STATISTICS)}, pNN)")
    if not node.leaf:
        choices = _choices(node)
        raise MetricPathError(f"{_text(path)} is a section, not a number: name one of "
                              f"{', '.join(_text([*path, c]) for c in choices[:12])}")


def check_target(name: str, result: Result | Mapping[str, Any]) -> None:
    """Raise :class:`MetricPathError` unless ``result`` has a target ``name``."""
    known = _schema(result).targets
    if name in known:
        return
    close = nearest(name, known)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise MetricPathError(f"no target {name!r} in this Result{hint} (targets: {', '.join(known) or 'none'})")


# --- listing every path ----------------------------------------------------------------------


def _walk(node: _Node, prefix: list[Segment]) -> Iterator[str]:
    if node.leaf:
        yield _text(prefix)
    if node.summary:
        for statistic in STATISTICS:
            yield _text([*prefix, statistic])
        yield _text([*prefix, "pNN"]) + "  (any percentile: p95, p9999, ...)"
    if node.open_keys is not None:
        pattern = "http_<status>" if "upgrade_failures" in _text(prefix) else "<code>" if "code" in _text(prefix) else None
        if pattern:
            yield _text([*prefix, pattern]) + "  (0 when this run had none)"
    for name in sorted(node.children, key=lambda n: (n == TOTAL, n)):
        yield from _walk(node.children[name], [*prefix, name])
    if node.items is not None:
        yield from _walk(node.items, [*prefix, "*"])


def metric_paths(result: Result | Mapping[str, Any] | None = None) -> list[str]:
    """Every metric path (``[*]`` for list elements), sorted by section; with a Result, every
    number it holds is among them."""
    schema = _schema(result)
    paths = list(_walk(schema.target, []))
    paths += list(_walk(schema.root, []))
    return list(dict.fromkeys(paths))
