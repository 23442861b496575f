"""The ranked verdict and the plain diagnosis, on Results built to differ in known ways."""

from __future__ import annotations

import copy

import pytest

from wsbench.errors import UsageError
from wsbench.result.diagnosis import diagnose
from wsbench.result.model import Result
from wsbench.result.ranking import Floor, rank_targets


@pytest.fixture(scope="module")
def data(resultgen):
    return resultgen.make_result()


def _targets(data):
    return list(Result.from_json(data).targets.items())


def test_502s_during_a_disruption_rank_last_with_figures(data):
    hurt = copy.deepcopy(data)
    del hurt["targets"]["haproxy"]  # two targets that both went through the pod restart
    hurt["targets"]["envoy"]["disruptions"][0]["upgrade_failures"] = {"http_502": 22}
    hurt["targets"]["envoy"]["upgrade_failures"]["http_502"] = 22
    ranking = rank_targets(_targets(hurt), resamples=300)
    assert [p.label for p in ranking.placings] == ["nginx", "envoy"]
    assert ranking.placings[-1].line.startswith("envoy: 22 × HTTP 502 during pod-restart@10s")
    assert "(nginx: none)" in ranking.placings[-1].line
    assert ranking.lines()[0].startswith("verdict: nginx first; envoy last")


def test_the_same_target_twice_is_the_same(data):
    (name, target), *_ = _targets(data)
    ranking = rank_targets([("a", target), ("b", target)], resamples=300)
    assert ranking.same and [p.rank for p in ranking.placings] == [1, 1]
    assert ranking.headline.startswith("same: a, b")


def test_a_small_gap_is_the_same_under_the_floor_and_a_difference_without_it(data):
    targets = dict(_targets(data))
    nginx, envoy = targets["nginx"], targets["envoy"]  # RTT medians 1.6 vs 0.9 ms
    ranked = rank_targets([("nginx", nginx), ("envoy", envoy)], resamples=300)
    assert ranked.placings[0].label == "envoy" and "RTT p99" in ranked.placings[1].line
    loose = rank_targets([("nginx", nginx), ("envoy", envoy)], floor=Floor(500.0, 100.0), resamples=300)
    rtt = [f for p in loose.placings for f in p.findings if f.measure == "RTT p99"]
    assert all(f.standing != "worse" for f in rtt)
    assert Floor.parse("10%,0.5ms") == Floor(10.0, 0.5) and Floor.parse("3%") == Floor(3.0, 0.1)
    with pytest.raises(UsageError):
        Floor.parse("fast")


@pytest.mark.parametrize(
    ("url", "failures", "says"),
    [
        ("ws://127.0.0.1:8080/echo", {"refused": 350}, "no session opened: 350 refused — is anything listening at 127.0.0.1:8080?"),
        ("wss://ingress.example:443/ws", {"tls": 12}, "12 tls — does ingress.example:443 serve TLS"),
        ("ws://ingress.example/ws", {"dns": 4}, "does ingress.example resolve"),
        ("ws://10.0.0.1:80/chat", {"http_404": 9}, "9 × HTTP 404 — is the path /chat right"),
        ("ws://10.0.0.1:80/chat", {"http_502": 9, "refused": 1}, "9 × HTTP 502, 1 refused — the proxy at 10.0.0.1:80 reached no working backend"),
        ("ws://10.0.0.1:80/chat", {"http_401": 3}, "need credentials"),
    ],
)
def test_a_target_that_never_worked_gets_one_line_naming_the_cause(url, failures, says):
    target = {"url": url, "sessions": {"attempted": sum(failures.values()), "opened": 0},
              "upgrade_failures": failures, "messages": {"sent": 0, "received": 0}}
    assert says in diagnose(target)


def test_no_echo_and_a_working_target(data):
    silent = {"url": "ws://127.0.0.1:9000/", "sessions": {"attempted": 5, "opened": 5},
              "messages": {"sent": 50, "received": 0}}
    assert "no echo came back (50 sent, 0 received)" in diagnose(silent)
    assert diagnose(data["targets"]["nginx"]) is None


def test_a_dead_target_ranks_last_with_its_diagnosis(data):
    dead = {"url": "ws://127.0.0.1:8080/", "sessions": {"attempted": 350, "opened": 0},
            "upgrade_failures": {"refused": 350}}
    targets = _targets(data)[:2] + [("ghost", Result.from_json(
        {"schema": "wsbench/result@1", "targets": {"ghost": dead}}).targets["ghost"])]
    ranking = rank_targets(targets, resamples=300)
    assert ranking.placings[-1].label == "ghost"
    assert ranking.placings[-1].line == ("ghost: never worked: no session opened: 350 refused — is anything "
                                         "listening at 127.0.0.1:8080?")


def test_latencies_measured_by_a_lagging_generator_are_not_judged(data):
    targets = dict(_targets(data))
    pair = [("nginx", targets["nginx"]), ("envoy", targets["envoy"])]  # RTT medians 1.6 vs 0.9 ms
    judged = rank_targets(pair, resamples=300, generator_lag_ms={"nginx": 2.0, "envoy": 1.0})
    assert [p.label for p in judged.placings] == ["envoy", "nginx"]
    lagged = rank_targets(pair, resamples=300, generator_lag_ms={"nginx": 56.0, "envoy": 1.0})
    assert lagged.same and "nginx: latencies not judged" in lagged.lines()[-1]


def test_an_rtt_p99_gap_under_the_machines_own_p99_is_the_same(data):
    """Two runs at different times: a p99 gap smaller than the probe's p99 while they ran is
    the machine's tail, not the targets'; a larger gap is still judged."""
    targets = dict(_targets(data))
    pair = [("nginx", targets["nginx"]), ("envoy", targets["envoy"])]  # RTT medians 1.6 vs 0.9 ms
    plain = rank_targets(pair, resamples=300)
    rtt = next(f for p in plain.placings for f in p.findings if f.measure == "RTT p99" and f.standing == "worse")
    best = next(f for p in plain.placings for f in p.findings if f.measure == "RTT p99" and f.standing == "best")
    gap = rtt.value - best.value
    noisy = rank_targets(pair, resamples=300, machine_noise_ms={"nginx": gap * 1.2, "envoy": 0.1})
    assert noisy.same and [p.rank for p in noisy.placings] == [1, 1], noisy.lines()
    quiet = rank_targets(pair, resamples=300, machine_noise_ms={"nginx": gap * 0.5, "envoy": 0.1})
    assert any(f.standing == "worse" for p in quiet.placings for f in p.findings if f.measure == "RTT p99"), (gap, quiet.lines())
