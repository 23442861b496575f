"""Secrets never leave: a credential header and a URL password given to wsbench appear in no
file and on no terminal — of ``run`` (also when the server echoes the header in its close
reason), ``conform``, ``gate``, ``report`` and ``merge``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.hostile.conftest import HostileServer
from wsbench.server.process import ServeOptions, start_server

WSBENCH = [sys.executable, "-m", "wsbench"]
TOKEN, PASSWORD = "T0PSECRET-t0ken-17", "PASSW0RD-4711"


def _wsbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WSBENCH, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_no_output_of_any_command_holds_a_secret(hostile: HostileServer, tmp_path: Path) -> None:
    terminal: list[str] = []
    echoing = hostile.url("close_echo_secret").replace("ws://", f"ws://alice:{PASSWORD}@")
    run = _wsbench("run", "--target", f"echoes={echoing}", "--header", f"Authorization: Bearer {TOKEN}",
                   "--sessions", "2", "--processes", "1", "--duration", "1", "--no-reconnect",
                   "--out", str(tmp_path / "runs"), "--gate", "--threshold", "sessions.dropped < 100",
                   "--junit", str(tmp_path / "run-junit.xml"), cwd=tmp_path)
    terminal += [run.stdout, run.stderr]
    assert run.returncode == 0, run.stderr
    (result,) = (tmp_path / "runs").glob("*/result.json")
    events = (result.parent / "events.jsonl").read_text()
    assert '"reason":"auth=***"' in events  # the close reason was recorded, the secret hidden
    for args in (["gate", str(result), "--junit", str(tmp_path / "gate-junit.xml"),
                  "--threshold", "sessions.dropped < 100"],
                 ["report", str(result), "-o", str(tmp_path / "report.html")],
                 ["merge", str(result), "-o", str(tmp_path / "merged")]):
        done = _wsbench(*args, cwd=tmp_path)
        terminal += [done.stdout, done.stderr]
        assert done.returncode == 0, (args, done.stderr)
    with start_server(ServeOptions()) as echo:
        url = echo.url.replace("ws://", f"ws://alice:{PASSWORD}@")
        conform = _wsbench("conform", url, "--cases", "1.1.1", "--out", str(tmp_path / "conform"),
                           "--junit", str(tmp_path / "conform-junit.xml"), cwd=tmp_path)
        terminal += [conform.stdout, conform.stderr]
        assert conform.returncode == 0, conform.stderr
        unreachable = _wsbench("conform", url.replace(str(echo.port), "9"), cwd=tmp_path)  # an error line
        terminal += [unreachable.stdout, unreachable.stderr]
        assert unreachable.returncode != 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"result.json", "events.jsonl", "report.html", "run-junit.xml",
                                       "gate-junit.xml", "conform.json", "conform-junit.xml"}
    for text in terminal + [p.read_text(errors="replace") for p in files]:
        assert TOKEN not in text and PASSWORD not in text
