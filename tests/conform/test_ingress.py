"""The ingress group over real sockets: a ``wsbench serve`` pod alone, then behind the test
proxy (tests/servers/bad_proxy.py) configured well, then badly, then terminating TLS.

The pod listens on 127.0.0.2 so that a proxy rewriting Host to the pod's address shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wsbench.conform import ConformResult, RunOptions, run_conformance
from wsbench.conform.ingress import IngressOptions
from wsbench.lab.ca import make_certificates
from wsbench.server.process import ServerProcess

IDLE_S = 1.0  # the proxy's idle timeout / session lifetime here


def run(url: str, unit: float, **ingress: object) -> ConformResult:
    options = IngressOptions(**{"max_message_bound": 1 << 20, **ingress})  # type: ignore[arg-type]
    return run_conformance(url, cases=["ingress.*"], options=RunOptions(timeout=3 * unit),
                           ingress=options)


def table(result: ConformResult) -> dict[str, tuple[str, str]]:
    return {cid.removeprefix("ingress."): (r.verdict, str(r.observed.get("value")))
            for cid, r in result.cases.items()}


@pytest.fixture(scope="module")
def pod(pods: Callable[..., ServerProcess]) -> ServerProcess:
    return pods(hosts=("127.0.0.2",), subprotocols=("chat",))


COMMON = {
    "max-message": ("OK", "≥ 1 MiB"),
    "subprotocol": ("OK", "selected chat"),
    "affinity": ("OK", "honoured"),
    "upgrade-no-key": ("OK", "400"),
    # websockets (the pod's library) answers a wrong version with 400, not 426
    "upgrade-bad-version": ("NON-STRICT", "400"),
    "tls-chain": ("UNIMPLEMENTED", "no TLS"),
    "tls-hostname": ("UNIMPLEMENTED", "no TLS"),
    # header-based routing needs a routing header (the lab gives one); without it, not checked
    "header-routing": ("INFORMATIONAL", "not checked"),
}


def test_pod_alone(pod: ServerProcess, unit: float) -> None:
    result = run(pod.url, unit, idle_bound=IDLE_S)
    assert result.complete and len(result.cases) == 14
    assert table(result) == {
        **COMMON,
        "idle-timeout": ("INFORMATIONAL", f"none within {IDLE_S:g} s"),
        "ping-keepalive": ("INFORMATIONAL", "no idle timeout"),
        "deflate": ("OK", "negotiated"),
        "origin": ("OK", "as sent"),
        "x-forwarded-for": ("OK", "direct"),
        "host": ("OK", "as sent"),
    }
    assert {r.close for r in result.cases.values()} == {"N/A"}
    assert "the pod sees the client itself" in result.cases["ingress.x-forwarded-for"].reason


def test_behind_a_proxy_with_an_idle_timeout(pod: ServerProcess, proxies: Callable[..., str],
                                             unit: float) -> None:
    url = proxies(pod.url, "--idle", str(IDLE_S))
    result = run(url, unit, idle_bound=IDLE_S + 3 * unit)
    seen = table(result)
    idle = result.cases["ingress.idle-timeout"]
    measured = idle.observed["idle_timeout_s"]
    assert IDLE_S - 0.1 <= measured <= IDLE_S + 0.5 * unit, measured
    assert idle.observed["closed_how"].startswith("TCP closed without a close frame")
    assert seen.pop("idle-timeout")[1].endswith("TCP cut (1006)")
    assert seen == {**COMMON, "ping-keepalive": ("OK", "kept open"), "deflate": ("OK", "negotiated"),
                    "origin": ("OK", "as sent"), "x-forwarded-for": ("OK", "X-Forwarded-For"),
                    "host": ("OK", "as sent")}
    keepalive = result.cases["ingress.ping-keepalive"].observed
    assert keepalive["pinged_for_s"] >= 1.5 * measured - 0.1 and keepalive["pongs"] >= 3


def test_behind_a_misbehaving_proxy(pod: ServerProcess, proxies: Callable[..., str],
                                    unit: float) -> None:
    url = proxies(pod.url, "--lifetime", str(IDLE_S), "--strip-deflate", "--drop-origin",
                  "--rewrite-host", "--no-xff")
    result = run(url, unit, idle_bound=IDLE_S + 3 * unit)
    seen = table(result)
    assert seen.pop("idle-timeout")[1].endswith("TCP cut (1006)")
    assert seen == {**COMMON, "ping-keepalive": ("FAILED", seen["ping-keepalive"][1]),
                    "deflate": ("INFORMATIONAL", "stripped"), "origin": ("FAILED", "dropped"),
                    "x-forwarded-for": ("FAILED", "hidden"), "host": ("FAILED", "rewritten")}
    assert "client pings did not keep the session open" in result.cases["ingress.ping-keepalive"].reason
    assert "127.0.0.2" in result.cases["ingress.host"].reason


def test_largest_message_is_bisected(pods: Callable[..., ServerProcess], unit: float) -> None:
    small = pods(max_size=100_000)
    result = run(small.url, unit, max_message_bound=1 << 20)
    case = result.cases["ingress.max-message"]
    assert case.verdict == "INFORMATIONAL", case.reason
    assert 100_000 - 1024 < case.observed["largest_ok"] <= 100_000 < case.observed["smallest_failed"]
    assert "1009" in case.observed["how_failed"]  # the pod's "message too big"
    assert case.observed["tries"] <= 12


def test_certificates(pod: ServerProcess, proxies: Callable[..., str], tmp_path: Path,
                      unit: float) -> None:
    # a certificate for 127.0.0.2 only, served on 127.0.0.1: the chain is fine, the name is not
    certs = make_certificates(str(tmp_path / "ca"), names=("wsbench.test",), addresses=("127.0.0.2",))
    url = proxies(pod.url, "--tls-cert", certs.cert_file, "--tls-key", certs.key_file)
    plain = pod.url

    def tls(ca_file: str | None) -> dict[str, tuple[str, str]]:
        result = run_conformance(plain, cases=["ingress.tls-*"], options=RunOptions(timeout=3 * unit),
                                 ingress=IngressOptions(tls_url=url, ca_file=ca_file))
        return table(result)

    assert tls(certs.ca_file) == {"tls-chain": ("OK", "verifies"), "tls-hostname": ("FAILED", "wrong name")}
    assert tls(None) == {"tls-chain": ("FAILED", "untrusted"), "tls-hostname": ("FAILED", "untrusted")}


def test_server_pings_are_named_when_they_hide_the_idle_timeout(pods: Callable[..., ServerProcess],
                                                                unit: float) -> None:
    chatty = pods(ping_interval=0.2)
    result = run_conformance(chatty.url, cases=["ingress.idle-timeout"], options=RunOptions(timeout=3 * unit),
                             ingress=IngressOptions(idle_bound=1.0))
    reason = result.cases["ingress.idle-timeout"].reason
    assert "the server pinged" in reason and "hides any idle timeout" in reason, reason
