"""A run that knows when its own lab broke: a proxy killed outside wsbench mid-run.

Every step is the real CLI in its own process: ``lab up``, ``run --lab``, ``gate``,
``lab down``; the report is looked at in headless Chromium.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lab.helpers import UNIT
from tests.lab.test_cli_trust import environment, gone, members, wsbench
from tests.report.browser import Browser, chromium_path
from wsbench.lab import Lab, get_spec

pytestmark = pytest.mark.skipif(
    get_spec("nginx").locate() is None or get_spec("haproxy").locate() is None,
    reason="needs nginx and HAProxy (wsbench lab install)",
)


def _poll(condition, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout * UNIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_proxy_killed_mid_run_is_a_lab_failure_not_the_controller(tmp_path: Path) -> None:
    up = wsbench(tmp_path, "lab", "up", "--proxies", "nginx,haproxy", "--pods", "2", "--no-tls", "--name", "sup")
    assert up.returncode == 0, up.stderr
    lab = Lab.find("sup", str(tmp_path / "sup"))
    assert lab is not None
    everyone = members(lab)
    nginx = lab.proxy("nginx")
    reports = tmp_path / "reports"
    run = subprocess.Popen(
        [sys.executable, "-m", "wsbench", "run", "--lab", "nginx,haproxy", "--lab-name", "sup",
         "--sessions", "20", "--duration", "10", "--mode", "rate", "--rate", "2", "--out", str(reports)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(tmp_path), cwd=tmp_path)
    try:
        # nginx is measured first: its target starts when its first progress line appears
        events = _poll(lambda: next(reports.glob("*/events.jsonl"), None), 60, "the run's events file")
        _poll(lambda: "session_opened" in events.read_text() or "opened" in events.read_text()
              or any(reports.glob("*/shards/nginx/*")), 60, "nginx's target to start")
        time.sleep(3)  # the scenario under test: killed ~3 s into the run, outside wsbench
        os.kill(nginx.pid, signal.SIGKILL)
        killed_wall = time.time()
        out, err = run.communicate(timeout=180 * UNIT)
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    try:
        assert run.returncode == 0, err
        result_path = next(reports.glob("*/result.json"))
        result = json.loads(result_path.read_text())
        broken, fine = result["targets"]["nginx"]["infrastructure"], result["targets"]["haproxy"]["infrastructure"]
        assert broken["ok"] is False and fine["ok"] is True, (broken, fine)
        [event] = [e for e in broken["events"] if not e["planned"]]
        assert event["member"] == "proxy nginx" and event["kind"] == "exited" and event["pid"] == nginx.pid
        # seen within the supervisor's period (0.5 s; 1 s of slack on a shared machine), and
        # its time is on the target's clock: t = 0 is the target's t0_unix_s
        assert 0 <= event["wall"] - killed_wall <= 1.5 * UNIT, (event, killed_wall)
        killed_at_s = killed_wall - result["targets"]["nginx"]["t0_unix_s"]
        assert 1.0 <= killed_at_s <= 6.0 and 0 <= event["at_s"] - killed_at_s <= 1.5 * UNIT, (event, killed_at_s)
        assert event["log_tail"], event
        assert "LAB FAILURE, NOT THE CONTROLLER: proxy nginx" in out
        assert "a lab failure, not the controller" in err  # said the moment it happened

        gate = wsbench(tmp_path, "gate", str(result_path))
        assert gate.returncode == 1, gate.stdout + gate.stderr
        assert "lab failure, not the controller" in gate.stdout and "proxy nginx" in gate.stdout

        report = result_path.parent / "report.html"
        binary = chromium_path()
        if binary is None:
            pytest.skip("chromium is not installed: the banner is not checked in a browser")
        with Browser(binary) as browser:
            page = browser.visit(report, screenshot=False)
            banner = browser.evaluate(report, "Array.from(document.querySelectorAll('.banner.lab-failure'))"
                                              ".map(b => b.innerText).join('\\n')")
        assert "nginx: lab failure, not the controller" in page.text
        assert "proxy nginx" in banner and "exited" in banner and "haproxy" not in banner
    finally:
        down = wsbench(tmp_path, "lab", "down", "--name", "sup")
    assert down.returncode == 0, down.stderr
    assert [(name, pid) for name, pid, _ in everyone if not gone(pid)] == []


def test_a_planned_pod_restart_is_verified_and_not_a_lab_failure(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    run = wsbench(tmp_path, "run", "--lab", "nginx", "--lab-name", "plan", "--sessions", "10", "--duration", "6",
                  "--mode", "rate", "--rate", "2", "--disrupt", "pod-restart@2s:pod-1", "--out", str(reports), "-q")
    assert run.returncode == 0, run.stderr
    target = json.loads(next(reports.glob("*/result.json")).read_text())["targets"]["nginx"]
    [record] = target["disruptions"]
    assert record["ok"] is True and "problems" not in record, record
    assert record["old_pid"] != record["new_pid"]
    assert 0 <= record["old_gone_s"] <= record["new_ready_s"] <= 15, record
    infrastructure = target["infrastructure"]
    assert infrastructure["ok"] is True, infrastructure
    # the old pod's exit was seen, and explained by the plan
    assert [e["planned"] for e in infrastructure["events"] if e["member"] == "pod pod-1"] == [
        "pod-restart@2s:pod-1"], infrastructure
