"""``--netns``: each pod in its own network namespace on a veth pair; cut off and restored.

One module-scoped lab (nginx, HAProxy, Envoy in front of 3 + 1 pods, each pod in its own
namespace). What a network cut does, as measured here (shipped profiles, host end of the
pod's veth down): a connect to the pod fails at once (no route to host), so all three
proxies send every new session to another pod (nginx: next upstream on error; HAProxy:
redispatch; Envoy: retry on connect-failure, previous-hosts predicate); open sessions to
the pod hang silently until the proxy's idle timeout closes them (1006); a cut shorter
than that is survived (TCP retransmits).
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.lab.helpers import ask, net_leftovers, spread, tcp_listeners
from tests.utils import UNIT, wait_until_async
from wsbench.lab import Lab, LabNet, LabOptions, missing_proxies
from wsbench.lab.netns import namespaces
from wsbench.lab.probe import echo_once, open_session, whoami
from wsbench.lab.procs import is_alive

PROXIES = ("nginx", "haproxy", "envoy")
#: short idle timeout: a session hung by a cut is closed by the proxy this long after
IDLE_S = 3.0
MAIN_PODS = ("pod-0", "pod-1", "pod-2")

_missing = missing_proxies(PROXIES)
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="--netns needs root (network namespaces)"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="--netns needs the ip command (iproute2)"),
]
proxy_params = [
    pytest.param(name, marks=pytest.mark.skipif(name in _missing, reason=_missing.get(name, "")))
    for name in PROXIES
]


@pytest.fixture(scope="module")
def netns_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    names = tuple(name for name in PROXIES if name not in _missing)
    if not names:
        pytest.skip("none of nginx, haproxy, envoy is installed (wsbench lab install)")
    state_dir = tmp_path_factory.mktemp("netns-lab")
    running = Lab.up(
        LabOptions(proxies=names, tls=False, netns=True, idle_timeout_s=IDLE_S, name="netns", state_dir=str(state_dir))
    )
    try:
        yield running
    finally:
        running.down()


def _net(lab: Lab) -> LabNet:
    assert lab.state.net is not None
    return lab.state.net


async def _settled(lab: Lab, proxy: str, timeout: float = 15.0) -> None:
    """Wait until the proxy sends new sessions to every main pod again (after another
    test's cut, HAProxy's health checks may still hold a pod down)."""

    async def every_pod() -> bool:
        return set(await spread(lab, proxy, 12, concurrency=12)) == set(MAIN_PODS)

    await wait_until_async(every_pod, timeout, interval=0.3, what=f"{proxy} reaches every pod")


# ------------------------------------------------------------------ the pods' networks
def test_every_pod_runs_in_its_own_namespace_on_its_own_address(netns_lab):
    net = _net(netns_lab)
    block = IPv4Network(net.block)
    assert block.subnet_of(IPv4Network("10.0.0.0/8"))
    assert [p.pod for p in net.pods] == [p.name for p in netns_lab.state.pods]
    existing = namespaces()
    for pod in netns_lab.state.pods:
        mine = net.of(pod.name)
        assert mine is not None and pod.netns == mine.netns and mine.netns in existing
        assert len(mine.host_if) <= 15 and mine.pod_if == "eth0"
        assert IPv4Address(mine.pod_addr) in block and IPv4Address(mine.host_addr) in block
        assert pod.host == mine.pod_addr and pod.url == f"ws://{mine.pod_addr}:{pod.port}"
        # the pod process is inside that namespace ...
        assert os.stat(f"/proc/{pod.pid}/ns/net").st_ino == os.stat(f"/run/netns/{mine.netns}").st_ino
        # ... listens on the namespace's address as its own ...
        assert (mine.pod_addr, pod.port) in tcp_listeners(pod.pid)
        # ... and has nothing but loopback and its veth end there
        inside = subprocess.run(["ip", "-n", mine.netns, "-o", "link"], capture_output=True, text=True, check=True)
        assert sorted(line.split(":")[1].strip().split("@")[0] for line in inside.stdout.splitlines()) == ["eth0", "lo"]
    assert len({p.pod_addr for p in net.pods}) == len(net.pods)
    assert not netns_lab.pod_is_cut("pod-0")


@pytest.mark.parametrize("proxy", proxy_params)
def test_upgrade_echo_and_whoami_through_the_proxy(netns_lab, proxy):
    net = _net(netns_lab)
    me, _ = asyncio.run(ask(netns_lab, proxy))
    alt, _ = asyncio.run(ask(netns_lab, proxy, "/alt"))
    assert me["pod"] in MAIN_PODS and alt["pod"] == "alt-0"
    for answer in (me, alt):
        mine = net.of(answer["pod"])
        assert mine is not None and answer["pid"] == netns_lab.pod(answer["pod"]).pid
        # the proxy reached the pod over that pod's own veth: from the root namespace the
        # only way to the pod's address is the host end of its pair
        assert answer["peer"].rsplit(":", 1)[0] == mine.host_addr
        assert answer["local"].rsplit(":", 1)[0] == mine.pod_addr  # the pod sees its own address


def test_a_restarted_pod_comes_back_in_its_namespace(netns_lab):
    old = netns_lab.pod("alt-0")
    new = netns_lab.restart_pod("alt-0", hard=True)
    mine = _net(netns_lab).of("alt-0")
    assert mine is not None and new.pid != old.pid and (new.host, new.port, new.netns) == (old.host, old.port, old.netns)
    assert os.stat(f"/proc/{new.pid}/ns/net").st_ino == os.stat(f"/run/netns/{mine.netns}").st_ino
    proxy = next(name for name in PROXIES if name not in _missing)
    me, _ = asyncio.run(ask(netns_lab, proxy, "/alt"))
    assert me["pod"] == "alt-0" and me["pid"] == new.pid


@pytest.mark.parametrize("proxy", proxy_params)
def test_300_sessions_spread_over_3_netns_pods(netns_lab, proxy):
    asyncio.run(_settled(netns_lab, proxy))
    counts = asyncio.run(spread(netns_lab, proxy, 300))
    assert sum(counts.values()) == 300
    assert set(counts) == set(MAIN_PODS), counts
    assert all(60 <= n <= 140 for n in counts.values()), counts


# ------------------------------------------------------------------ cut and restore
async def _outcome(ws: ClientConnection, timeout: float) -> str | int:
    """'echo' if an echo comes back within ``timeout``, 'hang' if nothing comes, else the close code."""
    try:
        await echo_once(ws, timeout=timeout)
    except TimeoutError:
        return "hang"
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else 1006
    return "echo"


async def _sessions_by_pod(lab: Lab, proxy: str) -> dict[str, list[ClientConnection]]:
    async def one() -> tuple[str, ClientConnection]:
        ws = await open_session(lab.url(proxy), timeout=10 * UNIT)
        return str((await whoami(ws))["pod"]), ws

    by_pod: dict[str, list[ClientConnection]] = {}
    for pod, ws in await asyncio.gather(*(one() for _ in range(12))):
        by_pod.setdefault(pod, []).append(ws)
    return by_pod


def _connect_error(address: str, port: int) -> int | None:
    try:
        with socket.create_connection((address, port), timeout=2 * UNIT):
            return None
    except OSError as exc:
        return exc.errno


@pytest.mark.parametrize("proxy", proxy_params)
def test_cut_pod_and_restore_pod(netns_lab, proxy):
    lab = netns_lab
    pod1 = lab.pod("pod-1")
    mine = _net(lab).of("pod-1")
    assert mine is not None

    async def scenario() -> None:
        await _settled(lab, proxy)
        by_pod = await _sessions_by_pod(lab, proxy)
        assert set(by_pod) == set(MAIN_PODS), {k: len(v) for k, v in by_pod.items()}
        try:
            await asyncio.to_thread(lab.cut_pod, "pod-1")
            assert lab.pod_is_cut("pod-1")
            # the pod is off the network: a connect fails at once, nothing leaves this machine
            assert _connect_error(mine.pod_addr, pod1.port) == errno.EHOSTUNREACH
            # sessions on the other pods go on
            assert await _outcome(by_pod["pod-0"][0], 5 * UNIT) == "echo"
            # a session on the cut pod hangs silently (a partition, not a close) ...
            hung = by_pod["pod-1"][0]
            assert await _outcome(hung, 0.5) == "hang"
            # ... new sessions all go to the other pods (every one of these proxies retries
            # another pod on a connect error) ...
            answers = await asyncio.gather(*(ask(lab, proxy) for _ in range(9)))
            pods = Counter(me["pod"] for me, _ in answers)
            assert sum(pods.values()) == 9 and "pod-1" not in pods, pods
            # ... and the proxy's idle timeout closes the hung session: 1006 at the client
            started = time.monotonic()
            assert await _outcome(hung, IDLE_S + 4 * UNIT) == 1006
            assert time.monotonic() - started <= IDLE_S + 3 * UNIT
            assert lab.pod("pod-1").pid == pod1.pid  # the pod itself never stopped
        finally:
            await asyncio.to_thread(lab.restore_pod, "pod-1")
        assert not lab.pod_is_cut("pod-1")
        assert _connect_error(mine.pod_addr, pod1.port) is None
        await _settled(lab, proxy)  # new sessions reach pod-1 again
        # a cut shorter than the idle timeout is survived: TCP retransmits the echo
        fresh = await _sessions_by_pod(lab, proxy)
        assert "pod-1" in fresh, {k: len(v) for k, v in fresh.items()}
        survivor = fresh["pod-1"][0]
        await asyncio.to_thread(lab.cut_pod, "pod-1")
        try:
            pending = asyncio.ensure_future(_outcome(survivor, IDLE_S - 0.5))
            await asyncio.sleep(0.3)
        finally:
            await asyncio.to_thread(lab.restore_pod, "pod-1")
        assert await pending == "echo"
        every = [ws for sessions in (*by_pod.values(), *fresh.values()) for ws in sessions]
        await asyncio.gather(*(ws.close() for ws in every))

    asyncio.run(scenario())


# ------------------------------------------------------------------ from the CLI, side by side, nothing left
def _wsbench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([sys.executable, "-m", "wsbench", "lab", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


@pytest.mark.skipif("nginx" in _missing, reason=_missing.get("nginx", ""))
def test_cli_netns_lab_beside_another_and_down_from_another_process(netns_lab, tmp_path):
    state_dir = str(tmp_path / "cli")
    up = _wsbench("up", "--netns", "--proxies", "nginx", "--pods", "2", "--no-tls", "--name", "netns-cli",
                  "--state-dir", state_dir, "--json")
    try:
        assert up.returncode == 0, up.stderr
        other = Lab.find(state_dir=state_dir)
        assert other is not None and other.state.net is not None
        net = other.state.net
        status = json.loads(_wsbench("status", "--json", "--state-dir", state_dir).stdout)
        assert [p["netns"] for p in status["pods"]] == [p.netns for p in net.pods]
        # two netns labs side by side: their own blocks, namespaces and veths
        assert not IPv4Network(net.block).overlaps(IPv4Network(_net(netns_lab).block))
        assert not {p.netns for p in net.pods} & {p.netns for p in _net(netns_lab).pods}
        assert not {p.host_if for p in net.pods} & {p.host_if for p in _net(netns_lab).pods}
        me, _ = asyncio.run(ask(other, "nginx"))
        assert me["peer"].rsplit(":", 1)[0] == (net.of(me["pod"]) or net.pods[0]).host_addr
        pids = [p.pid for p in other.state.pods] + [p.pid for p in other.state.proxies.values()]
    finally:
        down = _wsbench("down", "--state-dir", state_dir)
    assert down.returncode == 0, down.stderr
    assert net_leftovers(net) == []
    assert not [pid for pid in pids if is_alive(pid)]
    # the module's lab is untouched
    assert {p.netns for p in _net(netns_lab).pods} <= namespaces()
    assert asyncio.run(ask(netns_lab, "nginx"))[0]["pod"] in MAIN_PODS
