"""The reference echo's lab mode (``refecho.py --serve``): many connections at once, bounded.

A real subprocess and real sockets (the websockets sync client and a raw socket).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect

from tests.utils import UNIT, wait_until
from wsbench.engine import refecho
from wsbench.engine.calibrate import RunProbe


@contextlib.contextmanager
def serving(tmp_path: Path, *, max_connections: int = 256, read_timeout_s: float = 30) -> Iterator[str]:
    """``refecho.py --serve`` on 127.0.0.1; its URL (killed afterwards: it runs until killed)."""
    port_file = tmp_path / "port"
    process = subprocess.Popen(
        [sys.executable, "-I", "-S", refecho.__file__, "--serve", "--host", "127.0.0.1", "--port-file",
         str(port_file), "--max-connections", str(max_connections), "--read-timeout-s", f"{read_timeout_s:g}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: port_file.exists() or process.poll() is not None, 10, what="the port file")
        assert process.poll() is None, "the reference echo exited"
        yield f"ws://127.0.0.1:{int(port_file.read_text())}/"
        assert process.poll() is None  # it runs until killed
    finally:
        process.kill()
        process.wait(10)


def test_serves_many_connections_at_once_and_says_who_it_is(tmp_path):
    with serving(tmp_path) as url, contextlib.ExitStack() as stack:
        sessions = [stack.enter_context(connect(url, open_timeout=5 * UNIT)) for _ in range(20)]
        for index, ws in enumerate(sessions):  # all open at once: a one-at-a-time echo would hang here
            ws.send(f"message {index}")
        for index, ws in enumerate(sessions):
            assert ws.recv(timeout=5 * UNIT) == f"message {index}"
        sessions[0].send(b"\x00" * 70_000)  # a 64-bit length frame
        assert sessions[0].recv(timeout=5 * UNIT) == b"\x00" * 70_000
        sessions[0].send("whoami")
        assert json.loads(sessions[0].recv(timeout=5 * UNIT)) == {"pod": refecho.REFERENCE_NAME}


def test_connections_beyond_the_bound_are_closed_and_reads_time_out(tmp_path):
    with serving(tmp_path, max_connections=2, read_timeout_s=2 * UNIT) as url:
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with connect(url, open_timeout=5 * UNIT) as one, connect(url, open_timeout=5 * UNIT) as two:
            with pytest.raises((InvalidHandshake, ConnectionClosed, OSError)):  # a third: closed at once
                with connect(url, open_timeout=5 * UNIT) as third:
                    third.send("x")
                    third.recv(timeout=5 * UNIT)
            for idle in (one, two):  # an idle connection is closed by its read timeout
                with pytest.raises(ConnectionClosed):
                    idle.recv(timeout=10 * UNIT)
        with socket.create_connection(("127.0.0.1", port), timeout=5 * UNIT) as plain:
            plain.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # a proxy's health check
            assert plain.recv(1024).startswith(b"HTTP/1.1 200 OK")
        with connect(url, open_timeout=5 * UNIT) as again:  # the slots are free again
            again.send("back")
            assert again.recv(timeout=5 * UNIT) == "back"


def test_run_probe_to_a_given_url_starts_no_echo_of_its_own(tmp_path):
    with serving(tmp_path) as url:
        probe = RunProbe(max_s=30, url=url, interval_us=2370)
        assert probe._echo is None
        probe.start()
        try:
            window = time.monotonic() + 0.5  # a measurement window beside the probe, not a wait
            with connect(url, open_timeout=5 * UNIT) as ws:
                while time.monotonic() < window:
                    ws.send("x")
                    ws.recv(timeout=5 * UNIT)
        finally:
            summary = probe.stop()
        assert probe.failure is None
        assert summary is not None and summary["count"] > 10
