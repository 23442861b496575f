"""Fixtures: third-party echo servers, ``wsbench serve`` pods and a misbehaving test
proxy as real processes on 127.0.0.0/8, stopped by PID.

Each server script prints ``LISTENING <port>`` once its socket is bound; reading
that line is the synchronisation (no sleeps). Every process is terminated (then
killed) by its own PID when the fixture ends, also when a test failed.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.utils import UNIT
from wsbench.server.process import ServeOptions, ServerProcess
from wsbench.server.process import start_server as start_pod

SERVERS = Path(__file__).resolve().parents[1] / "servers"
NODE_DIR = SERVERS / "node"


def server_command(name: str) -> list[str]:
    """The command line of a test server; skips with the reason when it cannot run here."""
    python = [sys.executable]
    if name == "websockets":
        return [*python, str(SERVERS / "websockets_echo.py")]
    if name == "bad":
        return [*python, str(SERVERS / "bad_echo.py")]
    if name == "aiohttp":
        pytest.importorskip("aiohttp", reason="aiohttp is not installed (pip install aiohttp)")
        return [*python, str(SERVERS / "aiohttp_echo.py")]
    if name == "tornado":
        pytest.importorskip("tornado", reason="tornado is not installed (pip install tornado)")
        return [*python, str(SERVERS / "tornado_echo.py")]
    if name == "node-ws":
        node = shutil.which("node")
        if node is None:
            pytest.skip("node is not installed: the Node `ws` server cannot run")
        if not (NODE_DIR / "node_modules" / "ws").is_dir():
            pytest.skip("npm package ws is missing: run `npm ci --prefix tests/servers/node`")
        return [node, str(NODE_DIR / "echo.js")]
    raise ValueError(name)


def start_server(command: list[str], log: Path) -> tuple[subprocess.Popen[str], str]:
    errors = log.open("w")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True,
                            stdin=subprocess.DEVNULL)
    errors.close()
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server is bound, or EOF if it died
    if not line.startswith("LISTENING "):
        stop(proc)
        raise RuntimeError(f"{command} did not start: {line!r}\n{log.read_text()[-2000:]}")
    return proc, f"ws://127.0.0.1:{int(line.split()[1])}/"


@contextlib.contextmanager
def serving(command: list[str], log: Path) -> Iterator[str]:
    """A test server's URL while it runs; stopped by its PID afterwards, also on failure."""
    proc, url = start_server(command, log)
    try:
        yield url
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5 * UNIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def unit() -> float:
    """The time unit (s) every bound in these tests is a multiple of."""
    return UNIT


@pytest.fixture(scope="module")
def echo_server(request: pytest.FixtureRequest,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the server named by ``request.param`` (indirect parametrisation)."""
    name = request.param
    command = server_command(name)
    log = tmp_path_factory.mktemp(f"server-{name}") / "stderr.log"
    with serving(command, log) as url:
        yield url


@pytest.fixture(scope="module")
def websockets_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("server-websockets") / "stderr.log"
    with serving(server_command("websockets"), log) as url:
        yield url


@pytest.fixture(scope="module")
def deflate_server(request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the server named by ``request.param``, with permessage-deflate on."""
    name = request.param
    command = [*server_command(name), "--deflate"]
    log = tmp_path_factory.mktemp(f"server-{name}-deflate") / "stderr.log"
    with serving(command, log) as url:
        yield url


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ServerProcess]]:
    """Start ``wsbench serve`` pods: ``pods(**ServeOptions fields)``; all stopped at the end."""
    started: list[ServerProcess] = []
    folder = tmp_path_factory.mktemp("pods")

    def start(**options: object) -> ServerProcess:
        settings: dict[str, object] = {"drain_s": 0.5, **options}
        pod = start_pod(ServeOptions(**settings),  # type: ignore[arg-type]
                        log_path=str(folder / f"pod-{len(started)}.log"))
        started.append(pod)
        return pod

    try:
        yield start
    finally:
        for pod in started:
            pod.stop()


@pytest.fixture(scope="module")
def proxies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., str]]:
    """Start the test proxy (tests/servers/bad_proxy.py): ``proxies(upstream_url, *flags)``
    returns its URL (wss:// with ``--tls-cert``); all stopped at the end."""
    started: list[subprocess.Popen[str]] = []
    folder = tmp_path_factory.mktemp("proxies")

    def start(upstream: str, *flags: str) -> str:
        address = upstream.split("//", 1)[1].split("/", 1)[0]
        command = [sys.executable, str(SERVERS / "bad_proxy.py"), address, *flags]
        proc, url = start_server(command, folder / f"proxy-{len(started)}.log")
        started.append(proc)
        return url.replace("ws://", "wss://") if "--tls-cert" in flags else url

    try:
        yield start
    finally:
        for proc in started:
            stop(proc)
