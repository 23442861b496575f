"""A worker process killed with SIGKILL mid-run: seen within a second, its sessions accounted
(dropped, cause ``worker_died``), the Result partial, exit code 3 (wsbench itself failed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.utils import UNIT, wait_until
from wsbench.server.process import ServeOptions, start_server

WSBENCH = [sys.executable, "-m", "wsbench"]
SESSIONS = 10


@pytest.fixture(scope="module")
def echo():
    with start_server(ServeOptions()) as server:
        yield server


@pytest.mark.parametrize("processes", [2, 1])
def test_a_killed_worker_is_seen_and_its_sessions_accounted(echo, tmp_path: Path, processes: int) -> None:
    process = subprocess.Popen(
        [*WSBENCH, "run", "--url", echo.url, "--sessions", str(SESSIONS), "--ramp", "0", "--rate", "5",
         "--duration", "8", "--processes", str(processes), "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
    )
    lines: list[tuple[float, str]] = []

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append((time.monotonic(), line.rstrip("\n")))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        def victim() -> int | None:  # worker 0's pid, once its shard shows every session open
            shards = list(tmp_path.glob("*/shards/*/worker-0.json"))
            if not shards:
                return None
            try:
                shard = json.loads(shards[0].read_text())
            except ValueError:  # being replaced right now
                return None
            return shard["pid"] if shard["sessions"]["opened"] == len(range(0, SESSIONS, processes)) else None

        pid = wait_until(victim, 30, what="worker 0 measuring")
        os.kill(pid, signal.SIGKILL)  # the worker is our child's child: its pid is from its shard
        killed = time.monotonic()
        process.wait(timeout=60 * UNIT)
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    said = [(at, line) for at, line in lines if "worker 0 died (killed by SIGKILL)" in line]
    assert said, lines
    assert said[0][0] - killed < 1.0 * UNIT + 0.25, said  # seen within a second (polled every 0.25 s)
    assert process.returncode == 3, lines
    assert lines[-1][1].startswith("wsbench: error: 1 worker process(es) died"), lines[-1]
    assert not any("Traceback" in line for _, line in lines)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    result = json.loads((run_dir / "result.json").read_text())
    assert result["complete"] is False
    (target,) = result["targets"].values()
    sessions, causes = target["sessions"], target["drop_causes"]
    held = len(range(0, SESSIONS, processes))  # worker 0's share, all open when it died
    assert sessions["opened"] == SESSIONS and causes.get("worker_died") == held, (sessions, causes)
    assert sessions["dropped"] == sum(causes.values())
    crashed = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()
               if '"worker_crashed"' in line]
    assert [(e["worker"], e["exitcode"], e["dropped"]) for e in crashed] == [(0, -signal.SIGKILL, held)]
