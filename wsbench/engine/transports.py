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

from picows import WSCloseCode, WSListener, WSMsgType, WSTransport, ws_connect
from picows.api import WSHandshakeError

from wsbench.engine.contracts import Clock, ConnectSettings, Phases, SessionHooks, Spawn, Transport
from wsbench.engine.dial import (
    UpgradeFailure,
    classify_error,
    ended_before_101,
    tcp_end,
    tls_done_ns,
    upgrade_phases,
)
from wsbench.engine.lean import LeanTransport
from wsbench.errors import LocalError
from wsbench.protocol.failures import (
    PROTOCOL_ERROR,
    close_code_in,
    close_problem,
    error_close_code,
    handshake_problem,
    library_error,
    protocol_error,
)

try:  # the compiled listener (setup.py); the pure-Python _Listener below when not built
    from wsbench.engine._fastpath import LISTENER_VERSION as _BUILT_VERSION
    from wsbench.engine._fastpath import FastListener
except ImportError:  # pragma: no cover - depends on the build (or a build older than the version)
    FastListener = None
    _BUILT_VERSION = 0
if _BUILT_VERSION != 3:  # a stale build (setup.py build_ext not rerun): the Python listener
    FastListener = None

__all__ = ["PicowsTransport", "WebsocketsTransport", "LeanTransport", "fast_listener_wanted"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONT = WSMsgType.CONTINUATION
_CLOSE = WSMsgType.CLOSE
#: Not a logging.Logger, so picows does not build a child Logger per connection
#: (~0.5 KiB and a few µs each); records still go to the "picows.client" logger.
_PICOWS_LOGGER = logging.LoggerAdapter(logging.getLogger("picows.client"))


def fast_listener_wanted() -> bool:
    """The compiled picows listener unless ``WSBENCH_PURE_PYTHON=1`` forces the Python one."""
    return os.environ.get("WSBENCH_PURE_PYTHON", "") in ("", "0")


def answer_close(listener: Any, transport: WSTransport, frame: Any) -> None:
    """The server's close frame (one picows let through): note its code and reason as sent,
    answer it (1002 when it is invalid), disconnect."""
    if listener.cause:  # the client already failed the connection: what the server says is moot
        return
    code, reason, problem = close_problem(frame.get_payload_as_bytes())
    listener.close_code = code
    listener.close_reason = reason
    listener.cause = protocol_error(problem) if problem else "server_close"
    if not transport.is_close_frame_sent:
        reply = PROTOCOL_ERROR if problem else (code or 1000)
        transport.send_close(WSCloseCode(reply))
    transport.disconnect()


def fail_connection(listener: Any, transport: WSTransport, cause: str) -> None:
    """The server broke the protocol (or the size limit) in a way picows lets through: close
    with the code of ``cause`` (1002, 1009), disconnect; the session drops with ``cause`` (the
    first one: frames picows had already parsed come after it)."""
    if listener.cause:
        return
    listener.cause = cause
    listener.fragments = None
    if not transport.is_close_frame_sent:
        transport.send_close(WSCloseCode(error_close_code(cause)))
    transport.disconnect()


def _drain_failure(transport: WSTransport) -> Any:
    """Await picows' disconnect, whose future holds the protocol error it failed on, so that
    the error is retrieved (no "Future exception was never retrieved")."""
    async def drain() -> None:
        try:
            await transport.wait_disconnected()
        except Exception:  # noqa: BLE001 - the peer's protocol error, already classed
            pass
    return drain()


class _Listener(WSListener):  # type: ignore[misc]
    """picows callbacks -> Session calls."""

    def __init__(self, session: SessionHooks, clock: Clock, *, max_size: int,
                 on_end: Callable[[Any, WSTransport], None]) -> None:
        super().__init__()
        self.session = session
        self.clock = clock
        self.on_message = session.on_message
        self.on_end = on_end
        self.max_size = max_size
        self.close_code: int | None = None
        self.close_reason = ""
        self.cause = ""
        self.fragments: bytearray | None = None
        self.upgraded_ns = 0  # when the 101 was parsed (0: not upgraded)

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.upgraded_ns = self.clock()

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            fail_connection(self, transport, protocol_error("reserved_bits"))
            return
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if self.fragments is not None:
                fail_connection(self, transport, protocol_error("unfinished_message"))
            elif frame.fin:
                self.on_message(frame.get_payload_as_bytes(), self.clock())
            else:
                self.fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type is _CONT:
            fragments = self.fragments
            if fragments is None:
                fail_connection(self, transport, protocol_error("unexpected_continuation"))
            elif len(fragments) + frame.payload_size > self.max_size:
                fail_connection(self, transport, "message_too_big")
            else:
                fragments += frame.get_payload_as_memoryview()
                if frame.fin:
                    data, self.fragments = bytes(fragments), None
                    self.on_message(data, self.clock())
        elif msg_type is _CLOSE:
            answer_close(self, transport, frame)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.on_end(self, transport)

    def pause_writing(self) -> None:  # the send high-water mark is the session's (Session._rate_tick)
        pass

    def resume_writing(self) -> None:
        pass


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
        self._log = _PicowsLog(spawn)
        _PICOWS_LOGGER.logger.addHandler(self._log)
        _PICOWS_LOGGER.logger.propagate = False  # its words for peer errors: classed, not printed

    def close(self) -> None:
        _PICOWS_LOGGER.logger.removeHandler(self._log)
        if not _PICOWS_LOGGER.logger.handlers:
            _PICOWS_LOGGER.logger.propagate = True

    def ended(self, listener: Any, transport: WSTransport) -> None:
        """``on_ws_disconnected``: the session's end as the vocabulary names it."""
        cause = listener.cause
        code = listener.close_code
        reason = listener.close_reason
        if not cause:
            handshake = transport.close_handshake
            sent = handshake.sent if handshake is not None else None
            if sent is not None and handshake.recv is None and int(sent.code) in _PICOWS_FAILURES:
                # picows failed the connection on a protocol error of the peer: its words
                reason = sent.reason or ""
                cause = library_error(reason)
                code = close_code_in(reason) if cause == protocol_error("bad_close_code") else None
                self.spawn(_drain_failure(transport))
            else:
                cause = tcp_end(transport.underlying_transport.get_extra_info("socket"))
                reason = "no close frame"
        elif cause == "server_close" and code is None:
            code = 1005  # a close frame without a code
        listener.session.on_disconnect(code, reason, cause)

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` with picows; return its upgrade phases (ns)."""
        settings = self.settings
        endpoint = settings.endpoint
        start, sock, dns_ns, tcp_ns = await self.dial(session)
        listener: Any
        if self.fast_listener:  # reads and writes a FastPathSession's state (a Session is one)
            listener = FastListener(session, binary=settings.binary, size=settings.message_size,
                                    answer_close=answer_close, fail=fail_connection, on_end=self.ended,
                                    max_size=settings.max_size)
        else:
            listener = _Listener(session, self.clock, max_size=settings.max_size, on_end=self.ended)
        spare = sock.dup()  # how the peer ended an upgrade picows returns from quietly (FIN, RST)
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
            spare.close()
            raise _handshake_failure(exc) from exc
        except Exception as exc:
            sock.close()
            failure = classify_error(exc)
            if failure.kind == "closed_before_101":
                failure = ended_before_101(spare)
            else:
                spare.close()
            raise failure from exc
        except BaseException:  # cancelled: the run is stopping
            sock.close()
            spare.close()
            raise
        # the 101 as picows parsed it (on_ws_connected), not when this task resumed: the
        # HTTP phase then holds no event-loop turn of the client (measured: 0.1-0.3 ms less)
        done = listener.upgraded_ns
        if not done:  # picows returns quietly when the peer hangs up before the 101
            raise ended_before_101(spare)
        spare.close()
        tls_end = tls_done_ns(transport.underlying_transport) if endpoint.secure else 0
        if settings.subprotocols:
            self.on_subprotocol(transport.response.headers.get("Sec-WebSocket-Protocol"))
        send_message = functools.partial(transport.send, self._msg_type)  # no Python frame per send

        def close(code: int) -> None:
            transport.send_close(WSCloseCode(code))

        session.on_open(send_message, close, lambda: transport.disconnect(False),
                        transport.underlying_transport.get_write_buffer_size,
                        listener.release if self.fast_listener else None)
        return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)


#: close codes picows sends when it fails a connection itself (its parser, its size limit)
_PICOWS_FAILURES = frozenset({1002, 1007, 1009})


def _handshake_failure(exc: Any) -> UpgradeFailure:
    """picows' handshake error in the vocabulary."""
    detail = str(exc)[:160]
    status = getattr(getattr(exc, "response", None), "status", None)
    if type(exc).__name__ == "WSInvalidStatusError" and status is not None:
        return UpgradeFailure(f"http_{int(status)}", detail)
    name = getattr(exc, "name", None)
    if name is not None:  # WSInvalidHeaderError, WSInvalidUpgradeError: which header
        return UpgradeFailure(handshake_problem(str(name)), detail)
    return UpgradeFailure("bad_response", detail)


class _PicowsLog(logging.Handler):
    """picows' log records: its words for a peer's protocol errors are dropped (the listener
    classes them); an exception from our own listener is a wsbench bug, reported as one."""

    def __init__(self, spawn: Spawn) -> None:
        super().__init__(logging.WARNING)
        self.spawn = spawn

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info is None and "WSListener" not in message and "failure" not in message:
            return  # "WS parser error: ...": the peer's fault, counted by class
        error = LocalError(f"picows: {message}")

        async def report() -> None:
            raise error

        self.spawn(report())


class WebsocketsTransport(Transport):
    """The websockets library (permessage-deflate capable)."""

    name = "websockets"
    hot_path = "python"

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` with the websockets library; return its upgrade phases (ns)."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        settings = self.settings
        endpoint = settings.endpoint
        clock = self.clock
        spawn = self.spawn
        start, sock, dns_ns, tcp_ns = await self.dial(session)
        made: list[Any] = []  # the connection, to read how the peer ended a failed upgrade
        connection_class = _connection_class()

        def make_connection(*args: Any, **kwargs: Any) -> Any:
            made.append(connection_class(*args, **kwargs))
            return made[-1]

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
                create_connection=make_connection,  # type: ignore[arg-type]
            )
        except BaseException as exc:
            sock.close()
            if not isinstance(exc, Exception):
                raise  # cancelled: the run is stopping
            failure = _websockets_failure(exc)
            lost = made[0].lost_exc if made else None
            if failure.kind == "closed_before_101" and isinstance(lost, ConnectionResetError):
                failure = UpgradeFailure("reset", "connection reset before the 101")
            raise failure from exc
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
                while True:  # bytes as they came: UTF-8 is not checked (as picows and lean)
                    session.on_message(await ws.recv(decode=False), clock())
            except ConnectionClosed:
                pass
            session.on_disconnect(*_websockets_end(ws))

        session.on_open(send_message, close, lambda: ws.transport.abort(), ws.transport.get_write_buffer_size)
        spawn(receive())
        return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)


@functools.cache
def _connection_class() -> type:
    """websockets' ClientConnection noting the raw payload of the peer's close frame and how the
    connection was lost, and failing the connection at once on the peer's protocol error (the
    library would wait ``close_timeout`` for the server to hang up)."""
    from websockets.asyncio.client import ClientConnection
    from websockets.frames import Opcode

    class Connection(ClientConnection):
        raw_close: bytes | None = None
        lost_exc: BaseException | None = None

        def __init__(self, protocol: Any, *args: Any, **kwargs: Any) -> None:
            super().__init__(protocol, *args, **kwargs)
            recv_frame = protocol.recv_frame

            def noting(frame: Any) -> None:
                if frame.opcode is Opcode.CLOSE and self.raw_close is None:
                    self.raw_close = bytes(frame.data)
                recv_frame(frame)

            protocol.recv_frame = noting

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.protocol.parser_exc is not None and self.transport is not None:
                self.transport.abort()  # failed by the library: our close frame is written

        def connection_lost(self, exc: Exception | None) -> None:
            self.lost_exc = exc
            super().connection_lost(exc)

    return Connection


def _websockets_failure(exc: Exception) -> UpgradeFailure:
    """websockets' handshake error in the vocabulary."""
    from websockets.exceptions import InvalidHeader, InvalidMessage, InvalidStatus, NegotiationError

    detail = f"{type(exc).__name__}: {exc}"[:160]
    if isinstance(exc, InvalidStatus):
        return UpgradeFailure(f"http_{exc.response.status_code}", detail)
    if isinstance(exc, InvalidHeader):  # InvalidUpgrade, InvalidHeaderValue: which header
        return UpgradeFailure(handshake_problem(f"{exc.name} {exc}"), detail)
    if isinstance(exc, NegotiationError):
        return UpgradeFailure(handshake_problem(str(exc)), detail)
    if isinstance(exc, InvalidMessage):  # no valid HTTP response: why
        cause = exc.__cause__
        if isinstance(cause, (EOFError, OSError, TimeoutError)):
            return classify_error(cause)
        return UpgradeFailure("bad_response", detail)
    return classify_error(exc)


def _websockets_end(ws: Any) -> tuple[int | None, str, str]:
    """``(code, reason, cause)`` of a websockets connection that ended."""
    raw = getattr(ws, "raw_close", None)
    if raw is not None:
        code, reason, problem = close_problem(raw)
        return code if code is not None or problem else 1005, reason, protocol_error(problem) if problem else "server_close"
    failure = ws.protocol.parser_exc
    if failure is not None and not isinstance(failure, EOFError):
        if type(failure).__name__ == "PayloadTooBig":
            return None, str(failure)[:160], "message_too_big"
        return None, str(failure)[:160], library_error(str(failure))
    lost = getattr(ws, "lost_exc", None)
    return None, "no close frame", "reset" if isinstance(lost, ConnectionResetError) else "eof"
