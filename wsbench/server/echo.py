"""The echo "pod" app behind ``wsbench serve``: websockets' asyncio server on uvloop.

Each session echoes text and binary messages unchanged; ``whoami`` gets a JSON
description of the pod, the session and the upgrade request. Knobs make it a ground
truth for the client's measurements (``--delay-ms``, ``--upgrade-delay-ms``) and for
disruption checks (``--close-sessions``, ``--drop-every``, SIGTERM drains like a
Kubernetes pod). Plain HTTP: ``GET /stats`` (JSON counters summed over all worker
processes) and ``GET /healthz``.

Process model: ``run()`` binds the listening sockets once, then serves them itself
(one process) or forks N workers that share them (the per-process open-file limit caps
one process at ~20,000 sessions). Counters live in one shared anonymous mapping; each
process writes only its own row.

An echo's delay counts from when the app has the message, the moment an undelayed pod
would send it: two pods identical but for ``--delay-ms 2`` differ by exactly 2 ms (counted
from the bytes' arrival instead, the other pod's parsing, up to 0.4 ms on a slow spell of
this VM, hid inside the delay and the difference came out 1.6 ms). The upgrade delay counts
from when the request's first bytes were read. Both are scheduled on a
timerfd: asyncio's timers are not precise enough. uvloop keeps time in whole milliseconds
(``asyncio.sleep(0.020)`` measured 19.3 to 20.5 ms) and the selector loop rounds epoll
timeouts up to the next millisecond (20.24 ms at best). An idle process also wakes up late (0.1-0.3 ms in
this VM), so PreciseTimer wakes a little early and polls the loop for the rest. Measured
here with kernel receive timestamps at the client: an echo with ``--delay-ms 20`` leaves
0.2 ms (p50) after the delay, a 101 with ``--upgrade-delay-ms 50`` 0.5 ms (p50) after;
never early.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import http
import json
import logging
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import uvloop
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from wsbench.errors import LocalError
from wsbench.files import write_json_atomic
from wsbench.server.counters import (
    ABORTED,
    CLOSE_RECEIVED,
    CLOSE_SENT,
    DROPPED,
    ECHOED,
    OPEN,
    RECEIVED,
    TOTAL,
    Counters,
)
from wsbench.server.process import ServeOptions
from wsbench.server.timer import PreciseTimer

__all__ = [
    "run",
    "bind_sockets",
    "raise_open_file_limit",
    "Counters",
    "PreciseTimer",
    "EchoApp",
    "DRAIN_REASON",
    "CLOSE_REASON",
]

DRAIN_REASON = "pod draining"
CLOSE_REASON = "wsbench close-sessions"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_READY_TIMEOUT_S = 30.0
log = logging.getLogger("wsbench.server")


# --- the app ------------------------------------------------------------------------------------


class _Session:
    __slots__ = ("number", "close_at", "received", "echoed", "closing")

    def __init__(self, number: int, close_at: int) -> None:
        self.number = number
        self.close_at = close_at  # echo count after which the server closes; 0 = never
        self.received = 0
        self.echoed = 0
        self.closing = False


class _StampedConnection(ServerConnection):
    """Records when the upgrade request's first bytes were read, before websockets parses
    them: the time ``--upgrade-delay-ms`` counts from."""

    request_arrived_ns = 0

    def data_received(self, data: bytes) -> None:
        if not self.request_arrived_ns:
            self.request_arrived_ns = time.monotonic_ns()
        super().data_received(data)


class EchoApp:
    """Handlers for one process: sessions, the upgrade hooks and the plain HTTP endpoints."""

    def __init__(
        self,
        options: ServeOptions,
        *,
        pod_name: str,
        counters: Counters,
        timer: PreciseTimer,
    ) -> None:
        self.options = options
        self.pod_name = pod_name
        self.counters = counters
        self.timer = timer
        self.sessions_started = 0
        self._delay_ns = round(options.delay_ms * 1e6)
        self._upgrade_delay_ns = round(options.upgrade_delay_ms * 1e6)
        self._degrade_ns = round(options.degrade_ms * 1e6) if options.degrade_after else 0

    def _echo_delay_ns(self) -> int:
        """The delay of an echo now: ``--delay-ms``, plus ``--degrade-ms`` while the pod holds
        more than ``--degrade-after`` sessions."""
        if self._degrade_ns and self.counters.total(OPEN) > self.options.degrade_after:
            return self._delay_ns + self._degrade_ns
        return self._delay_ns

    # Upgrade hooks.

    async def process_request(
        self, connection: ServerConnection, request: Request
    ) -> Response | None:
        if "Upgrade" not in request.headers:
            return self._plain_http(connection, request)
        return None

    async def process_response(
        self, connection: ServerConnection, request: Request, response: Response
    ) -> None:
        response.headers["X-Wsbench-Pod"] = self.pod_name
        if (
            self._upgrade_delay_ns
            and isinstance(connection, _StampedConnection)
            and response.status_code == http.HTTPStatus.SWITCHING_PROTOCOLS
        ):
            # Sleep once the answer is built: after the wake-up only sending it is left
            # (building it after the sleep added 0.1-0.4 ms, measured).
            await self.timer.sleep_until(connection.request_arrived_ns + self._upgrade_delay_ns)

    def select_subprotocol(
        self, connection: ServerConnection, offered: Sequence[str]
    ) -> str | None:
        """The first of our subprotocols the client offers; none (not a 400) otherwise."""
        for subprotocol in self.options.subprotocols:
            if subprotocol in offered:
                return subprotocol
        return None

    def _plain_http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = request.path.split("?", 1)[0]
        if path == "/stats":
            stats = {"pod": self.pod_name, **self.counters.snapshot()}
            response = connection.respond(http.HTTPStatus.OK, json.dumps(stats) + "\n")
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        if path == "/healthz":
            return connection.respond(http.HTTPStatus.OK, "ok")
        if path == "/":
            return None  # websockets answers 426 Upgrade Required
        return connection.respond(http.HTTPStatus.NOT_FOUND, "not found\n")

    # Sessions.

    async def handle(self, ws: ServerConnection) -> None:
        options, counters = self.options, self.counters
        self.sessions_started += 1
        number = self.sessions_started
        session = _Session(
            number, options.close_after_messages if number <= options.close_sessions else 0
        )
        counters.add(OPEN)
        counters.add(TOTAL)
        queue: asyncio.Queue[tuple[int, str | bytes]] | None = None
        sender: asyncio.Task[None] | None = None
        try:
            if self._delay_ns or self._degrade_ns:
                queue = asyncio.Queue()
                sender = asyncio.create_task(self._send_delayed(ws, session, queue))
            async for message in ws:
                arrived_ns = time.monotonic_ns()  # where an undelayed pod would send
                counters.add(RECEIVED)
                session.received += 1
                if options.drop_every and session.received % options.drop_every == 0:
                    counters.add(DROPPED)
                    continue
                reply = self._whoami(ws, session) if message == "whoami" else message
                if queue is None:
                    await self._echo(ws, session, reply)
                else:
                    queue.put_nowait((arrived_ns + self._echo_delay_ns(), reply))
        except ConnectionClosed:
            pass
        finally:
            if sender is not None:
                if not session.closing:
                    sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
            await ws.wait_closed()
            self._count_close(ws)
            counters.add(OPEN, -1)

    async def _send_delayed(
        self, ws: ServerConnection, session: _Session, queue: asyncio.Queue[tuple[int, str | bytes]]
    ) -> None:
        """Send each echo at its arrival time plus the delay, in arrival order."""
        with contextlib.suppress(ConnectionClosed):
            while not session.closing:
                due_ns, reply = await queue.get()
                await self.timer.sleep_until(due_ns)
                await self._echo(ws, session, reply)

    async def _echo(self, ws: ServerConnection, session: _Session, reply: str | bytes) -> None:
        if session.closing:
            return
        self.counters.add(ECHOED)  # before sending: /stats never lags what a client saw
        try:
            await ws.send(reply)
        except ConnectionClosed:
            self.counters.add(ECHOED, -1)
            raise
        session.echoed += 1
        if session.echoed == session.close_at:
            session.closing = True
            await ws.close(self.options.close_code, CLOSE_REASON)

    def _whoami(self, ws: ServerConnection, session: _Session) -> str:
        request = ws.request
        assert request is not None
        headers: dict[str, str] = {}
        for name, value in request.headers.raw_items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return json.dumps(
            {
                "pod": self.pod_name,
                "pid": os.getpid(),
                "session": session.number,
                "peer": _host_port(ws.remote_address),
                "local": _host_port(ws.local_address),
                "path": request.path,
                "headers": headers,
                "subprotocol": ws.subprotocol,
            }
        )

    def _count_close(self, ws: ServerConnection) -> None:
        protocol = ws.protocol
        if protocol.close_sent is not None and protocol.close_rcvd_then_sent is not True:
            self.counters.count_close(CLOSE_SENT, protocol.close_sent.code)
        elif protocol.close_rcvd is not None:
            self.counters.count_close(CLOSE_RECEIVED, protocol.close_rcvd.code)
        else:
            self.counters.add(ABORTED)


def _host_port(address: Any) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# --- one serving process ------------------------------------------------------------------------


async def _serve(
    options: ServeOptions,
    sockets: Sequence[socket.socket],
    *,
    pod_name: str,
    counters: Counters,
    on_ready: Callable[[], None],
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked until handled here
    timer = PreciseTimer(loop)
    app = EchoApp(options, pod_name=pod_name, counters=counters, timer=timer)
    servers: list[Server] = []
    try:
        for sock in sockets:
            servers.append(
                await serve(
                    app.handle,
                    sock=sock,
                    process_request=app.process_request,
                    process_response=app.process_response,
                    select_subprotocol=app.select_subprotocol if options.subprotocols else None,
                    compression="deflate" if options.deflate else None,
                    ping_interval=options.ping_interval,
                    ping_timeout=20 if options.ping_interval is not None else None,
                    open_timeout=10 + options.upgrade_delay_ms / 1000,
                    close_timeout=max(options.drain_s, 1.0),
                    max_size=options.max_size,
                    create_connection=_StampedConnection,
                    backlog=4096,
                )
            )
        on_ready()
        await stop.wait()
        open_sessions = sum(len(server.connections) for server in servers)
        log.info("stop signal: draining %d sessions (1001 %s)", open_sessions, DRAIN_REASON)
        for server in servers:  # stops listening at once, then sends close 1001 to each session
            server.close(code=1001, reason=DRAIN_REASON)
        try:
            async with asyncio.timeout(options.drain_s):
                for server in servers:
                    await server.wait_closed()
        except TimeoutError:
            left = [c for server in servers for c in server.all_connections]
            log.info("drain period over: aborting %d sessions", len(left))
            for connection in left:
                connection.transport.abort()
    finally:
        timer.close()


# --- process management -------------------------------------------------------------------------


def bind_sockets(
    hosts: Sequence[str], port: int, *, attempts: int = 20
) -> tuple[list[socket.socket], int]:
    """Listen on every host on one port; port 0 picks a port free on all of them."""
    last_error: OSError | None = None
    for _ in range(attempts if port == 0 else 1):
        sockets: list[socket.socket] = []
        chosen = port
        try:
            for host in hosts:
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                sock = socket.create_server((host, chosen), family=family, backlog=4096)
                sockets.append(sock)
                chosen = sock.getsockname()[1]
            return sockets, chosen
        except OSError as exc:
            for sock in sockets:
                sock.close()
            last_error = exc
            # Only a port picked for the first host and taken on another host is retried.
            if not (port == 0 and sockets and exc.errno == errno.EADDRINUSE):
                raise LocalError(
                    f"serve: cannot listen on {host} port {chosen}: {exc.strerror or exc}"
                ) from exc
    raise LocalError(f"serve: no port free on all of {', '.join(hosts)}: {last_error}")


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    return soft


def run(options: ServeOptions, *, ready_file: str | None = None) -> int:
    """Serve until SIGTERM/SIGINT, drain, and return the exit code (0)."""
    raise_open_file_limit()
    pod_name = options.pod_name or f"pod-{os.getpid()}"
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)  # until a loop or handler owns them
    try:
        sockets, port = bind_sockets(options.hosts, options.port)
        try:
            urls = [f"ws://[{h}]:{port}" if ":" in h else f"ws://{h}:{port}" for h in options.hosts]
            counters = Counters(options.processes)

            def announce() -> None:
                _announce(pod_name, port, urls, ready_file)

            if options.processes == 1:
                uvloop.run(
                    _serve(
                        options, sockets, pod_name=pod_name, counters=counters, on_ready=announce
                    )
                )
                return 0
            return _Supervisor(options, sockets, pod_name, counters).run(announce)
        finally:
            for sock in sockets:
                sock.close()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _announce(pod_name: str, port: int, urls: list[str], ready_file: str | None) -> None:
    pid = os.getpid()
    print(f"wsbench serve: ready pod={pod_name} pid={pid} urls={','.join(urls)}", flush=True)
    if ready_file is not None:
        write_json_atomic(ready_file, {"pod": pod_name, "pid": pid, "port": port, "urls": urls}, compact=True)


class _Supervisor:
    """The parent of N workers: forks them after binding, forwards SIGTERM/SIGINT, reaps."""

    def __init__(
        self, options: ServeOptions, sockets: list[socket.socket], pod_name: str, counters: Counters
    ) -> None:
        self.options = options
        self.sockets = sockets
        self.pod_name = pod_name
        self.counters = counters
        self.workers: dict[int, int] = {}  # pid -> row
        self.stopping = False
        self.failure: str | None = None
        self.parent_pid = os.getpid()

    def run(self, announce: Callable[[], None]) -> int:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)
        ready_r, ready_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        for row in range(self.options.processes):
            pid = os.fork()
            if pid == 0:
                os.close(ready_r)
                self._worker(row, ready_w)  # never returns
            self.workers[pid] = row
        os.close(ready_w)
        for sock in self.sockets:  # only workers hold the listening sockets now
            sock.close()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        try:
            if self._wait_ready(ready_r):
                announce()
        finally:
            os.close(ready_r)
        self._reap()
        if self.failure is not None:
            raise LocalError(f"serve: {self.failure}")
        return 0

    def _worker(self, row: int, ready_w: int) -> None:
        code = 1
        try:
            for signum in _STOP_SIGNALS:  # still blocked; the worker's loop takes them over
                signal.signal(signum, signal.SIG_DFL)
            _die_with_parent(self.parent_pid)
            os.environ["UV_TCP_SINGLE_ACCEPT"] = "1"  # spread accepts over the workers
            self.counters.use_row(row)
            uvloop.run(
                _serve(
                    self.options,
                    self.sockets,
                    pod_name=self.pod_name,
                    counters=self.counters,
                    on_ready=lambda: _write_byte(ready_w),
                )
            )
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)

    def _on_stop_signal(self, signum: int, frame: object) -> None:
        self.stopping = True
        self._signal_workers(signal.SIGTERM)

    def _signal_workers(self, signum: int) -> None:
        for pid in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _wait_ready(self, ready_r: int) -> bool:
        """True once every worker serves; False if stopping or a worker died first."""
        pidfds = {os.pidfd_open(pid): pid for pid in self.workers}
        try:
            ready = 0
            deadline = time.monotonic() + _READY_TIMEOUT_S
            while ready < len(self.workers) and not self.stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._fail(f"workers not ready within {_READY_TIMEOUT_S:g} s")
                    return False
                readable, _, _ = select.select([ready_r, *pidfds], [], [], remaining)
                if ready_r in readable:
                    ready += len(os.read(ready_r, 64))
                exited = [pidfds[fd] for fd in readable if fd in pidfds]
                if exited and not self.stopping:
                    self._fail(f"worker pid {exited[0]} exited before it was ready")
                    return False
            return not self.stopping
        finally:
            for fd in pidfds:
                os.close(fd)

    def _reap(self) -> None:
        while self.workers:
            pid, status = os.wait()  # signal handlers run while this waits
            self.workers.pop(pid, None)
            code = os.waitstatus_to_exitcode(status)
            if code != 0 and not self.stopping:
                self._fail(f"worker pid {pid} exited with code {code}")

    def _fail(self, problem: str) -> None:
        if self.failure is None:
            self.failure = problem
            log.error("%s; stopping the other workers", problem)
        self.stopping = True
        self._signal_workers(signal.SIGTERM)


def _write_byte(fd: int) -> None:
    os.write(fd, b"r")


def _die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this worker when its parent dies (a SIGKILLed pod dies whole)."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
