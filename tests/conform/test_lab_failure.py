"""``conform --lab`` knows when its own lab broke: a proxy killed outside wsbench mid-suite.

Every step is the real CLI in its own process: ``lab up``, ``conform --lab nginx,haproxy``
(nginx SIGKILLed by the test about a second into nginx's target, while the cases that pause
3 s, Autobahn's continueLater, still wait), ``lab down``.
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

from tests.lab.test_cli_trust import environment, wsbench
from tests.utils import UNIT, wait_until
from wsbench.lab import Lab, missing_proxies

PROXIES = ("nginx", "haproxy")
pytestmark = pytest.mark.skipif(bool(missing_proxies(PROXIES)), reason="; ".join(missing_proxies(PROXIES).values()))


def test_a_proxy_killed_mid_suite_marks_its_target_a_lab_failure(tmp_path: Path) -> None:
    up = wsbench(tmp_path, "lab", "up", "--proxies", ",".join(PROXIES), "--pods", "2", "--name", "cf")
    assert up.returncode == 0, up.stderr
    lab = Lab.find("cf", str(tmp_path / "cf"))
    assert lab is not None
    nginx = lab.proxy("nginx")
    out_dir, err_path = tmp_path / "conform", tmp_path / "conform.err"
    try:
        with open(err_path, "w") as err, open(tmp_path / "conform.out", "w") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "wsbench", "conform", "--lab", ",".join(PROXIES), "--lab-name", "cf",
                 "--cases", "1.*,2.*,5.*,6.*,7.*", "--wait", "3", "--out", str(out_dir)],
                stdout=out, stderr=err, text=True, env=environment(tmp_path), cwd=tmp_path)
            try:
                wait_until(lambda: "\nnginx: ws://" in err_path.read_text(), 120, what="nginx's target to start")
                time.sleep(1.0)  # the scenario under test: killed ~1 s into nginx's target
                os.kill(nginx.pid, signal.SIGKILL)
                killed_wall = time.time()
                process.wait(timeout=300 * UNIT)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        stdout, stderr = (tmp_path / "conform.out").read_text(), err_path.read_text()
        assert process.returncode == 0, stderr

        broken = json.loads((out_dir / "nginx.json").read_text())
        fine = json.loads((out_dir / "haproxy.json").read_text())
        pod = json.loads((out_dir / "pod.json").read_text())
        assert broken["infrastructure"]["ok"] is False, broken["infrastructure"]
        assert fine["infrastructure"]["ok"] is True and pod["infrastructure"]["ok"] is True
        [event] = [e for e in broken["infrastructure"]["events"] if not e["planned"]]
        assert event["member"] == "proxy nginx" and event["kind"] == "exited" and event["pid"] == nginx.pid
        assert 0 <= event["wall"] - killed_wall <= 1.5 * UNIT, (event, killed_wall)
        # the cases that ended after nginx was last seen well are not the controller's: INVALID
        verdicts = broken["summary"]["verdicts"]
        assert verdicts.get("INVALID", 0) > 0 and broken["infrastructure"]["invalid_cases"] == verdicts["INVALID"]
        began = broken["infrastructure"]["invalid_from_s"]
        assert began <= event["at_s"] and event["since_s"] == began
        assert all((c["verdict"] == "INVALID") == (c["ended_s"] >= began) for c in broken["cases"].values())
        invalid = [c for c in broken["cases"].values() if c["verdict"] == "INVALID"]
        assert all(c["reason"].startswith("lab failure, not the controller") for c in invalid)
        # what each measured is kept (whatever it was: a dropped connection can even look OK)
        assert all(c["observed"]["measured_verdict"] in {"OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED",
                                                         "FAILED"} for c in invalid)
        assert "INVALID" not in fine["summary"]["verdicts"] and "INVALID" not in pod["summary"]["verdicts"]

        matrix = json.loads((out_dir / "matrix.json").read_text())
        assert matrix["summary"]["nginx"]["lab_failure"] and "lab_failure" not in matrix["summary"]["haproxy"]
        assert not any("nginx" in c["broken"] or "nginx" in c["changed"]
                       for c in matrix["cases"].values() if c["outcomes"]["nginx"].startswith("INVALID"))
        nginx_row = next(line for line in stdout.splitlines() if line.startswith("nginx "))
        haproxy_row = next(line for line in stdout.splitlines() if line.startswith("haproxy "))
        assert "LAB FAILURE, NOT THE CONTROLLER" in nginx_row and "LAB FAILURE" not in haproxy_row
        assert f"nginx: lab failure, not the controller: proxy nginx (pid {nginx.pid}) exited" in stdout
        assert "a lab failure, not the controller" in stderr  # said the moment it happened
        html = (out_dir / "conform.html").read_text()
        assert "nginx: lab failure, not the controller" in html
        assert "haproxy: lab failure" not in html
    finally:
        down = wsbench(tmp_path, "lab", "down", "--name", "cf")
        assert down.returncode == 0, down.stderr
