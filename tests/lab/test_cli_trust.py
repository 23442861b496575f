"""The lab you can trust, driven as a user drives it: every command a separate process.

Members outlive ``lab up``; ``lab status`` tells the truth with distinct exit codes;
``lab down`` returns only when everything is gone; named labs; header-based routing.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab.conftest import installed
from tests.lab.helpers import UNIT, net_leftovers
from wsbench.lab import ALT_HEADER, ALT_HEADER_VALUE, Lab, get_spec
from wsbench.lab.health import probe_echo
from wsbench.lab.probe import open_session, whoami
from wsbench.lab.procs import is_alive, session_members

pytestmark = pytest.mark.skipif(get_spec("nginx").locate() is None, reason="needs nginx (wsbench lab install)")
ROOT = Path(__file__).resolve().parents[2]


def environment(lab_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env.pop("WSBENCH_LAB_NAME", None)
    env["WSBENCH_LAB_DIR"] = str(lab_root)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def wsbench(lab_root: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wsbench", *args], capture_output=True, text=True,
                          timeout=timeout * UNIT, env=environment(lab_root), cwd=lab_root, check=False)


def members(lab: Lab) -> list[tuple[str, int, int]]:
    state = lab.state
    assert state.reference is not None  # every lab has its reference echo
    return ([(name, p.pid, p.start_time) for name, p in state.proxies.items()]
            + [(p.name, p.pid, p.start_time) for p in state.pods]
            + [("reference", state.reference.pid, state.reference.start_time)])


def gone(pid: int) -> bool:
    """Not running, not even a zombie, and no process left in its session."""
    return not Path(f"/proc/{pid}").exists() and not session_members(pid)


@pytest.fixture(scope="module")
def seven(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Lab]]:
    """Every installed must-work proxy, started by ``wsbench lab up`` in its own process."""
    root = tmp_path_factory.mktemp("labs")
    up = wsbench(root, "lab", "up", "--proxies", ",".join(installed()), "--pods", "2", "--name", "trust")
    assert up.returncode == 0, up.stderr
    lab = Lab.find("trust", str(root / "trust"))
    assert lab is not None
    try:
        yield root, lab
    finally:
        down = wsbench(root, "lab", "down", "--name", "trust")
        assert down.returncode == 0, down.stderr


def test_every_member_outlives_lab_up_and_status_says_healthy(seven: tuple[Path, Lab]) -> None:
    root, lab = seven
    time.sleep(5)  # the behaviour under test: still running 5 s after `lab up` exited
    dead = [(name, pid) for name, pid, started in members(lab) if not is_alive(pid, started)]
    assert dead == [], [Path(p.log_file).read_text()[-2000:] for p in lab.state.proxies.values()]

    async def echo_all() -> list[str | None]:
        urls = [u for p in lab.state.proxies.values() for u in (p.url, p.wss_url) if u]
        return await asyncio.gather(*(probe_echo(u, ca_file=lab.ca_file, timeout=10 * UNIT) for u in urls))

    assert [problem for problem in asyncio.run(echo_all()) if problem] == []
    status = wsbench(root, "lab", "status", "--json", "--name", "trust")
    assert status.returncode == 0, status.stdout + status.stderr
    data = json.loads(status.stdout)
    assert data["health"] == "healthy"
    assert {name: p["state"] for name, p in data["proxies"].items()} == dict.fromkeys(installed(), "healthy")
    assert {p["name"]: p["state"] for p in data["pods"]} == dict.fromkeys(["pod-0", "pod-1", "alt-0"], "healthy")
    assert data["reference"]["state"] == "healthy" and data["reference"]["pid"] == lab.state.reference.pid
    assert data["header_routing"] == {"header": f"{ALT_HEADER}: {ALT_HEADER_VALUE}", "cannot": []}


async def _pod(lab: Lab, proxy: str, header: bool) -> str:
    headers = {ALT_HEADER: ALT_HEADER_VALUE} if header else None
    async with open_session(lab.url(proxy), ca_file=lab.ca_file, headers=headers, timeout=10 * UNIT) as ws:
        return str((await whoami(ws))["pod"])


@pytest.mark.parametrize("proxy", [name for name in installed() if get_spec(name).header_routing])
def test_header_routing_reaches_the_alt_pods_20_of_20(seven: tuple[Path, Lab], proxy: str) -> None:
    _, lab = seven

    async def both() -> tuple[list[str], list[str]]:
        # concurrently: Envoy holds each closed downstream connection for its
        # delayed_close_timeout (1 s by default), so 40 sessions one after the other took 40 s
        routed = await asyncio.gather(*(_pod(lab, proxy, True) for _ in range(20)))
        plain = await asyncio.gather(*(_pod(lab, proxy, False) for _ in range(20)))
        return list(routed), list(plain)

    routed, plain = asyncio.run(both())
    assert routed == ["alt-0"] * 20
    assert all(pod in ("pod-0", "pod-1") for pod in plain), plain


@pytest.mark.skipif(get_spec("envoy").locate() is None, reason="needs Envoy")
def test_envoy_hot_restart_from_another_process_survives_it(seven: tuple[Path, Lab]) -> None:
    """`lab reload envoy` starts the next epoch; it must outlive that command too."""
    root, lab = seven
    if "envoy" not in lab.state.proxies:
        pytest.skip("Envoy is not in the lab")
    reload = wsbench(root, "lab", "reload", "envoy", "--name", "trust")
    assert reload.returncode == 0, reload.stderr
    after = Lab.find("trust", str(root / "trust"))
    assert after is not None
    envoy = after.proxy("envoy")
    assert envoy.generation == 1 and envoy.pid != lab.proxy("envoy").pid
    time.sleep(3)  # the behaviour under test: the new epoch still runs after `lab reload` exited
    assert is_alive(envoy.pid, envoy.start_time), Path(envoy.log_file).read_text()[-2000:]
    assert asyncio.run(probe_echo(envoy.url, ca_file=None, timeout=10 * UNIT)) is None


def test_status_exit_codes_and_down_leaves_no_member(tmp_path: Path) -> None:
    none = wsbench(tmp_path, "lab", "status", "--name", "nothing")
    assert none.returncode == 4 and "no lab 'nothing' is up" in none.stderr
    bad = wsbench(tmp_path, "lab", "status", "--no-such-option")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    up = wsbench(tmp_path, "lab", "up", "--proxies", "nginx", "--pods", "1", "--no-tls", "--name", "codes")
    assert up.returncode == 0, up.stderr
    lab = Lab.find("codes", str(tmp_path / "codes"))
    assert lab is not None
    pids = members(lab)
    try:
        os.kill(lab.pod("pod-0").pid, signal.SIGKILL)
        status = wsbench(tmp_path, "lab", "status", "--name", "codes", "--json")
        assert status.returncode == 1, status.stdout + status.stderr
        data = json.loads(status.stdout)
        pod = next(p for p in data["pods"] if p["name"] == "pod-0")
        assert data["health"] == "degraded" and pod["state"] == "dead"
        assert any("ready pod=pod-0" in line for line in pod["log_tail"])
        text = wsbench(tmp_path, "lab", "status", "--name", "codes")
        assert text.returncode == 1 and "pod pod-0 is dead" in text.stdout
        assert lab.state.reference is not None
        os.kill(lab.state.reference.pid, signal.SIGKILL)  # the reference echo is checked like a pod
        text = wsbench(tmp_path, "lab", "status", "--name", "codes")
        assert text.returncode == 1 and "the reference echo is dead" in text.stdout, text.stdout
    finally:
        down = wsbench(tmp_path, "lab", "down", "--name", "codes")
    assert down.returncode == 0, down.stderr
    assert [(name, pid) for name, pid, _ in pids if not gone(pid)] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="--netns needs root")
def test_down_of_a_netns_lab_leaves_no_member_namespace_or_veth(tmp_path: Path) -> None:
    proxies = ",".join(name for name in ("nginx", "envoy") if get_spec(name).locate())
    up = wsbench(tmp_path, "lab", "up", "--proxies", proxies, "--pods", "2", "--no-tls", "--netns",
                 "--name", "ns")
    assert up.returncode == 0, up.stderr
    lab = Lab.find("ns", str(tmp_path / "ns"))
    assert lab is not None and lab.state.net is not None
    pids, net = members(lab), lab.state.net
    down = wsbench(tmp_path, "lab", "down", "--name", "ns")
    assert down.returncode == 0, down.stderr
    assert [(name, pid) for name, pid, _ in pids if not gone(pid)] == []
    assert net_leftovers(net) == []


def test_named_labs_side_by_side(tmp_path: Path) -> None:
    for name in ("a", "b"):
        up = wsbench(tmp_path, "lab", "up", "--proxies", "nginx", "--pods", "1", "--no-tls", "--name", name)
        assert up.returncode == 0, up.stderr
    try:
        run = wsbench(tmp_path, "run", "--lab", "nginx", "--lab-name", "a", "--sessions", "2",
                      "--duration", "1", "--out", str(tmp_path / "reports"), "-q")
        assert run.returncode == 0, run.stderr
        result = json.loads(next((tmp_path / "reports").glob("*/result.json")).read_text())
        assert result["lab"]["name"] == "a"
        a = Lab.find("a", str(tmp_path / "a"))
        assert a is not None and result["targets"]["nginx"]["url"] == a.targets()["nginx"]
        assert wsbench(tmp_path, "lab", "down", "--name", "b").returncode == 0
        assert wsbench(tmp_path, "lab", "status", "--name", "a").returncode == 0
        assert wsbench(tmp_path, "lab", "status", "--name", "b").returncode == 4
        wrong = wsbench(tmp_path, "run", "--lab", "haproxy", "--lab-name", "a", "--duration", "1")
        assert wrong.returncode == 2 and "lab 'a' runs nginx" in wrong.stderr
    finally:
        wsbench(tmp_path, "lab", "down", "--name", "a")
        wsbench(tmp_path, "lab", "down", "--name", "b")


def readme_lab_commands() -> str:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## The lab: real ingress proxies"):]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


@pytest.mark.skipif(any(get_spec(n).locate() is None for n in ("nginx", "haproxy", "envoy")),
                    reason="needs nginx, HAProxy and Envoy")
def test_the_readme_lab_section_runs_as_written(tmp_path: Path) -> None:
    env = environment(tmp_path)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    script = "set -euo pipefail\n" + readme_lab_commands()
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=tmp_path, env=env,
                          timeout=300 * UNIT, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (tmp_path / "compare.html").is_file()
    assert "lab 'default' is down" in done.stdout
    assert not (tmp_path / "default" / "state.json").exists()
