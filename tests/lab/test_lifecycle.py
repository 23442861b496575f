"""Lab lifecycle: side by side, from another process, failures, pods, and nothing left behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from tests.lab.helpers import ask, listening_ports, net_leftovers
from tests.utils import wait_until
from wsbench.errors import LabError
from wsbench.lab import Lab, LabNet, LabOptions, get_spec, netns
from wsbench.lab.lab import get_spec as real_get_spec
from wsbench.lab.probe import echo_once, open_session, whoami
from wsbench.lab.procs import is_alive, session_members, with_argument

needs = pytest.mark.skipif(
    get_spec("nginx").locate() is None or get_spec("haproxy").locate() is None,
    reason="needs nginx and haproxy (wsbench lab install)",
)
pytestmark = needs
#: run a test also with every pod in its own network namespace (``--netns``, root only)
with_netns = pytest.mark.parametrize(
    "use_netns",
    [
        pytest.param(False, id="loopback"),
        pytest.param(True, id="netns", marks=pytest.mark.skipif(os.geteuid() != 0, reason="--netns needs root")),
    ],
)


def processes_and_ports(lab: Lab) -> tuple[list[int], set[int]]:
    state = lab.state
    pids = [p.pid for p in state.proxies.values()] + [p.pid for p in state.pods]
    ports = {p.port for p in state.proxies.values()} | {p.tls_port for p in state.proxies.values() if p.tls_port}
    ports |= {p.port for p in state.pods}
    assert state.reference is not None  # the reference echo is a member like the pods
    pids.append(state.reference.pid)
    ports.add(state.reference.port)
    return pids, ports


def assert_nothing_left(pids: list[int], ports: set[int]) -> None:
    assert not [pid for pid in pids if is_alive(pid) or session_members(pid)], pids
    assert not ports & listening_ports(), ports & listening_ports()


def test_two_labs_side_by_side_and_down_leaves_nothing(tmp_path):
    options = LabOptions(proxies=("nginx", "haproxy"), tls=False, pods=2)
    one = Lab.up(replace(options, name="one", state_dir=str(tmp_path / "one")))
    try:
        two = Lab.up(replace(options, name="two", state_dir=str(tmp_path / "two")))
    except BaseException:
        one.down()
        raise
    try:
        assert not set(one.targets().values()) & set(two.targets().values())
        for lab in (one, two):
            for proxy in ("nginx", "haproxy"):
                me, _ = asyncio.run(ask(lab, proxy))
                assert me["pod"] in ("pod-0", "pod-1")
    finally:
        left = [processes_and_ports(one), processes_and_ports(two)]
        one.down()
        two.down()
    for pids, ports in left:
        assert_nothing_left(pids, ports)
    assert not (tmp_path / "one" / "state.json").exists()


def _wsbench(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run([sys.executable, "-m", "wsbench", "lab", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_cli_up_status_down_from_other_processes(tmp_path):
    state_dir = str(tmp_path / "cli")
    up = _wsbench("up", "--proxies", "nginx", "--pods", "2", "--state-dir", state_dir, "--json")
    try:
        assert up.returncode == 0, up.stderr
        status = _wsbench("status", "--json", "--state-dir", state_dir)
        assert status.returncode == 0, status.stderr
        data = json.loads(status.stdout)
        nginx = data["proxies"]["nginx"]
        assert nginx["url"].startswith("ws://127.0.0.1:") and nginx["wss_url"].startswith("wss://")
        assert nginx["profile"] == "shipped" and nginx["version"] != "unknown"
        assert [p["name"] for p in data["pods"]] == ["pod-0", "pod-1", "alt-0"]
        reference = data["reference"]
        assert reference["state"] == "healthy" and reference["url"].startswith("ws://127.0.0.2:")
        assert is_alive(reference["pid"]) and data["health"] == "healthy"
        assert Path(data["ca_file"]).is_file()
        lab = Lab.find(state_dir=state_dir)
        assert lab is not None
        me, _ = asyncio.run(ask(lab, "nginx", tls=True))
        pids, ports = processes_and_ports(lab)
    finally:
        down = _wsbench("down", "--state-dir", state_dir)
    assert down.returncode == 0, down.stderr
    assert_nothing_left(pids, ports)
    assert _wsbench("status", "--state-dir", state_dir).returncode == 4  # no lab


@with_netns
def test_failing_proxy_raises_lab_error_with_its_own_log(tmp_path, monkeypatch, use_netns):
    nginx = real_get_spec("nginx")
    broken = replace(nginx, render=lambda config: {"nginx.conf": "daemon off;\nwsbench_broken_directive on;\n"})
    monkeypatch.setattr("wsbench.lab.lab.get_spec", lambda name: broken if name == "nginx" else real_get_spec(name))
    plans: list[LabNet] = []
    real_plan = netns.plan
    monkeypatch.setattr("wsbench.lab.netns.plan", lambda *args: plans.append(real_plan(*args)) or plans[-1])
    started = time.monotonic()
    with pytest.raises(LabError) as caught:
        Lab.up(LabOptions(proxies=("haproxy", "nginx"), tls=False, state_dir=str(tmp_path / "bad"), netns=use_netns))
    assert time.monotonic() - started < 15  # the proxy's exit is seen, not a timeout
    message = str(caught.value)
    assert "nginx" in message and "exited" in message
    assert 'unknown directive "wsbench_broken_directive"' in message  # nginx's own log line
    assert not (tmp_path / "bad" / "state.json").exists()
    assert len(plans) == int(use_netns)
    for plan in plans:  # the pods' namespaces, veths and route are gone too
        assert net_leftovers(plan) == []


@with_netns
def test_interrupted_up_leaves_nothing(tmp_path, use_netns):
    """SIGINT while the lab comes up (Ctrl-C, an interrupted test): everything is stopped,
    with ``--netns`` also the pods' namespaces, veths and route."""
    state_dir = tmp_path / "interrupted"
    # The child starts as a shell starts `lab up`: SIGINT handled, nothing blocked, whatever the
    # test worker it is forked from inherited (a worker process that ignores SIGINT passes SIG_IGN
    # on, and Python then never installs its handler: the Ctrl-C would be lost).
    code = (
        "import signal\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "signal.pthread_sigmask(signal.SIG_SETMASK, [])\n"
        "from wsbench.lab import Lab, LabOptions\n"
        f"Lab.up(LabOptions(proxies=('nginx', 'haproxy', 'envoy'), state_dir={str(state_dir)!r}, netns={use_netns}))\n"
        "import time; time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    seen_pids: set[int] = set()
    seen_ports: set[int] = set()
    seen_net: LabNet | None = None

    def proxies_saved() -> bool:
        nonlocal seen_net
        try:
            data = json.loads((state_dir / "state.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return False
        if data.get("net"):
            seen_net = LabNet.from_json(data["net"])
        seen_pids.update({p["pid"] for p in data["pods"]} | {p["pid"] for p in data["proxies"].values()})
        seen_ports.update({p["port"] for p in data["pods"]} | {p["port"] for p in data["proxies"].values()})
        if data.get("reference"):  # started before the proxies: saved by the time they are
            seen_pids.add(data["reference"]["pid"])
            seen_ports.add(data["reference"]["port"])
        return bool(data["proxies"])

    try:
        wait_until(proxies_saved, 30, what="the lab's first proxy in state.json")
        assert seen_pids, "the lab never started"
        assert (state_dir / "reference" / "port").exists()  # the reference echo was up too
        parent = [line for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith(("SigBlk", "SigIgn"))]
        print("test worker's signal state:", parent, signal.getsignal(signal.SIGINT))  # shown on failure
        child.send_signal(signal.SIGINT)
        assert child.wait(30) != 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
            left = Lab.find(state_dir=str(state_dir))  # a failed run leaves nothing behind either
            if left is not None:
                left.down()
    assert_nothing_left(sorted(seen_pids), seen_ports)
    assert not with_argument(str(state_dir))  # also proxies started but not yet saved
    assert (seen_net is not None) == use_netns
    assert net_leftovers(seen_net) == []


def test_pod_kill_drain_and_restart(tmp_path):
    with Lab.up(LabOptions(proxies=("nginx",), tls=False, state_dir=str(tmp_path / "pods"))) as lab:

        async def sessions_by_pod() -> dict[str, list]:
            by_pod: dict[str, list] = {}
            for _ in range(9):
                ws = await open_session(lab.url("nginx"))
                by_pod.setdefault((await whoami(ws))["pod"], []).append(ws)
            return by_pod

        async def closed_code(ws) -> int | None:
            try:
                await echo_once(ws, timeout=5)
            except ConnectionClosed as exc:
                return exc.rcvd.code if exc.rcvd else 1006
            return None

        async def scenario() -> None:
            by_pod = await sessions_by_pod()
            assert set(by_pod) == {"pod-0", "pod-1", "pod-2"}
            old_pid = lab.pod("pod-1").pid
            await asyncio.to_thread(lab.kill_pod, "pod-1")  # crash: SIGKILL
            assert not is_alive(old_pid)
            assert {await closed_code(ws) for ws in by_pod["pod-1"]} == {1006}
            assert {await closed_code(ws) for ws in by_pod["pod-0"]} == {None}
            for _ in range(6):  # ingress-nginx retries the next pod: new sessions still work
                me, _ = await ask(lab, "nginx")
                assert me["pod"] != "pod-1"
            restarted = await asyncio.to_thread(lab.start_pod, "pod-1")
            assert restarted.pid != old_pid and restarted.port == lab.pod("pod-1").port
            await asyncio.to_thread(lab.stop_pod, "pod-0")  # SIGTERM: the pod drains with 1001
            assert {await closed_code(ws) for ws in by_pod["pod-0"]} == {1001}
            await asyncio.to_thread(lab.start_pod, "pod-0")
            seen = {(await ask(lab, "nginx"))[0]["pod"] for _ in range(9)}
            assert seen == {"pod-0", "pod-1", "pod-2"}
            for sessions in by_pod.values():
                for ws in sessions:
                    await ws.close()

        asyncio.run(scenario())
        pids, ports = processes_and_ports(lab)
    assert_nothing_left(pids, ports)


def test_down_stops_every_member_with_sigterm_alone(tmp_path):
    """Members started inside ``signals_deferred`` (the reference echo, Envoy) used to inherit
    SIGTERM blocked through exec, so every ``down`` waited 5 s and SIGKILLed them. Now each
    member leaves on SIGTERM: ``down`` reports nothing killed."""
    with Lab.up(LabOptions(proxies=("nginx", "envoy"), tls=False, state_dir=str(tmp_path / "sigterm"))) as lab:
        reference_pid = lab.state.reference.pid
        blocked = Path(f"/proc/{reference_pid}/status").read_text().split("SigBlk:")[1].split()[0]
        assert int(blocked, 16) & ((1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGINT - 1))) == 0
        notes = lab.down()
    assert notes == []
