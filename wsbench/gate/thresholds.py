"""Evaluate parsed thresholds against a Result ``dict``. Pure, no I/O.

Paths resolve inside one target of the Result (``rtt.p99`` is ``targets[name].rtt.p99``);
``generator.*`` resolves at the top of the Result. ``total`` sums an open count map:
``upgrade_failures.total`` (every failure class: ``upgrade_failures.total /
sessions.attempted < 0.001``), ``closes.by_code.total``, ``closes.total`` (sessions that
ended), and inside a disruption ``disruptions[*].upgrade_failures.total``. A statistic
missing from a summary (``p95``) is computed from the summary's histogram.

Every path is checked first against the Result's schema (:mod:`wsbench.result.schema`): an
unknown metric, key, target or disruption is bad input (:class:`ThresholdError`, exit 2,
naming the nearest valid names) — a typo never reads as 0. What the schema allows but the
run cannot measure is *no data*, and no data never passes: a percentile of an empty
histogram, a missing section, a division by zero, a ``[*]`` over an empty list. Keys of the
open count maps this run did not see (``upgrade_failures.http_504``, ``closes.by_code.1011``)
count as 0.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from wsbench.gate.expr import (
    Dimension,
    Expr,
    Metric,
    Negate,
    Number,
    Threshold,
    ThresholdError,
    Wildcard,
    check_metrics,
    is_statistic_name,
)
from wsbench.result import fmt
from wsbench.result.distribution import HdrDecodeError, distribution_of
from wsbench.result.schema import MetricPathError, check_target
from wsbench.result.stats import parse_statistic
from wsbench.result.verdict import Check, Observation

__all__ = ["NoData", "evaluate_threshold", "resolve_metric", "format_value", "expression_value"]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
#: The open count maps, by their own name (also inside a disruption): absent keys read 0.
_OPEN_COUNT_MAPS = {"by_code", "by_side", "upgrade_failures", "closes_by_code"}
_ROOT_SECTIONS = {"generator"}


class NoData(Exception):  # noqa: N818 - a signal, not an error
    """A value cannot be measured; the message says why."""


def format_value(value: float, dimension: Dimension) -> str:
    """A value as the gate shows it: durations in ms/s, others as plain numbers."""
    return fmt.ms(value) if dimension == "duration" else fmt.number(value)


def _is_summary(node: Any) -> bool:
    return isinstance(node, Mapping) and ("hdr" in node or "p50" in node)


def _statistic(summary: Mapping[str, Any], name: str, where: str) -> float:
    samples = summary.get("count")
    if isinstance(samples, int | float) and samples == 0:
        raise NoData(f"{where}: no samples")
    if name == "p100":
        name = "max"
    value = summary.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if name.startswith("p"):
        try:
            dist = distribution_of(summary)
        except HdrDecodeError as exc:
            raise NoData(f"{where}: unreadable histogram ({exc})") from exc
        if dist is not None and dist.total:
            return dist.value_at_percentile(parse_statistic(name) or 0.0) / 1000.0
    raise NoData(f"{where}: not in the Result")


def resolve_metric(
    result: Mapping[str, Any], target: str, metric: Metric, index: int | None = None
) -> float:
    """The value of ``metric`` for ``target`` (``index`` replaces a ``[*]``); raise NoData."""
    node: Any = result if metric.path[0] in _ROOT_SECTIONS else result["targets"][target]
    walked: list[str] = []
    for position, segment in enumerate(metric.path):
        if isinstance(segment, Wildcard):
            segment = index if index is not None else 0
        where = metric.text if not walked else ".".join(walked + [str(segment)])
        last = position == len(metric.path) - 1
        if isinstance(segment, int):
            if not isinstance(node, list):
                raise NoData(f"{'.'.join(walked)} is not a list")
            if not -len(node) <= segment < len(node):
                raise NoData(f"{'.'.join(walked)} has no element [{segment}]")
            node = node[segment]
            walked[-1] = f"{walked[-1]}[{segment}]"
            continue
        if last and _is_summary(node) and is_statistic_name(segment):
            return _statistic(node, segment, metric.text)
        if not isinstance(node, Mapping):
            raise NoData(f"{where}: not in the Result")
        if segment not in node:
            parent = walked[-1].split("[", 1)[0] if walked else ""
            if last and segment == "total" and parent in _OPEN_COUNT_MAPS:
                return float(sum(v for v in node.values() if isinstance(v, int | float) and not isinstance(v, bool)))
            if last and segment == "total" and parent == "closes":
                sides = node.get("by_side") if isinstance(node.get("by_side"), Mapping) else node.get("by_code")
                if isinstance(sides, Mapping):
                    return float(sum(v for v in sides.values() if isinstance(v, int | float)))
            if last and parent in _OPEN_COUNT_MAPS:
                return 0.0
            raise NoData(f"{where}: not in the Result")
        node = node[segment]
        walked.append(segment)
    if isinstance(node, bool):
        return float(node)
    if isinstance(node, int | float):
        return float(node)
    if node is None:
        raise NoData(f"{metric.text}: no value")
    raise NoData(f"{metric.text} is not a number")


def expression_value(result: Mapping[str, Any], target: str, node: Expr) -> float:
    """The value of one side of a threshold for ``target`` (no ``[*]``); raise NoData."""
    return _value(result, target, node, None)


def _value(result: Mapping[str, Any], target: str, node: Expr, index: int | None) -> float:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Metric):
        return resolve_metric(result, target, node, index)
    if isinstance(node, Negate):
        return -_value(result, target, node.operand, index)
    left = _value(result, target, node.left, index)
    right = _value(result, target, node.right, index)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise NoData(f"division by zero ({_text(node.right)} is 0)")
    return left / right


def _text(node: Expr) -> str:
    if isinstance(node, Number | Metric):
        return node.text
    if isinstance(node, Negate):
        return f"-{_text(node.operand)}"
    return f"({_text(node.left)} {node.op} {_text(node.right)})"


def _dimension_of(node: Expr) -> Dimension:
    if isinstance(node, Number | Metric):
        return node.dimension
    if isinstance(node, Negate):
        return _dimension_of(node.operand)
    left, right = _dimension_of(node.left), _dimension_of(node.right)
    if node.op == "/" and left == right:
        return "number"
    return "duration" if "duration" in (left, right) else "number"


def _subjects(
    result: Mapping[str, Any], target: str, threshold: Threshold
) -> Iterator[tuple[str, int | None]]:
    """(label, index) per subject: one per target, or one per element of the ``[*]`` list."""
    prefixes = {m.wildcard_prefix for m in threshold.metrics() if m.wildcard_prefix is not None}
    if not prefixes:
        yield target, None
        return
    (prefix,) = prefixes
    node: Any = result if prefix and prefix[0] in _ROOT_SECTIONS else result["targets"][target]
    for segment in prefix:
        node = node.get(segment) if isinstance(node, Mapping) and isinstance(segment, str) else None
    items = node if isinstance(node, list) else []
    list_name = ".".join(str(s) for s in prefix)
    for position, item in enumerate(items):
        label = f"{target} {list_name}[{position}]"
        if isinstance(item, Mapping) and "kind" in item:
            at = item.get("at_s")
            label += f" ({item['kind']}" + (f" @ {at:g} s)" if isinstance(at, int | float) else ")")
        yield label, position


def evaluate_threshold(
    result: Mapping[str, Any],
    threshold: Threshold,
    *,
    targets: Sequence[str],
    source: str = "",
) -> Check:
    """Check ``threshold`` on each of ``targets`` (or on its own target when it names one)."""
    known = list(result.get("targets", {}))
    try:
        if threshold.target is not None:
            check_target(threshold.target, result)
    except MetricPathError as exc:
        raise ThresholdError(threshold.source, str(exc)) from exc
    scope = [threshold.target] if threshold.target is not None else list(targets)
    check_metrics(threshold, result, targets=scope)
    dimension = _dimension_of(threshold.left)
    if dimension != _dimension_of(threshold.right):
        dimension = "duration"  # a bare number next to a duration is ms
    expected_side = threshold.right
    limit_text = (
        expected_side.text if isinstance(expected_side, Number | Metric) else _text(expected_side)
    )
    expected = f"{threshold.comparator} {limit_text}"
    observations: list[Observation] = []
    for target in scope:
        if target not in known:
            observations.append(
                Observation(
                    target, target, "–", expected, False,
                    f"no data: no target {target!r} in this Result (targets: {', '.join(known) or 'none'})",
                )
            )
            continue
        subjects = list(_subjects(result, target, threshold))
        if not subjects:
            (metric,) = [m for m in threshold.metrics() if m.wildcard_prefix is not None][:1]
            listed = metric.text.split("[*]", 1)[0]
            observations.append(
                Observation(target, target, "–", expected, False, f"no data: no {listed} in this run")
            )
        for label, index in subjects:
            try:
                left = _value(result, target, threshold.left, index)
                right = _value(result, target, threshold.right, index)
            except NoData as exc:
                observations.append(
                    Observation(target, label, "–", expected, False, f"no data: {exc}")
                )
                continue
            passed = _COMPARE[threshold.comparator](left, right)
            shown_limit = f"{threshold.comparator} {format_value(right, dimension)}"
            observations.append(
                Observation(target, label, format_value(left, dimension), shown_limit, passed)
            )
    return Check(threshold.source, "threshold", tuple(observations), source)
