"""Through every must-work proxy: echo over ws/wss, routing, balance, affinity, idle timeout."""

from __future__ import annotations

import asyncio

import pytest

from tests.lab.conftest import IDLE_S, proxy_params
from tests.lab.helpers import ask, idle_close_after, route_cookie, spread
from tests.utils import UNIT
from wsbench.engine.refecho import REFERENCE_NAME
from wsbench.lab import ALT_HOST, REFERENCE_PATH, get_spec
from wsbench.lab.probe import echo_once, open_session, whoami

pytestmark = pytest.mark.parametrize("proxy", proxy_params())


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_upgrade_and_echo(lab, proxy, tls):
    me, _ = asyncio.run(ask(lab, proxy, tls=tls))
    assert me["pod"].startswith("pod-")


@pytest.mark.parametrize("tls", [False, True], ids=["ws", "wss"])
def test_reference_path_reaches_the_reference_echo(lab, proxy, tls):
    """Upgrade + echo on ``<proxy>/wsbench-reference`` (and below it) answered by the lab's
    reference echo, several sessions at once (it serves them concurrently)."""
    url = lab.url(proxy, REFERENCE_PATH, tls=tls)
    assert url == lab.reference_url(proxy) or tls

    async def one(path: str) -> str:
        async with open_session(lab.url(proxy, path, tls=tls), ca_file=lab.ca_file, timeout=10 * UNIT) as ws:
            await echo_once(ws)
            return str((await whoami(ws))["pod"])

    paths = [REFERENCE_PATH, f"{REFERENCE_PATH}/calibration"] * 4

    async def together() -> list[str]:
        return list(await asyncio.gather(*(one(path) for path in paths)))

    assert asyncio.run(together()) == [REFERENCE_NAME] * len(paths)
    me, _ = asyncio.run(ask(lab, proxy, tls=tls))  # the main rule still goes to the pods
    assert me["pod"].startswith("pod-")


def test_routing_by_host(lab, proxy):
    default, _ = asyncio.run(ask(lab, proxy))
    alt, _ = asyncio.run(ask(lab, proxy, host=ALT_HOST))
    alt_tls, _ = asyncio.run(ask(lab, proxy, host=ALT_HOST, tls=True))
    assert default["pod"].startswith("pod-")
    assert alt["pod"] == "alt-0" and alt_tls["pod"] == "alt-0"
    assert alt["headers"]["host"].split(":")[0] == ALT_HOST  # Host reaches the pod


def test_routing_by_path(lab, proxy):
    alt, _ = asyncio.run(ask(lab, proxy, "/alt/room-1"))
    alt_tls, _ = asyncio.run(ask(lab, proxy, "/alt", tls=True))
    other, _ = asyncio.run(ask(lab, proxy, "/other"))
    assert alt["pod"] == "alt-0" and alt_tls["pod"] == "alt-0"
    assert alt["path"] == "/alt/room-1"
    assert other["pod"].startswith("pod-")


def test_forwarded_headers(lab, proxy):
    me, _ = asyncio.run(ask(lab, proxy))
    headers = me["headers"]
    # Envoy writes its own address into X-Forwarded-For for loopback clients and the
    # client's into x-envoy-external-address
    seen = headers.get("x-forwarded-for", "") + "," + headers.get("x-envoy-external-address", "")
    assert "127.0.0.1" in seen, headers


def test_300_sessions_spread_over_3_pods(lab, proxy):
    counts = asyncio.run(spread(lab, proxy, 300))
    assert sum(counts.values()) == 300
    assert set(counts) == {"pod-0", "pod-1", "pod-2"}, counts
    assert all(60 <= n <= 140 for n in counts.values()), counts  # within 20 %..47 % each


def test_affinity_keeps_a_client_on_one_pod(lab, proxy):
    kind = get_spec(proxy).affinity
    assert kind in ("cookie", "source")

    async def client(index: int) -> str:
        source = f"127.0.0.{20 + index}"
        first, set_cookie = await ask(lab, proxy, "/sticky", source=source)
        cookie = route_cookie(set_cookie, first["pod"]) if kind == "cookie" else None
        again = [await ask(lab, proxy, "/sticky", source=source, cookie=cookie) for _ in range(4)]
        pods = {me["pod"] for me, _ in again}
        assert pods == {first["pod"]}, (index, first["pod"], pods)
        return str(first["pod"])

    async def main() -> set[str]:
        return set(await asyncio.gather(*(client(i) for i in range(12))))

    assert len(asyncio.run(main())) >= 2  # different clients do land on different pods


def test_idle_timeout(lab, proxy):
    spec = get_spec(proxy)
    if spec.idle_override:
        closed = asyncio.run(idle_close_after(lab, proxy, IDLE_S + 6 * UNIT))
        assert closed is not None and IDLE_S - 0.5 <= closed <= IDLE_S + 4 * UNIT, closed
    else:  # Traefik, Caddy 2.6: nothing closes an idle upgraded session (the shipped default)
        assert spec.idle_timeout_s("shipped") is None
        assert asyncio.run(idle_close_after(lab, proxy, IDLE_S + 1.5)) is None


def test_reload_keeps_serving(lab, proxy):
    info = lab.reload(proxy)
    assert info.generation >= 1
    me, _ = asyncio.run(ask(lab, proxy))
    assert me["pod"].startswith("pod-")
