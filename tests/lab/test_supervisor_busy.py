"""Busy is not hung: the supervisor's hang rule against a run that saturates the proxy.

The lab's nginx is given one worker of 24 connections (its config edited, then SIGHUP):
a run of 20 sessions fills it, and from then on nginx accepts no new connection, so the
supervisor's probe (a new upgrade + echo) gets no answer while the run's own sessions
echo on. Before the run's traffic counted as liveness, that proxy was "hung" after
``hang_s``. A proxy SIGSTOPped mid-run (all its processes, from the test) still is.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.utils import wait_until
from wsbench.cost.proc import session_members
from wsbench.engine.orchestrate import TrafficFeed
from wsbench.engine.runner import run_scenario
from wsbench.lab import Lab, LabOptions, get_spec
from wsbench.lab.supervisor import HUNG, STOPPED, Supervisor, pod_echoes
from wsbench.scenario import load_scenario

pytestmark = pytest.mark.skipif(get_spec("nginx").locate() is None, reason="needs nginx (wsbench lab install)")


@pytest.fixture(scope="module")
def nginx_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A lab whose nginx holds 24 connections at most (one worker)."""
    state_dir = tmp_path_factory.mktemp("lab")
    running = Lab.up(LabOptions(proxies=("nginx",), pods=2, alt_pods=1, tls=False, name="busy",
                                state_dir=str(state_dir)))
    try:
        [conf] = [p for p in state_dir.rglob("*.conf") if "worker_connections 16384" in p.read_text()]
        conf.write_text(conf.read_text().replace("worker_processes 2;", "worker_processes 1;")
                        .replace("worker_connections 16384;", "worker_connections 24;"))
        master = running.proxy("nginx").pid
        before = set(session_members(master)) - {master}
        os.kill(master, signal.SIGHUP)
        wait_until(lambda: len(set(session_members(master)) - {master}) == 1
                   and not (set(session_members(master)) & before), 20, what="nginx's one new worker")
        yield running
    finally:
        running.down()


def _scenario(lab: Lab, out: Path, seconds: int) -> object:
    url = lab.targets(tls=False)["nginx"]
    return load_scenario(None, {"targets": [f"nginx={url}"], "sessions": 20, "ramp": 0,
                                "duration": seconds, "mode": "rate", "rate": 20, "processes": 1,
                                "out": str(out)})


def _supervisor(lab: Lab) -> Supervisor:
    return Supervisor(lab, interval_s=0.25, probe_every_s=0.5, probe_timeout_s=1.0, hang_s=2.0)


def test_a_proxy_busy_with_the_run_is_not_hung(nginx_lab: Lab, tmp_path: Path) -> None:
    with _supervisor(nginx_lab) as watch:
        outcome = run_scenario(_scenario(nginx_lab, tmp_path, 9), watcher=TrafficFeed(watch))  # type: ignore[arg-type]
    target = outcome.result["targets"]["nginx"]
    # the proxy was full (not every session got in) and the ones inside echoed on
    assert 0 < target["sessions"]["opened"] < 20 and target["messages"]["received"] > 500, target
    # its probes failed past hang_s, more than once: the old rule would have called it hung
    assert watch.busy_not_hung >= 2, (watch.busy_not_hung, watch.events)
    assert not [e for e in watch.events if e.kind in (HUNG, STOPPED)], watch.events


def test_a_stopped_proxy_is_hung_even_while_its_run_goes_on(nginx_lab: Lab, tmp_path: Path) -> None:
    nginx = nginx_lab.proxy("nginx")
    stopped: list[int] = []
    seen: list[object] = []
    with _supervisor(nginx_lab) as watch:
        feed = TrafficFeed(watch)

        def stop_then_resume(shard_dir: Path) -> None:
            """SIGSTOP the whole proxy once its run echoes; SIGCONT once it is called hung."""
            try:
                wait_until(lambda: any(shard_dir.glob("worker-*.json")), 20, what="a shard")
                stopped.extend(session_members(nginx.pid))
                for pid in stopped:
                    os.kill(pid, signal.SIGSTOP)
                seen.extend(wait_until(lambda: [e for e in watch.events if e.kind == HUNG], 20, what="hung"))
            finally:
                for pid in stopped:
                    os.kill(pid, signal.SIGCONT)

        class StopWhenRunning:
            def target_started(self, target: str, shard_dir: Path) -> None:
                threading.Thread(target=stop_then_resume, args=(shard_dir,), daemon=True).start()
                feed.target_started(target, shard_dir)

            def event(self, target: str, kind: str, fields: dict[str, object]) -> None:
                feed.event(target, kind, fields)

            def target_finished(self, target: str, shards: list[dict[str, object]]) -> None:
                feed.target_finished(target, shards)

        run_scenario(_scenario(nginx_lab, tmp_path, 8), watcher=StopWhenRunning())  # type: ignore[arg-type]
    assert stopped, "the proxy was never stopped"
    hung = [e for e in watch.events if e.kind == HUNG]
    assert [e.member for e in hung] == ["proxy nginx"], watch.events
    assert "stood still" in hung[0].detail, hung[0].detail
    assert any(e.kind == STOPPED and e.member == "proxy nginx" for e in watch.events), watch.events
    assert not [e for e in watch.events if e.member.startswith("pod ")], watch.events


def test_a_pods_own_echo_count_is_its_liveness(nginx_lab: Lab) -> None:
    """A pod's evidence (``GET /stats``) grows with each echo, and is None when it is stopped."""
    pod = nginx_lab.state.pods[0]
    url = pod.url

    async def echo_once() -> None:
        async with websockets.connect(url) as ws:
            await ws.send("x")
            await ws.recv()

    before = asyncio.run(pod_echoes(url, timeout=2))
    assert before is not None
    asyncio.run(echo_once())
    assert asyncio.run(pod_echoes(url, timeout=2)) == before + 1
    os.kill(pod.pid, signal.SIGSTOP)
    try:
        assert asyncio.run(pod_echoes(url, timeout=0.5)) is None
    finally:
        os.kill(pod.pid, signal.SIGCONT)
