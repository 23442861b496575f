"""The ingress group's verdict rules, the largest-message search and the lab matrix (no sockets)."""

from __future__ import annotations

import json

import pytest

from wsbench.conform.ingress_rules import (
    AffinityObservation,
    Finding,
    HeaderObservation,
    IdleObservation,
    MaxMessageObservation,
    NegotiationObservation,
    TlsObservation,
    UpgradeObservation,
    Whoami,
    bisect_sizes,
    judge_affinity,
    judge_deflate,
    judge_forwarded_for,
    judge_host,
    judge_idle_timeout,
    judge_max_message,
    judge_origin,
    judge_ping_keepalive,
    judge_subprotocol,
    judge_tls_chain,
    judge_tls_hostname,
    judge_upgrade_bad_version,
    judge_upgrade_no_key,
)
from wsbench.conform.matrix import build_matrix, outcome, render_matrix


def pod(headers: dict[str, str] | None = None, *, peer: str = "127.0.0.1:5000",
        subprotocol: str | None = None, name: str = "pod-0") -> Whoami:
    return Whoami(name, peer, "/", headers or {}, subprotocol)


def search(limit: int, bound: int, resolution: int = 1024) -> tuple[tuple[int | None, int | None], list[int]]:
    """Drive the bisection against a path that passes messages up to ``limit`` bytes."""
    tried = []
    gen = bisect_sizes(bound, resolution=resolution)
    size = next(gen)
    while True:
        tried.append(size)
        try:
            size = gen.send(size <= limit)
        except StopIteration as stop:
            return stop.value, tried


def test_bisect_finds_the_limit_within_the_resolution() -> None:
    assert search(1 << 30, 16 << 20) == ((16 << 20, None), [16 << 20])
    (largest, smallest), tried = search(1_048_576, 16 << 20)
    assert largest is not None and smallest is not None
    assert largest <= 1_048_576 < smallest and smallest - largest <= 1024
    assert len(tried) <= 16
    (largest, smallest), _ = search(0, 16 << 20)  # nothing passes
    assert largest is None and smallest is not None and smallest <= 1024
    with pytest.raises(ValueError):
        next(bisect_sizes(0))


def test_whoami_parses_only_a_pods_answer() -> None:
    reply = json.dumps({"pod": "pod-1", "peer": "127.0.0.1:9", "path": "/x",
                        "headers": {"Host": "h", "X-Forwarded-For": "1.2.3.4"}, "subprotocol": None})
    me = Whoami.parse(reply.encode())
    assert me == Whoami("pod-1", "127.0.0.1:9", "/x", {"host": "h", "x-forwarded-for": "1.2.3.4"}, None)
    assert Whoami.parse(b"whoami") is None and Whoami.parse(b"[1, 2]") is None
    assert Whoami.parse(b'{"pod": "x"}') is None and Whoami.parse(b"\xff") is None


IDLE = IdleObservation(bound_s=10, closed_after_s=3.04, how="TCP closed without a close frame",
                       ping_interval_s=1.0, pinged_for_s=4.6, pongs=5)


@pytest.mark.parametrize(
    ("rule", "observation", "verdict", "value"),
    [
        (judge_idle_timeout, IDLE, "INFORMATIONAL", "3.0 s, TCP cut (1006)"),
        (judge_idle_timeout, IdleObservation(10, 60.1, "close frame 1001", 1001), "INFORMATIONAL",
         "60.1 s, close 1001"),
        (judge_idle_timeout, IdleObservation(10), "INFORMATIONAL", "none within 10 s"),
        (judge_idle_timeout, IdleObservation(10, error="HTTP 502 Bad Gateway"), "FAILED", "failed"),
        (judge_ping_keepalive, IDLE, "OK", "kept open"),
        (judge_ping_keepalive, IdleObservation(10, 3.0, pinged_closed_after_s=3.0, pinged_how="x"),
         "FAILED", "closed after 3.0 s"),
        (judge_ping_keepalive, IdleObservation(10, pongs=10), "INFORMATIONAL", "no idle timeout"),
        (judge_max_message, MaxMessageObservation(16 << 20, 16 << 20, None), "OK", "≥ 16 MiB"),
        (judge_max_message, MaxMessageObservation(16 << 20, 1 << 20, (1 << 20) + 1024, "close 1009"),
         "INFORMATIONAL", "1 MiB"),
        (judge_max_message, MaxMessageObservation(16 << 20, None, 1024, "TCP cut"), "FAILED",
         "nothing passes"),
        (judge_subprotocol, NegotiationObservation("a, b", "b", pod=pod(
            {"sec-websocket-protocol": "a, b"}, subprotocol="b")), "OK", "selected b"),
        (judge_subprotocol, NegotiationObservation("a, b", None, pod=pod()), "FAILED",
         "offer dropped"),
        (judge_subprotocol, NegotiationObservation("a, b", None, pod=pod(
            {"sec-websocket-protocol": "a, b"}, subprotocol="a")), "FAILED", "answer changed"),
        (judge_subprotocol, NegotiationObservation("a, b", "c"), "FAILED", "selected c"),
        (judge_subprotocol, NegotiationObservation("a, b", "a"), "INFORMATIONAL", "selected a"),
        (judge_deflate, NegotiationObservation("permessage-deflate", "permessage-deflate",
                                               pod=pod({"sec-websocket-extensions": "x"}),
                                               echo_ok=True, echo_compressed=True), "OK", "negotiated"),
        (judge_deflate, NegotiationObservation("permessage-deflate", None, pod=pod()),
         "INFORMATIONAL", "stripped"),
        (judge_deflate, NegotiationObservation("permessage-deflate", None,
                                               pod=pod({"sec-websocket-extensions": "x"})),
         "UNIMPLEMENTED", "declined"),
        (judge_deflate, NegotiationObservation("permessage-deflate", None), "UNIMPLEMENTED", "declined"),
        (judge_deflate, NegotiationObservation("permessage-deflate", "permessage-deflate",
                                               echo_ok=False), "FAILED", "echo broken"),
        (judge_deflate, NegotiationObservation("permessage-deflate", "x", problem="unknown"),
         "FAILED", "invalid answer"),
        (judge_origin, HeaderObservation({"origin": "http://o"}, pod=pod({"origin": "http://o"})),
         "OK", "as sent"),
        (judge_origin, HeaderObservation({"origin": "http://o"}, pod=pod()), "FAILED", "dropped"),
        (judge_origin, HeaderObservation({"origin": "http://o"}, pod=pod({"origin": "null"})),
         "FAILED", "changed"),
        (judge_origin, HeaderObservation({"origin": "http://o"}, error="HTTP 403", status=403),
         "INFORMATIONAL", "refused (403)"),
        (judge_origin, HeaderObservation({"origin": "http://o"}, reply="whoami"), "INFORMATIONAL",
         "not a wsbench pod"),
        (judge_forwarded_for, HeaderObservation({}, "127.0.0.1:5000", pod(peer="127.0.0.1:5000")),
         "OK", "direct"),
        (judge_forwarded_for, HeaderObservation({}, "127.0.0.1:5000", pod(
            {"x-forwarded-for": "10.0.0.9, 127.0.0.1"}, peer="127.0.0.1:6000")), "OK", "X-Forwarded-For"),
        (judge_forwarded_for, HeaderObservation({}, "[::1]:5000", pod(
            {"forwarded": "for=\"[::1]:5000\""}, peer="[::1]:6000")), "OK", "forwarded"),
        (judge_forwarded_for, HeaderObservation({}, "127.0.0.1:5000", pod(peer="127.0.0.1:6000")),
         "FAILED", "hidden"),
        (judge_host, HeaderObservation({"host": "a:1"}, pod=pod({"host": "a:1"})), "OK", "as sent"),
        (judge_host, HeaderObservation({"host": "a:1"}, pod=pod({"host": "A"})), "OK", "port dropped"),
        (judge_host, HeaderObservation({"host": "a:1"}, pod=pod({"host": "10.1.1.1:80"})), "FAILED",
         "rewritten"),
        (judge_affinity, AffinityObservation("/s", ("pod-1",) * 5, "C=1", True), "OK", "honoured"),
        (judge_affinity, AffinityObservation("/s", ("pod-1", "pod-2"), None, True), "FAILED",
         "not honoured"),
        (judge_affinity, AffinityObservation("/", ("pod-1", "pod-2"), None, False), "INFORMATIONAL",
         "none"),
        (judge_affinity, AffinityObservation("/", ("", ""), None, True), "INFORMATIONAL",
         "not a wsbench pod"),
        (judge_upgrade_no_key, UpgradeObservation(400, "Bad Request"), "OK", "400"),
        (judge_upgrade_no_key, UpgradeObservation(403, "Forbidden"), "NON-STRICT", "403"),
        (judge_upgrade_no_key, UpgradeObservation(101), "FAILED", "101"),
        (judge_upgrade_no_key, UpgradeObservation(502, "Bad Gateway"), "FAILED", "502"),
        (judge_upgrade_no_key, UpgradeObservation(None, error="reset"), "NON-STRICT", "no answer"),
        (judge_upgrade_no_key, UpgradeObservation(200, "OK"), "FAILED", "200"),
        (judge_upgrade_bad_version, UpgradeObservation(426, "Upgrade Required", "13"), "OK", "426"),
        (judge_upgrade_bad_version, UpgradeObservation(400, "Bad Request", "13, 8"), "NON-STRICT", "400"),
        (judge_upgrade_bad_version, UpgradeObservation(426, "Upgrade Required"), "NON-STRICT", "426"),
        (judge_tls_chain, TlsObservation(None), "UNIMPLEMENTED", "no TLS"),
        (judge_tls_chain, TlsObservation("wss://x", subject="CN=x", issuer="CN=ca"), "OK", "verifies"),
        (judge_tls_chain, TlsObservation("wss://x", chain_error="self-signed"), "FAILED", "untrusted"),
        (judge_tls_hostname, TlsObservation("wss://x", hostname_error="mismatch"), "FAILED",
         "wrong name"),
        (judge_tls_hostname, TlsObservation("wss://x", chain_error="expired"), "FAILED", "untrusted"),
        (judge_tls_hostname, TlsObservation("wss://x"), "OK", "matches"),
    ],
)
def test_rules(rule, observation, verdict: str, value: str) -> None:  # noqa: ANN001
    finding = rule(observation)
    assert isinstance(finding, Finding)
    assert (finding.verdict, finding.value) == (verdict, value), finding.reason
    assert finding.reason and "\n" not in finding.reason


def test_reasons_carry_the_measurements() -> None:
    assert "3.0 s: TCP closed without a close frame" in judge_idle_timeout(IDLE).reason
    assert "every 1 s" in judge_ping_keepalive(IDLE).reason
    finding = judge_max_message(MaxMessageObservation(16 << 20, 1 << 20, (1 << 20) + 1024, "close 1009"))
    assert "1 MiB (1048576 bytes)" in finding.reason and "1049600 bytes failed: close 1009" in finding.reason
    assert finding.observed["largest_ok"] == 1 << 20


def conform(verdicts: dict[str, tuple[str, str] | str]) -> dict:
    cases = {}
    for cid, spec in verdicts.items():
        verdict, value = spec if isinstance(spec, tuple) else (spec, "")
        cases[cid] = {"group": "Ingress" if cid.startswith("ingress") else "Framing",
                      "verdict": verdict, "close": "N/A" if value else "OK",
                      "observed": {"value": value} if value else {"events": []}}
    return {"schema": "wsbench/conform@1", "url": "ws://x/", "complete": True, "cases": cases}


def test_matrix_marks_what_a_proxy_changes() -> None:
    pod_only = conform({"1.1.1": "OK", "3.4": "NON-STRICT",
                        "ingress.idle-timeout": ("INFORMATIONAL", "none within 6 s")})
    nginx = conform({"1.1.1": "OK", "3.4": "OK",
                     "ingress.idle-timeout": ("INFORMATIONAL", "3.1 s, TCP cut (1006)")})
    nginx["cases"]["1.1.1"]["close"] = "UNCLEAN"
    nginx["cases"]["2.1"] = {"group": "Pings/Pongs", "verdict": "FAILED", "close": "FAILED"}
    pod_only["cases"]["2.1"] = {"group": "Pings/Pongs", "verdict": "OK", "close": "OK"}
    haproxy = conform({"1.1.1": "OK", "3.4": "NON-STRICT",
                       "ingress.idle-timeout": ("INFORMATIONAL", "none within 6 s")})
    haproxy["cases"]["2.1"] = pod_only["cases"]["2.1"]
    matrix = build_matrix({"pod": pod_only, "nginx": nginx, "haproxy": haproxy}, baseline="pod")
    assert matrix["schema"] == "wsbench/conform-matrix@1" and matrix["targets"] == ["pod", "nginx", "haproxy"]
    assert list(matrix["cases"]) == ["1.1.1", "2.1", "3.4", "ingress.idle-timeout"]
    assert matrix["cases"]["2.1"]["broken"] == ["nginx"] and matrix["cases"]["3.4"]["broken"] == []
    assert matrix["cases"]["1.1.1"]["outcomes"]["nginx"] == "OK / close UNCLEAN"
    assert matrix["cases"]["ingress.idle-timeout"]["changed"] == ["nginx"]
    assert matrix["summary"]["nginx"]["changed"] == 4 and matrix["summary"]["haproxy"]["changed"] == 0
    assert matrix["summary"]["nginx"]["broken"] == 1
    assert outcome(nginx["cases"]["ingress.idle-timeout"]) == "INFORMATIONAL (3.1 s, TCP cut (1006))"
    text = render_matrix(matrix)
    assert "pod (baseline)" in text and "Changed by a proxy (4 cases" in text
    assert "! 2.1 " in text and "  3.4 " in text
    assert "ingress.idle-timeout" in text and "pod: INFORMATIONAL (none within 6 s) → nginx:" in text
    same = build_matrix({"pod": pod_only, "haproxy": haproxy}, baseline="pod")
    assert "No proxy changed any outcome." in render_matrix(same)
    with pytest.raises(ValueError):
        build_matrix({"nginx": nginx}, baseline="pod")
