"""The hostile server (``server.py``) as a fixture, and wsbench runs against it.

One ``wsbench run`` per transport measures every behaviour at once (one target each: the
behaviour is the URL's path), the three runs side by side in parallel, so the whole folder
stays short; each run's stderr, exit code and Result are kept for the tests to read.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.utils import UNIT

TRANSPORTS = ("picows", "lean", "websockets")
HERE = Path(__file__).resolve().parent
WSBENCH = [sys.executable, "-m", "wsbench"]


@dataclass
class HostileServer:
    port: int

    def url(self, behaviour: str, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/b/{behaviour}{query}"


@pytest.fixture(scope="package")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    """The hostile server in its own process (stopped by its PID at the end); its stderr goes
    to a file (a pipe nobody reads would fill and stop it)."""
    log = tmp_path_factory.mktemp("hostile-server") / "server.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, str(HERE / "server.py")], stdout=subprocess.PIPE,
                                   stderr=stderr, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # bounded: the server prints it at once or dies
        assert line.startswith("LISTENING "), (line, log.read_text())
        yield HostileServer(int(line.split()[1]))
    finally:
        process.kill()
        process.wait(10)


@dataclass
class Run:
    """One ``wsbench run``: what it said, how it ended, what it wrote, how long it took."""

    transport: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    result: dict[str, Any]
    run_dir: Path

    def target(self, name: str) -> dict[str, Any]:
        return self.result["targets"][name]

    def events(self, target: str) -> list[dict[str, Any]]:
        lines = (self.run_dir / "events.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e.get("target") == target]

    def worker_rss_mb(self, target: str) -> float:
        return max(w["max_rss_mb"] for w in self.result["generator"]["workers"] if w["target"] == target)


def run_wsbench(args: list[str], out: Path, transport: str, timeout: float) -> Run:
    """``wsbench run ARGS --transport T -q --out OUT``; bounded by ``timeout`` (s)."""
    started = time.monotonic()
    process = subprocess.run([*WSBENCH, "run", *args, "--transport", transport, "-q", "--out", str(out)],
                             capture_output=True, text=True, timeout=timeout, cwd=out)
    seconds = time.monotonic() - started
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    result = json.loads((run_dir / "result.json").read_text())
    return Run(transport, process.returncode, process.stdout, process.stderr, seconds, result, run_dir)


def run_all(make_args: Any, tmp: Path, timeout: float) -> dict[str, Run]:
    """The same run on each transport, in parallel (each in its own folder)."""
    def one(transport: str) -> Run:
        out = tmp / transport
        out.mkdir()
        return run_wsbench(make_args(transport), out, transport, timeout)

    with ThreadPoolExecutor(len(TRANSPORTS)) as pool:
        return dict(zip(TRANSPORTS, pool.map(one, TRANSPORTS), strict=True))


__all__ = ["TRANSPORTS", "HostileServer", "Run", "run_wsbench", "run_all", "UNIT"]
