"""Baseline regressions: judged on histograms by bootstrap, so noise does not fail a build."""

from __future__ import annotations

import pytest

from wsbench.errors import UsageError
from wsbench.gate import evaluate_gate, parse_max_regression, to_markdown


def shapes(resultgen, **nginx):
    base = dict(resultgen.DEFAULT_TARGETS)
    base["nginx"] = resultgen.TargetShape(base["nginx"].url, **{"rtt_median_ms": 1.6, **nginx})
    return base


def observation(verdict, target):
    return next(o for o in verdict.checks[0].observations if o.target == target)


def test_real_regression_fails_and_only_where_it_happened(resultgen, result):
    slower = resultgen.make_result(shapes(resultgen, rtt_median_ms=2.2), seed=3, run_id="slower")
    verdict = evaluate_gate(slower, baseline=result, max_regressions=["rtt.p99=10%"])
    assert not verdict.passed and verdict.exit_code == 1
    nginx = observation(verdict, "nginx")
    assert not nginx.passed and nginx.note.startswith("significant regression: +")
    assert observation(verdict, "envoy").passed and observation(verdict, "haproxy").passed


def test_rerun_of_the_same_scenario_passes(resultgen, result):
    for seed in (11, 12, 13):
        rerun = resultgen.make_result(seed=seed, run_id=f"rerun-{seed}")
        verdict = evaluate_gate(rerun, baseline=result, max_regressions=["rtt.p99=10%", "rtt.p50=5%", "rtt.mean=5%"])
        assert verdict.passed, to_markdown(verdict)


def test_noise_above_the_allowance_is_not_a_regression(resultgen):
    """400 messages: p99 rises 15 % between two runs of one distribution; one number vs one
    number would fail the build, the interval shows it is noise."""
    small = {"nginx": resultgen.TargetShape("wss://nginx/", rtt_median_ms=1.6, messages=400, disruption=False)}
    base = resultgen.make_result(small, seed=100)
    rerun = resultgen.make_result(small, seed=113)
    naive = rerun["targets"]["nginx"]["rtt"]["p99"] / base["targets"]["nginx"]["rtt"]["p99"]
    assert naive > 1.10
    verdict = evaluate_gate(rerun, baseline=base, max_regressions=["rtt.p99=10%"])
    assert verdict.passed
    assert "not significant (within noise)" in verdict.checks[0].observations[0].note
    twice_as_slow = resultgen.make_result(
        {"nginx": resultgen.TargetShape("wss://nginx/", rtt_median_ms=3.2, messages=400, disruption=False)}, seed=113
    )
    assert not evaluate_gate(twice_as_slow, baseline=base, max_regressions=["rtt.p99=10%"]).passed


def test_default_limits_and_markdown(resultgen, result):
    rerun = resultgen.make_result(seed=21, run_id="rerun")
    verdict = evaluate_gate(rerun, baseline=result)
    assert [c.name for c in verdict.checks] == ["rtt.p99 regression ≤ 10%", "upgrade.total.p99 regression ≤ 10%"]
    assert any("without --max-regression" in w for w in verdict.warnings)
    assert "against baseline `20250101T120000-demo`" in to_markdown(verdict)


def test_target_missing_from_baseline_is_no_data(resultgen, result):
    only_nginx = {"nginx": resultgen.DEFAULT_TARGETS["nginx"]}
    baseline = resultgen.make_result(only_nginx, seed=4)
    verdict = evaluate_gate(result, baseline=baseline, max_regressions=["rtt.p99=10%"])
    assert observation(verdict, "nginx").passed
    assert observation(verdict, "envoy").note == "no data: no target 'envoy' in the baseline"
    assert not verdict.passed


@pytest.mark.parametrize(
    ("text", "says"),
    [("rtt.p99", "expected METRIC=PERCENT"), ("rtt.max=10%", "not a statistic that can be resampled"),
     ("rtt=10%", "expected METRIC=PERCENT"), ("rtt.p99=ten", "expected METRIC=PERCENT"),
     ("rtt.p9x=1%", "not a statistic that can be resampled"), ("rtt.p95.5=1%", "expected METRIC=PERCENT")],
)
def test_malformed_max_regression(text, says):
    with pytest.raises(UsageError, match="bad max-regression") as caught:
        parse_max_regression(text)
    assert says in str(caught.value)


def test_parse_max_regression():
    limit = parse_max_regression("upgrade.total.p50=0.2")
    assert (limit.summary_path, limit.statistic, limit.allowed) == (("upgrade", "total"), "p50", 0.2)
    assert parse_max_regression("rtt.p999 = 12.5%").allowed == pytest.approx(0.125)
