"""evaluate_gate on Result dicts: thresholds, no-data rules, validity, scoping."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest

from wsbench.errors import UsageError
from wsbench.gate import ThresholdError, evaluate_gate, to_junit, to_markdown
from wsbench.result.distribution import distribution_of


def check(verdict, name):
    (found,) = [c for c in verdict.checks if c.name == name]
    return found


def by_target(found):
    return {o.subject: o for o in found.observations}


def test_passing_and_failing_thresholds_per_target(result):
    verdict = evaluate_gate(result, thresholds=["rtt.p99 < 4ms", "rtt.p99 < 50ms", "sessions.dropped < 50"])
    assert not verdict.passed and verdict.exit_code == 1
    tight = by_target(check(verdict, "rtt.p99 < 4ms"))
    assert not tight["nginx"].passed and tight["envoy"].passed and tight["haproxy"].passed
    assert tight["nginx"].observed == f"{result['targets']['nginx']['rtt']['p99']:.2f} ms"
    assert check(verdict, "rtt.p99 < 50ms").passed
    assert check(verdict, "sessions.dropped < 50").passed
    assert [c.name for c in verdict.failed_checks] == ["rtt.p99 < 4ms"]


def test_all_pass_exit_zero(result):
    verdict = evaluate_gate(result, thresholds=["rtt.p99 < 50ms", "messages.lost / messages.sent < 0.1%"])
    assert verdict.passed and verdict.exit_code == 0


def test_target_prefix_and_target_option(result):
    scoped = evaluate_gate(result, thresholds=["envoy: rtt.p99 < 4ms"])
    assert scoped.passed and [o.target for o in scoped.checks[0].observations] == ["envoy"]
    only = evaluate_gate(result, thresholds=["rtt.p99 < 4ms"], targets=["haproxy", "envoy"])
    assert only.passed
    with pytest.raises(UsageError, match="--target 'istio'"):
        evaluate_gate(result, thresholds=["rtt.p99 < 4ms"], targets=["istio"])
    with pytest.raises(ThresholdError, match="no target 'istio' in this Result"):
        evaluate_gate(result, thresholds=["istio: rtt.p99 < 4ms"])


def test_percentile_not_in_summary_comes_from_the_histogram(result):
    verdict = evaluate_gate(result, thresholds=["upgrade.total.p95 < 200ms"])
    nginx = by_target(verdict.checks[0])["nginx"]
    expected = distribution_of(result["targets"]["nginx"]["upgrade"]["total"]).value_at_percentile(95) / 1000
    assert nginx.observed == f"{expected:.2f} ms"
    assert verdict.passed


def test_wildcard_over_disruptions_and_no_data_when_there_are_none(result):
    verdict = evaluate_gate(result, thresholds=["disruptions[*].recovery.p99 < 5s"])
    rows = by_target(verdict.checks[0])
    assert rows["nginx disruptions[0] (pod-restart @ 10 s)"].passed
    assert not rows["haproxy"].passed
    assert rows["haproxy"].note == "no data: no disruptions in this run"
    strict = evaluate_gate(result, thresholds=["disruptions[*].recovery.p99 < 1ms"], targets=["nginx"])
    assert not strict.passed


def test_no_data_never_passes(result):
    data = copy.deepcopy(result)
    data["targets"]["nginx"]["rtt"] = {"count": 0, "min": 0.0, "mean": 0.0, "p50": 0.0, "p90": 0.0,
                                       "p99": 0.0, "p999": 0.0, "max": 0.0, "hdr": ""}
    data["targets"]["envoy"]["messages"]["sent"] = 0
    verdict = evaluate_gate(
        data,
        thresholds=["rtt.p99 < 50ms", "messages.lost / messages.sent < 0.1%"],
    )
    assert by_target(check(verdict, "rtt.p99 < 50ms"))["nginx"].note == "no data: rtt.p99: no samples"
    assert "division by zero" in by_target(check(verdict, "messages.lost / messages.sent < 0.1%"))["envoy"].note
    assert not verdict.passed
    data["targets"]["envoy"].pop("recovery", None)  # in the schema, absent from this target: no data
    verdict = evaluate_gate(data, thresholds=["recovery.p99 < 1s"])
    assert by_target(verdict.checks[0])["envoy"].note == "no data: recovery.p99: not in the Result"


def test_open_count_maps_default_to_zero(result):
    verdict = evaluate_gate(result, thresholds=["upgrade_failures.http_504 == 0", "closes.by_code.1011 == 0"])
    assert verdict.passed


def test_scenario_thresholds_are_used_and_deduplicated(resultgen):
    data = resultgen.make_result(thresholds=["rtt.p99 < 50ms", "sessions.dropped == 0"])
    verdict = evaluate_gate(data, thresholds=["rtt.p99 < 50ms"])
    assert [c.name for c in verdict.checks] == ["rtt.p99 < 50ms", "sessions.dropped == 0"]
    assert verdict.checks[0].source == "scenario"
    assert not verdict.passed  # two targets dropped sessions
    ignored = evaluate_gate(data, thresholds=["rtt.p99 < 50ms"], use_scenario_thresholds=False)
    assert ignored.passed
    bad = resultgen.make_result(thresholds=["rtt.p99 <<< 1"])
    with pytest.raises(ThresholdError):
        evaluate_gate(bad)


def test_partial_and_saturated_runs_fail_unless_allowed(resultgen):
    partial = resultgen.make_result(complete=False)
    verdict = evaluate_gate(partial, thresholds=["rtt.p99 < 50ms"])
    assert not verdict.passed
    assert verdict.failed_checks[0].name == "run complete"
    allowed = evaluate_gate(partial, thresholds=["rtt.p99 < 50ms"], allow_partial=True)
    assert allowed.passed and "partial Result" in allowed.warnings[0]
    saturated = resultgen.make_result(saturated=True)
    verdict = evaluate_gate(saturated, thresholds=["rtt.p99 < 50ms"])
    assert [c.name for c in verdict.failed_checks] == ["load generator not saturated"]
    assert "event-loop lag" in verdict.failed_checks[0].observations[0].note
    assert evaluate_gate(saturated, thresholds=["rtt.p99 < 50ms"], allow_saturated=True).passed


def test_nothing_to_check_is_a_usage_error(result):
    with pytest.raises(UsageError, match="nothing to check"):
        evaluate_gate(result)
    with pytest.raises(UsageError, match="needs --baseline"):
        evaluate_gate(result, thresholds=["rtt.p99 < 1s"], max_regressions=["rtt.p99=10%"])


def test_markdown_and_junit(result):
    verdict = evaluate_gate(result, thresholds=["rtt.p99 < 4ms", "sessions.dropped < 50"])
    markdown = to_markdown(verdict)
    assert markdown.startswith("## ❌ wsbench gate failed: 1 of 2 checks failed")
    assert "| ❌ | `rtt.p99 < 4ms` | threshold | nginx |" in markdown
    junit = to_junit(verdict)
    assert junit.count("<testcase ") == 2
    assert 'tests="2" failures="1"' in junit
    assert 'name="rtt.p99 &lt; 4ms"' in junit


def test_gate_is_pure_and_light():
    code = (
        "import sys, wsbench.gate, wsbench.cli.gate; "
        "bad = [m for m in ('matplotlib', 'jinja2', 'asyncio', 'socket', 'subprocess') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_baseline_from_another_machine_is_warned_about(result):
    from wsbench.engine.machine import machine_facts

    here = copy.deepcopy(result)
    here["generator"]["machine"] = machine_facts()
    elsewhere = copy.deepcopy(result)
    elsewhere["generator"]["machine"] = {**machine_facts(), "cpus": 96, "cpu_model": "Other CPU"}
    same = evaluate_gate(here, baseline=copy.deepcopy(here), max_regressions=["rtt.p99=10%"])
    assert not any("another machine" in w for w in same.warnings)
    other = evaluate_gate(here, baseline=elsewhere, max_regressions=["rtt.p99=10%"])
    (warning,) = [w for w in other.warnings if "another machine" in w]
    assert "cpus 96 vs" in warning and "Other CPU vs" in warning
    assert "another machine" in to_markdown(other)


def test_baseline_with_another_load_is_warned_about(result):
    base = copy.deepcopy(result)
    base.setdefault("scenario", {})["sessions"] = 7
    here = copy.deepcopy(result)
    here.setdefault("scenario", {})["sessions"] = 9
    verdict = evaluate_gate(here, baseline=base, max_regressions=["rtt.p99=10%"])
    (warning,) = [w for w in verdict.warnings if "another load" in w]
    assert "sessions 7 vs 9" in warning
    same = evaluate_gate(here, baseline=copy.deepcopy(here), max_regressions=["rtt.p99=10%"])
    assert not any("another load" in w for w in same.warnings)


def test_upgrade_failures_total_is_the_sum_of_the_classes(result):
    """``upgrade_failures.total`` is not a key: it sums the classes (it used to read 0)."""
    data = copy.deepcopy(result)
    data["targets"]["nginx"]["upgrade_failures"] = {"http_502": 3, "timeout": 2}
    data["targets"]["nginx"]["sessions"]["attempted"] = 1000
    data["targets"]["envoy"]["upgrade_failures"] = {}
    data["targets"]["envoy"]["sessions"]["attempted"] = 1000
    verdict = evaluate_gate(data, thresholds=["upgrade_failures.total / sessions.attempted < 0.001",
                                              "upgrade_failures.total == 5"], targets=["nginx", "envoy"])
    ratio = by_target(check(verdict, "upgrade_failures.total / sessions.attempted < 0.001"))
    assert not ratio["nginx"].passed and ratio["nginx"].observed == "0.005"
    assert ratio["envoy"].passed
    exact = by_target(check(verdict, "upgrade_failures.total == 5"))
    assert exact["nginx"].passed and not exact["envoy"].passed


# --- a strict gate: what is not in the Result's schema is bad input, never a quiet 0 ---------


@pytest.mark.parametrize(
    ("threshold", "says"),
    [
        ("sessions.droped == 0", "no metric 'droped'; did you mean sessions.dropped"),
        ("upgrade_failures.http_5O2 == 0", "no metric 'http_5O2'; did you mean upgrade_failures.http_502"),
        ("rtt.avg < 5ms", "no metric 'avg'; did you mean rtt.mean"),
        ("latency.p99 < 5ms", "no metric 'latency'"),
        ("closes.by_cod.1006 == 0", "did you mean closes.by_code"),
        ("ngnix: rtt.p99 < 5ms", "no target 'ngnix' in this Result; did you mean nginx?"),
        ("disruptions[3].recovery.p99 < 5s", "no such disruption (this Result has 1: disruptions[0] (pod-restart@10s))"),
        ("disruptions[*].recovery.p99x < 5s", "no metric 'p99x'"),
        ("rtt > 0", "rtt is a histogram: name a statistic"),
        ("sessions > 0", "sessions is a section, not a number"),
    ],
)
def test_unknown_metric_key_target_or_disruption_is_bad_input(result, threshold, says):
    with pytest.raises(ThresholdError) as raised:
        evaluate_gate(result, thresholds=[threshold])
    assert says in str(raised.value)


def test_typos_fail_before_any_result_is_read():
    from wsbench.gate import parse_threshold

    for text in ("sessions.droped == 0", "rtt.avg < 5ms", "upgrade_failures.http_5O2 == 0"):
        with pytest.raises(ThresholdError):
            parse_threshold(text)
    parse_threshold("proxy_cost.cpu_us_per_message < 50")  # a section the Result may add: checked later


def test_upgrade_failures_total_fails_on_a_result_with_502s(result):
    data = copy.deepcopy(result)
    data["targets"]["envoy"]["upgrade_failures"] = {"http_502": 22}
    verdict = evaluate_gate(data, thresholds=["upgrade_failures.total == 0"], targets=["envoy"])
    assert not verdict.passed and verdict.checks[0].observations[0].observed == "22"
    closes = evaluate_gate(data, thresholds=["closes.total > 0", "disruptions[*].upgrade_failures.total == 0"],
                           targets=["nginx"])
    assert closes.checks[0].passed
    total = sum(data["targets"]["nginx"]["closes"]["by_side"].values())
    assert closes.checks[0].observations[0].observed == str(total)


def test_list_metrics_covers_every_numeric_leaf_of_a_result(result):
    from wsbench.result.schema import metric_paths

    listed = {line.split()[0] for line in metric_paths(result)}

    def leaves(node, prefix):
        if isinstance(node, bool) or isinstance(node, int | float):
            yield prefix
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, f"{prefix}.{key}" if prefix else key)
        elif isinstance(node, list) and prefix.endswith("disruptions"):
            for item in node:
                yield from leaves(item, prefix + "[*]")

    found = {leaf for target in result["targets"].values() for leaf in leaves(target, "")
             if not leaf.startswith("timeline")}
    found |= {f"generator.{k}" for k, v in result["generator"].items() if isinstance(v, int | float)}
    assert found and found <= listed, sorted(found - listed)
    assert "upgrade_failures.total" in listed and "closes.total" in listed
