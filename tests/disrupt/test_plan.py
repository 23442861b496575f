"""Disruption plans: text and mapping forms, and one-line errors naming the problem."""

from __future__ import annotations

import pytest

from wsbench.disrupt import Disruption, parse_disruption, parse_disruptions
from wsbench.engine.orchestrate import disruption_plan
from wsbench.errors import ScenarioError
from wsbench.scenario import parse_scenario


def test_text_forms():
    assert parse_disruption("pod-restart@10s:pod-1") == Disruption("pod-restart", 10.0, pod="pod-1")
    assert parse_disruption("pod-kill@500ms:pod-0").at_s == 0.5
    assert parse_disruption("network-cut@1m:pod-2/3s") == Disruption("network-cut", 60.0, pod="pod-2", duration_s=3.0)
    assert parse_disruption("proxy-reload@20") == Disruption("proxy-reload", 20.0)
    assert parse_disruption("exec@5s:kubectl delete pod a:b").command == "kubectl delete pod a:b"


def test_mapping_form_and_sorting():
    plan = parse_disruptions([{"kind": "pod-kill", "at": "7s", "pod": "pod-1"}, "proxy-reload@3s"])
    assert [d.kind for d in plan] == ["proxy-reload", "pod-kill"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("pod-restart", "disruptions: expected KIND@TIME[:ARG] like pod-restart@10s:pod-0, got 'pod-restart'"),
        ("reboot@3s", "disruptions: unknown kind 'reboot' (known: pod-restart, pod-kill, network-cut, proxy-reload, exec)"),
        ("pod-kill@3s", "disruptions: pod-kill needs a pod, e.g. pod-kill@10s:pod-0"),
        ("network-cut@3s:pod-0", "disruptions: network-cut: expected POD/DURATION like pod-0/3s, got 'pod-0'"),
        ("exec@3s", "disruptions: exec needs a command, e.g. exec@10s:kubectl delete pod echo-0"),
    ],
)
def test_errors_name_the_problem(text, message):
    with pytest.raises(ScenarioError) as info:
        parse_disruption(text)
    assert str(info.value) == message


def test_plan_is_checked_against_the_scenario():
    with pytest.raises(ScenarioError, match="add --lab"):
        disruption_plan(parse_scenario({"duration": 10}), ("pod-restart@2s:pod-0",))
    with pytest.raises(ScenarioError, match="after the end of the run"):
        disruption_plan(parse_scenario({"duration": 10}), ("exec@12s:true",))
    plan = disruption_plan(parse_scenario({"duration": 10, "disruptions": ["exec@1s:true"]}), ("exec@2s:true",))
    assert [d.at_s for d in plan] == [1.0, 2.0]
