"""Threshold expressions: what parses, and that a bad one is one line naming it."""

from __future__ import annotations

import pytest

from wsbench.errors import UsageError
from wsbench.gate.expr import Binary, Metric, Number, ThresholdError, Wildcard, parse_threshold


@pytest.mark.parametrize(
    ("text", "target", "comparator", "limit_ms"),
    [
        ("rtt.p99 < 50ms", None, "<", 50.0),
        ("upgrade.total.p95 < 200ms", None, "<", 200.0),
        ("disruptions[*].recovery.p99 < 5s", None, "<", 5000.0),
        ("nginx: rtt.p999 <= 0.25s", "nginx", "<=", 250.0),
        ("ingress-nginx: rtt.p50 >= 500us", "ingress-nginx", ">=", 0.5),
        ("rtt.max != 1e3µs", None, "!=", 1.0),
    ],
)
def test_duration_thresholds(text, target, comparator, limit_ms):
    parsed = parse_threshold(text)
    assert parsed.target == target
    assert parsed.comparator == comparator
    assert isinstance(parsed.right, Number) and parsed.right.dimension == "duration"
    assert parsed.right.value == pytest.approx(limit_ms)


def test_counts_ratios_and_paths():
    ratio = parse_threshold("messages.lost / messages.sent < 0.1%")
    assert isinstance(ratio.left, Binary) and ratio.left.op == "/"
    assert ratio.right == Number(0.001, "number", "0.1%")
    assert parse_threshold("sessions.dropped == 0").left == Metric(("sessions", "dropped"), "sessions.dropped")
    assert parse_threshold("closes.by_code.1006 == 0").left.path == ("closes", "by_code", "1006")
    wild = parse_threshold("disruptions[*].recovery.p99 < 5s").left
    assert wild.path == ("disruptions", Wildcard(), "recovery", "p99")
    assert wild.wildcard_prefix == ("disruptions",)
    assert parse_threshold("disruptions[0].sessions_dropped < 10").left.path[1] == 0
    # a bare number next to a latency means milliseconds
    assert parse_threshold("rtt.p99 < 50").right.value == 50.0
    assert parse_threshold("(rtt.p99 - rtt.p50) / rtt.p50 < 3").left.op == "/"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("rtt.p99 <", "at the end"),
        ("rtt.p99 50ms", "expected a comparison"),
        ("rtt.p99 < 5 furlongs", "unexpected text"),
        ("rtt.p99 < 5mss", "unknown unit 'mss'"),
        ("rtt.p99 ~ 5", "unexpected '~'"),
        ("rtt..p99 < 1", "expected a name after '.'"),
        ("rtt.p99 < 1 < 2", "unexpected text after the comparison"),
        ("sessions.dropped < 5ms", "sessions.dropped is not a duration"),
        ("rtt.p99 < 5%", "5% is not a duration"),
        ("rtt.p99 + sessions.dropped < 5ms", "not a duration"),
        ("disruptions[x].recovery.p99 < 1s", "expected '*' or an index"),
        ("a[*].b < 1 and c[*].d < 1", "unexpected text"),
        ("a[*].x + b[*].y < 1", "one list only"),
        ("1 < 2", "name a metric"),
        ("nginx: ", "nothing to check"),
        ("   ", "empty threshold"),
        ("(rtt.p99 < 5ms", "expected ')'"),
    ],
)
def test_malformed_is_one_line_naming_the_expression(text, says):
    with pytest.raises(ThresholdError) as caught:
        parse_threshold(text)
    message = str(caught.value)
    assert isinstance(caught.value, UsageError)  # the CLI maps it to exit code 2
    assert message.startswith(f"bad threshold {text!r}:")
    assert says in message
    assert "\n" not in message
