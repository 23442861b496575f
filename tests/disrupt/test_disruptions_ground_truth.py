"""Faults injected at a known time on a known share of sessions; wsbench must count exactly.

Through the lab's nginx (3 pods, balanced): restarting or killing one pod hits exactly
the sessions that pod held (its own /stats says how many, just before).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wsbench.lab import missing_proxies
from wsbench.server.process import ServeOptions, start_server

WSBENCH = [sys.executable, "-m", "wsbench", "run", "-q", "--processes", "1"]
needs_nginx = pytest.mark.skipif(bool(missing_proxies(("nginx",))), reason="nginx not installed")


def _run(tmp_path, *args: str) -> dict:
    done = subprocess.run([*WSBENCH, *args, "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = tmp_path.glob("*/result.json")
    return json.loads(path.read_text())


@needs_nginx
@pytest.mark.parametrize(("kind", "code", "side"), [("pod-restart", "1001", "server"), ("pod-kill", "1006", "abnormal")])
def test_pod_fault_hits_exactly_the_sessions_on_that_pod(tmp_path, kind, code, side):
    result = _run(tmp_path, "--lab", "nginx", "--sessions", "30", "--ramp", "0", "--duration", "5",
                  "--rate", "20", "--disrupt", f"{kind}@2s:pod-1")
    target = result["targets"]["nginx"]
    (disruption,) = target["disruptions"]
    held = disruption["pod_sessions_before"]
    assert disruption["ok"] and disruption["kind"] == kind and 2.0 <= disruption["at_s"] < 2.5
    assert 1 <= held < 30  # nginx spread the 30 sessions; pod-1 had its share
    assert disruption["sessions_dropped"] == held
    assert disruption["closes_by_code"] == {code: held}
    assert target["closes"]["by_side"][side] == held
    assert disruption["recovered"] == held  # every dropped session worked again (nginx: next peer)
    assert disruption["recovery"]["count"] == held and disruption["recovery"]["p50"] > 0
    assert target["sessions"]["reconnected"] == held
    events = [json.loads(line) for line in (tmp_path.glob("*/events.jsonl").__next__()).read_text().splitlines()]
    assert [e["kind"] for e in events].count("disruption") == 1


def test_exec_disruption_runs_a_command_on_the_runs_clock(tmp_path):
    with start_server(ServeOptions(drain_s=1)) as server:
        result = _run(tmp_path, "--url", f"pod={server.url}", "--sessions", "6", "--ramp", "0",
                      "--duration", "4", "--no-reconnect", "--disrupt", f"exec@1.5s:kill -TERM {server.pid}")
    target = result["targets"]["pod"]
    (disruption,) = target["disruptions"]
    assert disruption["exit_code"] == 0 and 1.5 <= disruption["at_s"] < 2.0
    assert disruption["sessions_dropped"] == 6
    assert disruption["closes_by_code"] == {"1001": 6}  # the pod drained: going away
    assert target["sessions"]["dropped"] == 6
