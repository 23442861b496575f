"""What the engine's parts promise each other: a session, its worker, a transport.

    worker ──builds──> ConnectSettings, one Transport, the Sessions
    Session ──SessionHost──> its worker (clock, loop, recorder, events, sleep, open)
    Transport ──SessionHooks──> the session it opened (on_open, on_message, on_disconnect)

This module imports no other engine module but :mod:`~wsbench.engine.dial` (which imports
none): the session, the transports and the worker depend on it, never on each other's
types, so the engine's import graph has no cycle (tests/engine/test_contracts.py).

Time: every engine part reads it through the injected :data:`Clock` (``time.monotonic_ns``
unless a test passes its own). The compiled picows listener reads ``CLOCK_MONOTONIC`` in C,
the same clock; :class:`~wsbench.engine.transports.PicowsTransport` uses it only when the
clock is ``time.monotonic_ns``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from wsbench.engine.dial import dial, make_ssl_context
from wsbench.metrics.recorder import Recorder
from wsbench.protocol.url import WsUrl, parse_ws_url
from wsbench.scenario import Scenario

__all__ = ["Clock", "Phases", "Spawn", "SessionHooks", "FastPathSession", "SessionHost", "Cancellable",
           "ConnectSettings", "Transport"]

#: Monotonic nanoseconds (``time.monotonic_ns`` by default; tests pass a fake one).
Clock = Callable[[], int]
#: An upgrade's phases in ns: ``tcp``, ``http``, ``total`` and, when they happened, ``dns``, ``tls``.
Phases = dict[str, int]
#: Runs a helper coroutine as a task whose failure is reported (``WorkerContext.spawn``).
Spawn = Callable[[Coroutine[Any, Any, Any]], None]


class SessionHooks(Protocol):
    """What a transport calls on the session it opens.

    ``on_open`` once the 101 is in (before :meth:`Transport.open` returns; ``buffered()``:
    bytes written and not yet taken by the kernel; ``sync()``, when given: the transport
    writes back session state it holds, see :class:`FastPathSession`), then one
    ``on_message`` per data message, then exactly one ``on_disconnect``: the server's close
    code as sent (1005 for a close frame without one), or None when no close frame came (or
    its code was unreadable), and the cause in :mod:`wsbench.protocol.failures`' words.
    """

    @property
    def index(self) -> int:
        """The session's global index (chooses its source address)."""
        ...

    def on_open(self, send: Callable[[bytes], None], close: Callable[[int], None],
                abort: Callable[[], None], buffered: Callable[[], int] | None = None,
                sync: Callable[[], None] | None = None) -> None: ...

    def on_message(self, data: bytes, now_ns: int) -> None: ...

    def on_disconnect(self, code: int | None, reason: str, cause: str = "") -> None: ...


@runtime_checkable
class FastPathSession(SessionHooks, Protocol):
    """The session state the compiled picows listener (``_fastpath.pyx``) reads and writes
    itself for a matched closed-loop reply (what ``Session.on_message`` + ``send_next`` do).

    The listener holds ``outstanding`` (its one entry), ``max_seq``, ``messages_left``,
    ``last_send_ns`` and ``next_seq`` while on its fast path and writes them back before
    calling the session, and when the session calls the ``sync`` given to ``on_open``: the
    session calls it before it reads them anywhere but in ``on_message``."""

    recorder: Recorder
    outstanding: dict[int, int]
    closed_loop: bool
    finishing: bool
    max_seq: int
    messages_left: int
    last_send_ns: int
    next_seq: int

    def finish(self) -> None: ...


class Cancellable(Protocol):
    """A pending call (a loop's ``TimerHandle``, a :class:`~wsbench.engine.ticks.Tick`)."""

    def cancel(self) -> None: ...


class SessionHost(Protocol):
    """What a :class:`~wsbench.engine.session.Session` needs from its worker."""

    scenario: Scenario
    recorder: Recorder
    loop: asyncio.AbstractEventLoop
    make_message: Callable[[int, int], bytes]
    rng: random.Random
    stopping: bool  # the run is ending: open nothing more, finish

    @property
    def clock(self) -> Clock: ...

    def event(self, kind: str, /, **fields: Any) -> None: ...

    def redact(self, text: str) -> str:
        """``text`` with the run's secrets (credential headers, URL passwords) hidden."""
        ...

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the run stops first; True if the run goes on."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """Call ``callback`` in ``delay`` seconds: a session's next rate-mode send (the worker
        keeps them all on one loop timer, :class:`~wsbench.engine.ticks.Ticks`)."""
        ...

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` on the worker's transport (raises UpgradeFailure)."""
        ...


@dataclass(frozen=True)
class ConnectSettings:
    """Everything a transport needs to open a connection: one per worker."""

    endpoint: WsUrl
    ssl_context: ssl.SSLContext | None = None  # wss: a context whose handshakes are timed
    headers: tuple[tuple[str, str], ...] = ()  # the scenario's extra request headers
    subprotocols: tuple[str, ...] = ()  # offered in Sec-WebSocket-Protocol
    connect_timeout: float = 10.0  # per phase group: TCP, then TLS + HTTP
    close_timeout: float = 5.0
    ping_interval: float | None = None  # client pings; None: none
    deflate: bool = False  # offer permessage-deflate (websockets only)
    binary: bool = False  # data messages are binary frames (else text)
    message_size: int = 32
    max_message_size: int = 1 << 20  # the largest message or frame accepted from the server
    read_buffer_size: int = 2048
    source_addresses: tuple[str, ...] = ()  # local addresses, round-robin by session index

    @classmethod
    def of(cls, scenario: Scenario, url: str, *, clock: Clock = time.monotonic_ns) -> ConnectSettings:
        """The settings of ``scenario`` for ``url`` (UsageError if the URL is bad)."""
        endpoint = parse_ws_url(url)
        context = (make_ssl_context(ca_file=scenario.ca_file, insecure=scenario.insecure, clock=clock)
                   if endpoint.secure else None)
        return cls(
            endpoint=endpoint,
            ssl_context=context,
            headers=tuple(scenario.headers),
            subprotocols=tuple(scenario.subprotocols),
            connect_timeout=scenario.connect_timeout,
            close_timeout=scenario.reply_timeout,
            ping_interval=scenario.ping_interval,
            deflate=scenario.deflate,
            binary=scenario.message_type == "binary",
            message_size=scenario.message_size,
            max_message_size=scenario.max_message_size,
            read_buffer_size=max(2048, min(scenario.message_size + 64, 1 << 16)),
            source_addresses=tuple(scenario.source_addresses),
        )

    @property
    def max_size(self) -> int:
        """The largest message or frame accepted from the server (beyond it: close 1009)."""
        return self.max_message_size

    def source_for(self, index: int) -> str | None:
        """The local address session ``index`` binds (None: the kernel chooses)."""
        sources = self.source_addresses
        return sources[index % len(sources)] if sources else None


class Transport:
    """Opens sessions and moves their bytes; one instance per worker, owning what its
    connections share. Subclasses declare :attr:`name` (the Result's ``transport``) and
    :attr:`hot_path` (which code handles each message: ``compiled`` or ``python``)."""

    name: ClassVar[str] = ""
    hot_path: str = "python"

    def __init__(self, settings: ConnectSettings, *, loop: asyncio.AbstractEventLoop,
                 clock: Clock = time.monotonic_ns, on_subprotocol: Callable[[str | None], None],
                 spawn: Spawn) -> None:
        self.settings = settings
        self.loop = loop
        self.clock = clock
        self.on_subprotocol = on_subprotocol  # the subprotocol the server chose, per open
        self.spawn = spawn

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session``: its upgrade phases (ns), or UpgradeFailure."""
        raise NotImplementedError

    async def dial(self, session: SessionHooks, *, own_deadline: bool = False,
                   ) -> tuple[int, socket.socket, int, int]:
        """The start of an open (ns), the connected socket, the DNS and TCP times (ns).

        The lookup and the connect are bounded by ``connect_timeout`` each, unless the
        caller keeps the deadline itself (``own_deadline``: the lean transport, one for
        the whole open).
        """
        settings = self.settings
        start = self.clock()
        sock, dns_ns, tcp_ns = await dial(settings.endpoint, source=settings.source_for(session.index),
                                          timeout=None if own_deadline else settings.connect_timeout,
                                          clock=self.clock)
        return start, sock, dns_ns, tcp_ns

    def close(self) -> None:
        """The worker is done: stop what the transport runs on its own (timers)."""
