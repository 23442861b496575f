"""Threshold expressions, k6-like: parse text into a small frozen AST. Pure, no I/O.

Grammar (one comparison per threshold, optionally scoped to one target)::

    threshold  := [TARGET ":"] sum COMPARE sum
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER [UNIT] | metric | "(" sum ")"
    metric     := NAME ("." (NAME | INTEGER) | "[" ("*" | INTEGER) "]")*
    COMPARE    := "<" | "<=" | ">" | ">=" | "==" | "!="
    UNIT       := "us" | "µs" | "ms" | "s" | "%"

Examples: ``rtt.p99 < 50ms``, ``upgrade.total.p95 < 200ms``, ``sessions.dropped == 0``,
``messages.lost / messages.sent < 0.1%``, ``disruptions[*].recovery.p99 < 5s``,
``nginx: rtt.p999 <= 0.25s``. Durations are compared in milliseconds (a bare number next
to a latency means ms); a duration unit on a count is an error, so is a metric that ends in
a statistic (``p99``, ``mean``) compared with a percentage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from wsbench.errors import UsageError
from wsbench.result.schema import MetricPathError, Segment, check_path, check_target

__all__ = [
    "ThresholdError",
    "Number",
    "Metric",
    "Wildcard",
    "Negate",
    "Binary",
    "Expr",
    "Threshold",
    "Dimension",
    "COMPARATORS",
    "parse_threshold",
    "is_statistic_name",
    "schema_path",
    "check_metrics",
]

Dimension = Literal["duration", "number"]
COMPARATORS = ("<=", ">=", "==", "!=", "<", ">")
_UNIT_TO_MS = {"us": 0.001, "µs": 0.001, "ms": 1.0, "s": 1000.0}
_STATISTIC = re.compile(r"^(p\d+|mean|min|max)$")
_TARGET_PREFIX = re.compile(r"^\s*([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*:(?!:)(.*)$", re.S)
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?P<unit>[A-Za-zµ_%][A-Za-z0-9_µ]*)?
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|==|!=|[<>+\-*/().\[\]])
    """,
    re.X,
)


class ThresholdError(UsageError):
    """A threshold expression is malformed; the message names it and says why."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"bad threshold {source!r}: {problem}")
        self.source = source
        self.problem = problem


def is_statistic_name(name: str) -> bool:
    """Whether a path segment names a statistic of a histogram summary (p99, mean, ...)."""
    return bool(_STATISTIC.match(name))


@dataclass(frozen=True)
class Wildcard:
    """``[*]`` in a metric path: every element of that list."""


@dataclass(frozen=True)
class Number:
    """A literal; durations are stored in milliseconds, percentages as fractions."""

    value: float
    dimension: Dimension
    text: str


@dataclass(frozen=True)
class Metric:
    """A path into a target of the Result, e.g. ``("rtt", "p99")``."""

    path: tuple[str | int | Wildcard, ...]
    text: str

    @property
    def dimension(self) -> Dimension:
        """Durations end in a statistic of a histogram summary; everything else is a number."""
        last = self.path[-1]
        return "duration" if isinstance(last, str) and is_statistic_name(last) else "number"

    @property
    def wildcard_prefix(self) -> tuple[str | int | Wildcard, ...] | None:
        """The path up to its ``[*]`` (the list iterated over), or None."""
        for position, segment in enumerate(self.path):
            if isinstance(segment, Wildcard):
                return self.path[:position]
        return None


@dataclass(frozen=True)
class Negate:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True)
class Binary:
    """``left op right`` for op in ``+ - * /``."""

    op: str
    left: Expr
    right: Expr


Expr = Number | Metric | Negate | Binary


@dataclass(frozen=True)
class Threshold:
    """One parsed threshold: ``[target:] left comparator right``."""

    source: str
    target: str | None
    left: Expr
    comparator: str
    right: Expr

    def metrics(self) -> tuple[Metric, ...]:
        """Every metric the threshold reads, left to right."""
        found: list[Metric] = []

        def walk(node: Expr) -> None:
            if isinstance(node, Metric):
                found.append(node)
            elif isinstance(node, Negate):
                walk(node.operand)
            elif isinstance(node, Binary):
                walk(node.left)
                walk(node.right)

        walk(self.left)
        walk(self.right)
        return tuple(found)


@dataclass(frozen=True)
class _Token:
    kind: str  # "number", "name", "op", "end"
    text: str
    position: int
    unit: str | None = None


def _tokenize(source: str, text: str, offset: int) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ThresholdError(
                source, f"unexpected {text[position]!r} at column {offset + position + 1}"
            )
        kind = match.lastgroup if match.lastgroup != "unit" else "number"
        unit = match.group("unit")
        if unit is not None and unit not in _UNIT_TO_MS and unit != "%":
            raise ThresholdError(
                source, f"unknown unit {unit!r} at column {offset + position + 1} (use us, ms, s or %)"
            )
        if kind != "space":
            assert kind is not None
            token_text = match.group("number") if kind == "number" else match.group(0)
            tokens.append(_Token(kind, token_text, offset + position, match.group("unit")))
        position = match.end()
    tokens.append(_Token("end", "", offset + len(text)))
    return tokens


#: How deep parentheses and signs may nest in one threshold (the parser recurses).
MAX_NESTING = 64


class _Parser:
    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"nested more than {MAX_NESTING} deep")

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, problem: str, token: _Token | None = None) -> ThresholdError:
        token = token or self.peek()
        where = "at the end" if token.kind == "end" else f"at {token.text!r} (column {token.position + 1})"
        return ThresholdError(self.source, f"{problem} {where}")

    def expect_op(self, text: str) -> None:
        token = self.take()
        if token.kind != "op" or token.text != text:
            raise self.fail(f"expected {text!r}", token)

    def comparison(self) -> tuple[Expr, str, Expr]:
        left = self.sum()
        token = self.take()
        if token.kind != "op" or token.text not in COMPARATORS:
            raise self.fail("expected a comparison (<, <=, >, >=, ==, !=)", token)
        right = self.sum()
        if self.peek().kind != "end":
            raise self.fail("unexpected text after the comparison")
        return left, token.text, right

    def sum(self) -> Expr:
        node = self.product()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = self.take().text
            node = Binary(op, node, self.product())
        return node

    def product(self) -> Expr:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = self.take().text
            node = Binary(op, node, self.unary())
        return node

    def unary(self) -> Expr:
        if self.peek().kind == "op" and self.peek().text == "-":
            self.take()
            self.nested()
            node = Negate(self.unary())
            self.depth -= 1
            return node
        return self.atom()

    def atom(self) -> Expr:
        token = self.take()
        if token.kind == "number":
            value = float(token.text)
            if token.unit == "%":
                return Number(value / 100.0, "number", token.text + "%")
            if token.unit is not None:
                return Number(value * _UNIT_TO_MS[token.unit], "duration", token.text + token.unit)
            return Number(value, "number", token.text)
        if token.kind == "name":
            return self.metric(token)
        if token.kind == "op" and token.text == "(":
            self.nested()
            node = self.sum()
            self.expect_op(")")
            self.depth -= 1
            return node
        raise self.fail("expected a number, a metric or '('", token)

    def metric(self, first: _Token) -> Metric:
        path: list[str | int | Wildcard] = [first.text]
        text = first.text
        while self.peek().kind == "op" and self.peek().text in ".[":
            if self.take().text == ".":
                token = self.take()
                if token.kind == "name" or (token.kind == "number" and token.text.isdigit() and not token.unit):
                    path.append(token.text)
                    text += "." + token.text
                else:
                    raise self.fail("expected a name after '.'", token)
            else:
                token = self.take()
                if token.kind == "op" and token.text == "*":
                    path.append(Wildcard())
                    text += "[*]"
                elif token.kind == "number" and token.text.isdigit() and not token.unit:
                    path.append(int(token.text))
                    text += f"[{token.text}]"
                else:
                    raise self.fail("expected '*' or an index inside [ ]", token)
                self.expect_op("]")
        return Metric(tuple(path), text)


def _is_bare(node: Expr) -> bool:
    """Only unitless literals: such a number next to a duration means milliseconds."""
    if isinstance(node, Number):
        return node.dimension == "number" and not node.text.endswith("%")
    if isinstance(node, Negate):
        return _is_bare(node.operand)
    if isinstance(node, Binary):
        return _is_bare(node.left) and _is_bare(node.right)
    return False


def _describe(node: Expr) -> str:
    if isinstance(node, Metric | Number):
        return node.text
    return "the expression"


def _unify(source: str, left: Expr, left_dim: Dimension, right: Expr, right_dim: Dimension) -> None:
    """Durations meet counts only as bare numbers (taken as ms); anything else is an error."""
    if left_dim == right_dim:
        return
    number_side = left if left_dim == "number" else right
    duration_side = right if number_side is left else left
    if not _is_bare(number_side):
        raise ThresholdError(
            source,
            f"{_describe(number_side)} is not a duration but {_describe(duration_side)} is",
        )


def _dimension(source: str, node: Expr) -> Dimension:
    """The dimension of ``node``; raise ThresholdError when units do not fit."""
    if isinstance(node, Number | Metric):
        return node.dimension
    if isinstance(node, Negate):
        return _dimension(source, node.operand)
    left, right = _dimension(source, node.left), _dimension(source, node.right)
    if node.op in "+-":
        _unify(source, node.left, left, node.right, right)
        return "duration" if "duration" in (left, right) else "number"
    if node.op == "/":
        return "number" if left == right else left
    if left == right == "duration":
        raise ThresholdError(source, "cannot multiply two durations")
    return "duration" if "duration" in (left, right) else "number"


def schema_path(metric: Metric) -> tuple[Segment, ...]:
    """The metric's path as :mod:`wsbench.result.schema` reads it (``[*]`` is ``"*"``)."""
    return tuple("*" if isinstance(s, Wildcard) else s for s in metric.path)


def check_metrics(threshold: Threshold, result: object = None, *, targets: Sequence[str] | None = None) -> None:
    """Every metric of ``threshold`` must be a path of the Result's schema (of ``result``
    when given, else of ``wsbench/result@1``): :class:`ThresholdError` naming the nearest."""
    for metric in threshold.metrics():
        try:
            check_path(schema_path(metric), result, targets=targets)  # type: ignore[arg-type]
        except MetricPathError as exc:
            raise ThresholdError(threshold.source, str(exc)) from exc


def parse_threshold(source: str, *, result: object = None) -> Threshold:
    """Parse one threshold; raise :class:`ThresholdError` (a UsageError) naming it.

    Every metric is checked against the schema of ``result`` (a Result, or its dict) when
    given, else against ``wsbench/result@1``'s: an unknown metric, key, target or disruption
    is an error naming the nearest valid names, before units are looked at.
    """
    if not isinstance(source, str) or not source.strip():
        raise ThresholdError(str(source), "empty threshold")
    target: str | None = None
    body, offset = source, 0
    prefix = _TARGET_PREFIX.match(source)
    if prefix is not None:
        target = prefix.group(1)
        body = prefix.group(2)
        offset = prefix.start(2)
        if not body.strip():
            raise ThresholdError(source, f"nothing to check after '{target}:'")
    parser = _Parser(source, _tokenize(source, body, offset))
    left, comparator, right = parser.comparison()
    threshold = Threshold(source.strip(), target, left, comparator, right)
    if not threshold.metrics():
        raise ThresholdError(source, "compares numbers only; name a metric such as rtt.p99")
    if target is not None and result is not None:
        try:
            check_target(target, result)  # type: ignore[arg-type]
        except MetricPathError as exc:
            raise ThresholdError(source, str(exc)) from exc
    check_metrics(threshold, result, targets=[target] if target is not None else None)
    _unify(source, left, _dimension(source, left), right, _dimension(source, right))
    lists = {m.wildcard_prefix for m in threshold.metrics() if m.wildcard_prefix is not None}
    if len(lists) > 1:
        raise ThresholdError(source, "[*] may iterate over one list only")
    for metric in threshold.metrics():
        if sum(isinstance(s, Wildcard) for s in metric.path) > 1:
            raise ThresholdError(source, f"{metric.text}: only one [*] per metric")
    return threshold
