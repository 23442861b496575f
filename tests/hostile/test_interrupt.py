"""Ctrl-C against peers that hold wsbench up: it stops within a second even while upgrades
are pending (a server that never answers), and a second Ctrl-C exits at once when the
sessions will not close (a server that never reads the close) — the Result written each time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import HostileServer
from tests.utils import UNIT, wait_until

WSBENCH = [sys.executable, "-m", "wsbench"]
SESSIONS = 6


@pytest.mark.parametrize(("behaviour", "presses"), [("silent", 1), ("not_reading", 2)])
def test_ctrl_c_stops_at_once(hostile: HostileServer, tmp_path: Path, behaviour: str, presses: int) -> None:
    process = subprocess.Popen(
        [*WSBENCH, "run", "--url", hostile.url(behaviour), "--sessions", str(SESSIONS), "--processes", "2",
         "--duration", "60", "--connect-timeout", "30", "--reply-timeout", "20", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, cwd=tmp_path,
    )
    try:
        def measuring() -> bool:  # both workers have written a shard: every session is under way
            return len(list(tmp_path.glob("*/shards/*/worker-*.json"))) == 2

        wait_until(measuring, 30, what="both workers measuring")
        pressed = time.monotonic()
        for press in range(presses):
            if press:
                time.sleep(0.2)  # the first Ctrl-C could not close the sessions: the server never reads
            os.killpg(process.pid, signal.SIGINT)  # what a terminal does: the whole group
        stdout, stderr = process.communicate(timeout=30 * UNIT)
        took = time.monotonic() - pressed
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert took < 1.0 * UNIT + 1.5, took  # the workers within a second; the runner writes the Result
    assert "Traceback" not in stderr
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    result = json.loads((run_dir / "result.json").read_text())
    assert result["complete"] is False
    (target,) = result["targets"].values()
    if behaviour == "silent":
        assert target["upgrade_failures"] == {"cancelled": SESSIONS}
    else:
        assert target["sessions"]["opened"] == SESSIONS
        assert target["drop_causes"] == {"aborted": SESSIONS}
        assert target["messages"]["sent"] > 0
