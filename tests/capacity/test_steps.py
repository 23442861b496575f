"""A capacity step: its scenario per dial, and the SLO's verdict on a Result (pure)."""

from __future__ import annotations

import copy

import pytest

from tests.report.resultgen import make_result
from wsbench.capacity.result import target_capacity
from wsbench.capacity.search import SearchPlan, run_search
from wsbench.capacity.steps import judge_step, step_scenario
from wsbench.errors import UsageError
from wsbench.gate import parse_threshold
from wsbench.scenario import Scenario, Target

BASE = Scenario(targets=(Target("t", "ws://127.0.0.1:9/"),), sessions=40, ramp=20.0, rate=5.0,
                messages=7, thresholds=("rtt.p99 < 1ms",))


def test_sessions_dial_holds_the_sessions_after_opening_them():
    step = step_scenario(BASE, "sessions", 50, hold_s=3)
    assert (step.sessions, step.ramp, step.duration, step.rate) == (50, 20.0, 3 + 3, 5.0)
    assert step.messages is None and step.thresholds == ()  # the SLO judges, not the scenario


def test_ramp_dial_opens_that_many_sessions_per_second_for_the_hold():
    step = step_scenario(BASE, "ramp", 25, hold_s=4)
    assert (step.ramp, step.sessions, step.duration) == (25.0, 100, 4)


def test_rate_dial_shares_the_messages_per_second_over_the_sessions():
    step = step_scenario(BASE, "rate", 1000, hold_s=2)
    assert (step.mode, step.sessions, step.rate, step.duration) == ("rate", 40, 25.0, 2 + 2)


def test_a_step_with_fewer_sessions_than_shards_is_refused():
    with pytest.raises(UsageError, match="fewer sessions than shards"):
        step_scenario(Scenario(sessions=10, shard=(0, 4)), "sessions", 3, hold_s=1)


def test_judge_reads_every_slo_on_every_target_with_numbers():
    result = make_result()
    slos = [parse_threshold("rtt.p99 < 4ms"), parse_threshold("sessions.dropped == 0")]
    verdict = judge_step(result, slos)
    readings = {(r.slo, r.target): r for r in verdict.readings}
    nginx = readings[("rtt.p99 < 4ms", "nginx")]
    assert nginx.observed == pytest.approx(result["targets"]["nginx"]["rtt"]["p99"])
    assert nginx.limit == 4.0 and nginx.passed is (nginx.observed < 4.0)
    assert verdict.passed is all(r.passed for r in verdict.readings)
    assert not verdict.saturated and verdict.complete


def test_no_data_fails_the_step_and_saturation_is_reported():
    result = copy.deepcopy(make_result(saturated=True))
    for target in result["targets"].values():
        target.pop("recovery", None)  # a metric of the schema this run did not measure: no data
    verdict = judge_step(result, [parse_threshold("recovery.p99 < 1s")])
    assert not verdict.passed and all(r.observed is None for r in verdict.readings)
    assert verdict.saturated and verdict.saturation_reasons


def test_capacity_entry_names_what_broke_first_at_the_lowest_failing_load():
    plan = SearchPlan(start=10, factor=2, maximum=200, precision=0.01)
    curve = []

    def judge(load):
        rtt_ms = 5.0 if load <= 33 else 120.0
        dropped = 0 if load <= 40 else 3
        readings = [
            {"slo": "rtt.p99 < 50ms", "target": "t", "passed": rtt_ms < 50, "observed": rtt_ms, "limit": 50.0,
             "shown": f"{rtt_ms} ms", "note": ""},
            {"slo": "sessions.dropped == 0", "target": "t", "passed": dropped == 0, "observed": dropped,
             "limit": 0.0, "shown": str(dropped), "note": ""},
        ]
        passed = all(r["passed"] for r in readings)
        curve.append({"load": load, "passed": passed, "saturated": False, "readings": readings,
                      "machine_cpu_percent": 40.0})
        return passed

    steps, outcome = run_search(plan, judge)
    entry = target_capacity(over="sessions", plan=plan, curve=curve, outcome=outcome)
    assert entry["verdict"] == "capacity" and entry["capacity"] == 33 and entry["lowest_fail"] == 34
    assert entry["broke_first"]["slo"] == "rtt.p99 < 50ms" and entry["broken"] == ["rtt.p99 < 50ms"]
    assert entry["steps"] == len(steps) <= entry["bound"]
    assert not entry["bounded_by_machine"]
    assert "capacity 33 sessions" in entry["summary"] and "broke first: rtt.p99 < 50ms" in entry["summary"]


def test_a_saturated_generator_ends_with_that_verdict_not_a_capacity():
    plan = SearchPlan(start=10)
    curve = [{"load": 10, "passed": True, "saturated": False, "readings": [], "machine_cpu_percent": 50.0},
             {"load": 20, "passed": False, "saturated": True, "readings": [],
              "saturation_reasons": ["1 worker(s) at >= 95% CPU for half the run or more"],
              "machine_cpu_percent": 99.0}]
    entry = target_capacity(over="rate", plan=plan, curve=curve, outcome=None, stopped="generator-limit")
    assert entry["verdict"] == "generator-limit"
    assert entry["summary"].startswith("generator limit, not the target's")
    assert "--shard" in entry["suggestion"] and entry["lowest_fail"] is None
    assert entry["capacity"] is None and entry["highest_pass"] == 10  # no figure: the generator's limit
