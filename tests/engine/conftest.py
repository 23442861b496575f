"""Fixtures for engine tests: real servers on loopback, cleaned up by PID."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.utils import wait_until

HERE = Path(__file__).resolve().parent


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_echo_url(tls_material, tmp_path):
    """A wss:// echo server (websockets library) in its own process."""
    cert, key = tls_material
    ready = tmp_path / "tls-ready"
    process = subprocess.Popen(
        [sys.executable, str(HERE / "tls_echo.py"), str(cert), str(key), str(ready)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: ready.exists() or process.poll() is not None, what="the TLS echo server")
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        yield f"wss://127.0.0.1:{ready.read_text()}/"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
