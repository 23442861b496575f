"""Transports: open a WebSocket session on a dialled socket and move its bytes.

One :class:`~wsbench.engine.contracts.Transport` class per kind, instantiated once per worker
(it owns what the worker's connections share), each declaring its ``name`` and ``hot_path``:

* :class:`PicowsTransport` (``picows``): a Cython client, chosen by measurement for the hot
  path (``bench/bench_engine.py``), with the compiled listener of ``_fastpath.pyx``.
* :class:`~wsbench.engine.lean.LeanTransport` (``lean``): our own protocol on the loop's
  transport, for idle-heavy runs (least memory per session).
* :class:`WebsocketsTransport` (``websockets``): used for permessage-deflate, which the
  others do not implement.

All time the phases the same way, with the injected clock: DNS and TCP in
:func:`~wsbench.engine.dial.dial`, TLS by the timed ``SSLObject``, HTTP from the end of TLS
(or TCP) to the 101.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from picows import WSListener, WSMsgType, WSTransport, ws_connect
from picows.api import WSHandshakeError

from wsbench.engine.contracts import Clock, ConnectSettings, Phases, SessionHooks, Spawn, Transport
from wsbench.engine.dial import UpgradeFailure, classify_error, tls_done_ns, upgrade_phases
from wsbench.engine.lean import LeanTransport
from wsbench.errors import ScenarioError
from wsbench.scenario import Scenario

try:  # the compiled listener (setup.py); the pure-Python _Listener below when not built
    from wsbench.engine._fastpath import FastListener
except ImportError:  # pragma: no cover - depends on the build
    FastListener = None

__all__ = ["PicowsTransport", "WebsocketsTransport", "LeanTransport", "choose_transport", "idle_heavy",
           "LEAN_MAX_RATE", "fast_listener_wanted"]

#: ``transport: auto`` picks ``lean`` in rate mode at up to this many messages/s per session
LEAN_MAX_RATE = 1.0
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONT = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE
#: Not a logging.Logger, so picows does not build a child Logger per connection
#: (~0.5 KiB and a few µs each); records still go to the "picows.client" logger.
_PICOWS_LOGGER = logging.LoggerAdapter(logging.getLogger("picows.client"))


def idle_heavy(scenario: Scenario) -> bool:
    """Few messages per session (rate mode, at most :data:`LEAN_MAX_RATE` per second)."""
    return scenario.mode == "rate" and scenario.rate <= LEAN_MAX_RATE


def choose_transport(scenario: Scenario) -> type[Transport]:
    """The transport class for a scenario's ``transport`` setting.

    ``auto``: ``websockets`` for permessage-deflate; ``lean`` for idle-heavy runs, where
    memory and opening cost per session matter and per-message CPU hardly does (5.3 vs
    12.2 KiB per idle session, 0.29 vs 0.34 ms per open, ~1.4x the CPU per message:
    bench/bench_engine.py); ``picows`` with the compiled listener otherwise.
    """
    name = scenario.transport
    if name == "websockets" or (name == "auto" and scenario.deflate):
        return WebsocketsTransport
    if scenario.deflate:
        raise ScenarioError("transport", f"{name} cannot do permessage-deflate")
    if name == "lean" or (name == "auto" and idle_heavy(scenario)):
        return LeanTransport
    return PicowsTransport


def fast_listener_wanted() -> bool:
    """The compiled picows listener unless ``WSBENCH_PURE_PYTHON=1`` forces the Python one."""
    return os.environ.get("WSBENCH_PURE_PYTHON", "") in ("", "0")


def answer_close(listener: Any, transport: WSTransport, frame: Any) -> None:
    """The server's close frame: note its code and reason, answer it, disconnect."""
    listener.close_code = int(frame.get_close_code())
    try:
        listener.close_reason = frame.get_close_reason() or ""
    except Exception:  # a close reason that is not UTF-8
        listener.close_reason = "<invalid utf-8>"
    if not transport.is_close_frame_sent:
        transport.send_close(frame.get_close_code())
    transport.disconnect()


class _Listener(WSListener):  # type: ignore[misc]
    """picows callbacks -> Session calls."""

    def __init__(self, session: SessionHooks, clock: Clock) -> None:
        super().__init__()
        self.session = session
        self.clock = clock
        self.on_message = session.on_message
        self.close_code: int | None = None
        self.close_reason = ""
        self.fragments: bytearray | None = None
        self.upgraded_ns = 0  # when the 101 was parsed (0: not upgraded)

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.upgraded_ns = self.clock()

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes(), self.clock())
            else:
                self.fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type is _CONT:
            if self.fragments is not None:
                self.fragments += frame.get_payload_as_memoryview()
                if frame.fin:
                    data, self.fragments = bytes(self.fragments), None
                    self.on_message(data, self.clock())
        elif msg_type is _CLOSE:
            answer_close(self, transport, frame)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        code = self.close_code
        if code == 0:  # a close frame without a code
            code = 1005
        self.session.on_disconnect(code, self.close_reason)


class PicowsTransport(Transport):
    """picows, with the compiled listener when it is built, wanted and the clock is the real one."""

    name = "picows"

    def __init__(self, settings: ConnectSettings, *, loop: asyncio.AbstractEventLoop,
                 clock: Clock = time.monotonic_ns, on_subprotocol: Callable[[str | None], None],
                 spawn: Spawn, fast_listener: bool | None = None) -> None:
        super().__init__(settings, loop=loop, clock=clock, on_subprotocol=on_subprotocol, spawn=spawn)
        wanted = fast_listener_wanted() if fast_listener is None else fast_listener
        #: the compiled listener reads CLOCK_MONOTONIC itself: only with the real clock
        self.fast_listener = FastListener is not None and wanted and clock is time.monotonic_ns
        self.hot_path = "compiled" if self.fast_listener else "python"
        headers = list(settings.headers)
        if settings.subprotocols:  # picows has no subprotocol option: offered as a header
            headers.append(("Sec-WebSocket-Protocol", ", ".join(settings.subprotocols)))
        self.request_headers = headers
        self._msg_type = _BINARY if settings.binary else _TEXT

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` with picows; return its upgrade phases (ns)."""
        settings = self.settings
        endpoint = settings.endpoint
        start, sock, dns_ns, tcp_ns = await self.dial(session)
        listener: Any
        if self.fast_listener:  # reads and writes a FastPathSession's state (a Session is one)
            listener = FastListener(session, binary=settings.binary, size=settings.message_size,
                                    answer_close=answer_close)
        else:
            listener = _Listener(session, self.clock)
        try:
            async with asyncio.timeout(settings.connect_timeout):  # no extra Task (wait_for)
                transport, _ = await ws_connect(
                    lambda: listener,
                    endpoint.url,
                    socket_factory=lambda _url: sock,
                    ssl_context=settings.ssl_context,
                    websocket_handshake_timeout=settings.connect_timeout,
                    extra_headers=self.request_headers or None,
                    enable_auto_ping=settings.ping_interval is not None,
                    auto_ping_idle_timeout=settings.ping_interval or 20.0,
                    auto_ping_reply_timeout=settings.ping_interval or 20.0,
                    max_redirects=0,
                    max_frame_size=settings.max_size,
                    read_buffer_init_size=settings.read_buffer_size,
                    # uvloop's own transport: ~7 KiB less per session than aiofastnet's, and
                    # its TLS goes through SSLObject, which times the handshake
                    use_aiofastnet=False,
                    logger_name=_PICOWS_LOGGER,
                )
        except WSHandshakeError as exc:
            sock.close()
            status = getattr(getattr(exc, "response", None), "status", None)
            if status is not None:
                raise UpgradeFailure(f"http_{int(status)}", str(exc)[:160]) from exc
            raise UpgradeFailure("other", str(exc)[:160]) from exc
        except Exception as exc:
            sock.close()
            raise classify_error(exc) from exc
        except BaseException:  # cancelled: the run is stopping
            sock.close()
            raise
        # the 101 as picows parsed it (on_ws_connected), not when this task resumed: the
        # HTTP phase then holds no event-loop turn of the client (measured: 0.1-0.3 ms less)
        done = listener.upgraded_ns
        if not done:  # picows returns quietly when the peer hangs up before the 101
            raise UpgradeFailure("closed", "connection closed before the 101")
        tls_end = tls_done_ns(transport.underlying_transport) if endpoint.secure else 0
        if settings.subprotocols:
            self.on_subprotocol(transport.response.headers.get("Sec-WebSocket-Protocol"))
        send_message = functools.partial(transport.send, self._msg_type)  # no Python frame per send

        def close(code: int) -> None:
            transport.send_close(_close_code(code))

        session.on_open(send_message, close, lambda: transport.disconnect(False))
        return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)


def _close_code(code: int) -> Any:
    from picows import WSCloseCode

    return WSCloseCode(code)


class WebsocketsTransport(Transport):
    """The websockets library (permessage-deflate capable)."""

    name = "websockets"
    hot_path = "python"

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` with the websockets library; return its upgrade phases (ns)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        settings = self.settings
        endpoint = settings.endpoint
        clock = self.clock
        spawn = self.spawn
        start, sock, dns_ns, tcp_ns = await self.dial(session)
        try:
            ws = await connect(
                endpoint.url,
                sock=sock,
                ssl=settings.ssl_context if endpoint.secure else None,
                server_hostname=endpoint.host if endpoint.secure else None,
                additional_headers=list(settings.headers) or None,
                subprotocols=list(settings.subprotocols) or None,  # type: ignore[arg-type]
                compression="deflate" if settings.deflate else None,
                open_timeout=settings.connect_timeout,
                ping_interval=settings.ping_interval,
                ping_timeout=settings.ping_interval,
                close_timeout=settings.close_timeout,
                max_size=settings.max_size,
                user_agent_header="wsbench",
            )
        except InvalidStatus as exc:
            sock.close()
            raise UpgradeFailure(f"http_{exc.response.status_code}", str(exc)[:160]) from exc
        except Exception as exc:
            sock.close()
            raise classify_error(exc) from exc
        except BaseException:  # cancelled: the run is stopping
            sock.close()
            raise
        done = clock()
        tls_end = tls_done_ns(ws.transport) if endpoint.secure else 0
        if settings.subprotocols:
            self.on_subprotocol(ws.subprotocol)
        binary = settings.binary

        async def quietly(coro: Awaitable[None]) -> None:
            try:
                await coro
            except ConnectionClosed:  # the session's end is reported by receive()
                pass

        def send_message(data: bytes) -> None:
            payload: bytes | str = data if binary else data.decode("ascii")
            spawn(quietly(ws.send(payload)))

        def close(code: int) -> None:
            spawn(quietly(ws.close(code)))

        async def receive() -> None:
            try:
                async for message in ws:
                    data = message if isinstance(message, bytes) else message.encode()
                    session.on_message(data, clock())
            except ConnectionClosed:
                pass
            received = ws.protocol.close_rcvd
            if received is not None:
                session.on_disconnect(received.code, received.reason)
            else:
                session.on_disconnect(None, "no close frame")

        session.on_open(send_message, close, lambda: ws.transport.abort())
        spawn(receive())
        return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)
