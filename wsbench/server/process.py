"""Start and stop the echo "pod" app (``wsbench serve``) as a real subprocess.

Tests' fixtures and the lab use this module; it imports neither asyncio nor websockets.
A server is started with ``subprocess.Popen(start_new_session=True)`` so that it survives
the shell job that started it and so that its whole process group (the parent and its
workers) can be killed at once; its real pid is kept.

    with start_server(ServeOptions(delay_ms=20)) as server:
        ...  # connect to server.url
        server.stats()["messages_echoed"]
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from wsbench.errors import LabError, UsageError

__all__ = ["ServeOptions", "ServerProcess", "start_server", "SENDABLE_CLOSE_CODES"]

#: Close codes an endpoint may put in a close frame (RFC 6455 §7.4, IANA registry):
#: 1004, 1005, 1006 and 1015 must never be sent.
SENDABLE_CLOSE_CODES = frozenset([1000, 1001, 1002, 1003, *range(1007, 1015), *range(3000, 5000)])
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # an HTTP token (RFC 9110)
_VISIBLE_ASCII = re.compile(r"^[\x21-\x7e]+$")
#: How long stop() waits beyond the drain period before it sends SIGKILL.
_STOP_MARGIN_S = 5.0


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``wsbench serve`` can be told; validated on construction (UsageError).

    ``netns`` is not a server option: the process is started inside
    ``ip netns exec NAME`` (the lab's per-pod network namespaces).
    """

    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 0
    pod_name: str | None = None
    delay_ms: float = 0
    upgrade_delay_ms: float = 0
    drain_s: float = 5
    processes: int = 1
    close_sessions: int = 0
    close_code: int = 1000
    close_after_messages: int = 1
    drop_every: int = 0
    ping_interval: float | None = None
    subprotocols: tuple[str, ...] = ()
    deflate: bool = True
    max_size: int = 16 * 2**20
    #: once the pod holds more than this many sessions, every echo is ``degrade_ms`` late (0: never)
    degrade_after: int = 0
    degrade_ms: float = 0
    netns: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "hosts", tuple(self.hosts))
        object.__setattr__(self, "subprotocols", tuple(self.subprotocols))
        problem = self._problem()
        if problem is not None:
            raise UsageError(f"serve: {problem}")

    def _problem(self) -> str | None:
        if not self.hosts or not all(isinstance(h, str) and h for h in self.hosts):
            return "--host: give at least one non-empty host"
        if not 0 <= self.port <= 65535:
            return f"--port: {self.port} is not in 0..65535"
        if self.pod_name is not None and not _VISIBLE_ASCII.match(self.pod_name):
            return f"--pod-name: {self.pod_name!r} must be visible ASCII without spaces"
        for name, value in (
            ("--delay-ms", self.delay_ms),
            ("--upgrade-delay-ms", self.upgrade_delay_ms),
            ("--drain-s", self.drain_s),
            ("--degrade-ms", self.degrade_ms),
        ):
            if not (math.isfinite(value) and value >= 0):
                return f"{name}: {value} must be a finite number >= 0"
        if not 1 <= self.processes <= 1024:
            return f"--processes: {self.processes} is not in 1..1024"
        if self.close_sessions < 0:
            return f"--close-sessions: {self.close_sessions} must be >= 0"
        if self.close_code not in SENDABLE_CLOSE_CODES:
            return (
                f"--close-code: {self.close_code} cannot be sent in a close frame "
                "(use 1000-1003, 1007-1014 or 3000-4999)"
            )
        if self.close_after_messages < 1:
            return f"--close-after-messages: {self.close_after_messages} must be >= 1"
        if self.degrade_after < 0:
            return f"--degrade-after: {self.degrade_after} must be >= 0 (0 = never)"
        if self.degrade_after and not self.degrade_ms:
            return "--degrade-after needs --degrade-ms (the latency to add)"
        if self.drop_every < 0:
            return f"--drop-every: {self.drop_every} must be >= 0 (0 = never)"
        if self.ping_interval is not None and not (
            math.isfinite(self.ping_interval) and self.ping_interval > 0
        ):
            return f"--ping-interval: {self.ping_interval} must be > 0 seconds or 'off'"
        for subprotocol in self.subprotocols:
            if not _TOKEN.match(subprotocol):
                return f"--subprotocol: {subprotocol!r} is not an HTTP token"
        if self.max_size < 1:
            return f"--max-size: {self.max_size} must be >= 1 byte"
        if self.netns is not None and not _VISIBLE_ASCII.match(self.netns):
            return f"netns: {self.netns!r} is not a namespace name"
        return None

    def to_args(self) -> list[str]:
        """The ``wsbench serve`` arguments for these options (without ``netns``)."""
        args: list[str] = []
        for host in self.hosts:
            args += ["--host", host]
        args += ["--port", str(self.port)]
        if self.pod_name is not None:
            args += ["--pod-name", self.pod_name]
        args += [
            "--delay-ms", _number(self.delay_ms),
            "--upgrade-delay-ms", _number(self.upgrade_delay_ms),
            "--drain-s", _number(self.drain_s),
            "--processes", str(self.processes),
            "--close-sessions", str(self.close_sessions),
            "--close-code", str(self.close_code),
            "--close-after-messages", str(self.close_after_messages),
            "--drop-every", str(self.drop_every),
            "--degrade-after", str(self.degrade_after),
            "--degrade-ms", _number(self.degrade_ms),
            "--ping-interval",
            "off" if self.ping_interval is None else _number(self.ping_interval),
        ]  # fmt: skip
        for subprotocol in self.subprotocols:
            args += ["--subprotocol", subprotocol]
        if not self.deflate:
            args.append("--no-deflate")
        args += ["--max-size", str(self.max_size)]
        return args


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class ServerProcess:
    """A running ``wsbench serve``; stop it with ``stop()`` or use it as a context manager."""

    def __init__(
        self,
        *,
        process: subprocess.Popen[bytes],
        options: ServeOptions,
        ready: dict[str, Any],
        log_path: str,
        workdir: str | None,
    ) -> None:
        self.process = process
        self.options = options
        self.pid: int = process.pid
        self.port: int = int(ready["port"])
        self.urls: list[str] = [str(url) for url in ready["urls"]]
        self.url: str = self.urls[0]
        self.pod_name: str = str(ready["pod"])
        self.log_path = log_path
        self._workdir = workdir  # removed by stop() (holds the ready file and default log)

    def __repr__(self) -> str:
        return f"<ServerProcess pod={self.pod_name} pid={self.pid} url={self.url}>"

    @property
    def returncode(self) -> int | None:
        """The exit code once the process has exited (negative: killed by that signal)."""
        return self.process.poll()

    def stats(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """``GET /stats`` over a real socket: counters summed over all worker processes."""
        host = _connectable(self.options.hosts[0])
        connection = http.client.HTTPConnection(host, self.port, timeout=timeout)
        try:
            connection.request("GET", "/stats")
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:
            raise LabError(f"{self.pod_name}: GET /stats failed: {exc}") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise LabError(f"{self.pod_name}: GET /stats answered {response.status}")
        stats: dict[str, Any] = json.loads(body)
        return stats

    def terminate(self, *, timeout: float | None = None) -> int:
        """SIGTERM (the pod drains), wait for the exit and return the exit code.

        Waits at most ``timeout`` (default: the drain period plus a margin); raises
        LabError if the process is still running then.
        """
        if self.process.poll() is None:
            _signal(self.pid, signal.SIGTERM)
        limit = self.options.drain_s + _STOP_MARGIN_S if timeout is None else timeout
        try:
            return self.process.wait(timeout=limit)
        except subprocess.TimeoutExpired as exc:
            raise LabError(
                f"{self.pod_name} (pid {self.pid}) still running {limit:g} s after SIGTERM"
            ) from exc

    def kill(self) -> None:
        """SIGKILL the process and its workers (its whole process group), then reap it."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # its own session: pgid == pid
            except (ProcessLookupError, PermissionError):
                _signal(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Terminate; kill if still alive after the drain period plus a margin. Idempotent."""
        try:
            if self.process.poll() is None:
                try:
                    self.terminate()
                except LabError:
                    self.kill()
        finally:
            if self._workdir is not None:
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def log_tail(self, lines: int = 20) -> str:
        """The last lines the process wrote (stdout and stderr)."""
        return _tail(self.log_path, lines)

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_server(
    options: ServeOptions, *, timeout: float = 10.0, log_path: str | None = None
) -> ServerProcess:
    """Start ``python -m wsbench serve`` and return once it is listening.

    Readiness is the ready file the server writes after it listens (and, with several
    processes, after every worker is serving). stdout and stderr go to ``log_path``
    (default: a file in a temporary folder removed by ``stop()``). Raises LabError with
    the process's last log lines if it exits or is not ready within ``timeout``.
    """
    workdir = tempfile.mkdtemp(prefix="wsbench-serve-")
    ready_path = os.path.join(workdir, "ready.json")
    log_path = log_path or os.path.join(workdir, "serve.log")
    argv = [
        sys.executable,
        "-m",
        "wsbench",
        "serve",
        *options.to_args(),
        "--ready-file",
        ready_path,
    ]
    if options.netns is not None:
        argv = ["ip", "netns", "exec", options.netns, *argv]
    try:
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
    except OSError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise LabError(f"cannot start {argv[0]}: {exc}") from exc
    try:
        ready = _wait_ready(process, ready_path, log_path, timeout)
    except BaseException:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return ServerProcess(
        process=process, options=options, ready=ready, log_path=log_path, workdir=workdir
    )


def _wait_ready(
    process: subprocess.Popen[bytes], ready_path: str, log_path: str, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(ready_path):  # written atomically (tmp + rename)
            with open(ready_path, encoding="utf-8") as file:
                ready: dict[str, Any] = json.load(file)
            return ready
        if process.poll() is not None:
            raise LabError(
                f"wsbench serve exited with code {process.returncode} before it was ready:\n"
                + _tail(log_path, 20)
            )
        if time.monotonic() >= deadline:
            raise LabError(f"wsbench serve not ready within {timeout:g} s:\n" + _tail(log_path, 20))
        try:  # returns early if the process exits
            process.wait(timeout=0.005)
        except subprocess.TimeoutExpired:
            pass


def _tail(path: str, lines: int) -> str:
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 16384))
            text = file.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _connectable(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
