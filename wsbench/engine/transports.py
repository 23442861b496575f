"""Transports: open a WebSocket session on a dialled socket and move its bytes.

Three implementations behind one function signature ``open(session, ctx) -> phases``:

* ``picows``: a Cython client, chosen by measurement for the hot path
  (``bench/bench_engine.py``), with the compiled listener of ``_fastpath.pyx``.
* ``lean`` (``wsbench.engine.lean``): our own protocol on the loop's transport, for
  idle-heavy runs (least memory per session).
* ``websockets``: used for permessage-deflate, which the others do not implement.

All time the phases the same way: DNS and TCP in :func:`~wsbench.engine.dial.dial`,
TLS by the timed ``SSLObject``, HTTP from the end of TLS (or TCP) to the 101.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from picows import WSListener, WSMsgType, WSTransport, ws_connect
from picows.api import WSHandshakeError

from wsbench.engine.dial import UpgradeFailure, classify_error, dial, tls_done_ns, upgrade_phases
from wsbench.engine.lean import open_lean

try:  # the compiled listener (setup.py); the pure-Python _Listener below when not built
    from wsbench.engine._fastpath import FastListener
except ImportError:  # pragma: no cover - depends on the build
    FastListener = None

if TYPE_CHECKING:
    from wsbench.engine.session import Session
    from wsbench.engine.worker import WorkerContext
    from wsbench.scenario import Scenario

__all__ = ["open_picows", "open_websockets", "open_lean", "choose_transport", "hot_path", "idle_heavy",
           "LEAN_MAX_RATE", "Opener"]

Opener = Callable[["Session", "WorkerContext"], Awaitable[dict[str, int]]]
_monotonic_ns = time.monotonic_ns
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


def choose_transport(scenario: Scenario) -> Opener:
    """The opener for a scenario's ``transport`` setting.

    ``auto``: ``websockets`` for permessage-deflate; ``lean`` for idle-heavy runs, where
    memory and opening cost per session matter and per-message CPU hardly does (5.3 vs
    12.2 KiB per idle session, 0.29 vs 0.34 ms per open, ~1.4x the CPU per message:
    bench/bench_engine.py); ``picows`` with the compiled listener otherwise.
    """
    name = scenario.transport
    if name == "websockets" or (name == "auto" and scenario.deflate):
        return open_websockets
    if scenario.deflate:
        raise ValueError(f"transport {name} cannot do permessage-deflate")
    if name == "lean" or (name == "auto" and idle_heavy(scenario)):
        return open_lean
    return open_picows


def hot_path(opener: Opener, *, fast_listener: bool = True) -> str:
    """Which code handles each message: ``compiled`` (the C listener) or ``python``."""
    if opener is open_picows and FastListener is not None and fast_listener:
        return "compiled"
    return "python"


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

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.on_message = session.on_message
        self.close_code: int | None = None
        self.close_reason = ""
        self.fragments: bytearray | None = None
        self.upgraded_ns = 0  # when the 101 was parsed (0: not upgraded)

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.upgraded_ns = _monotonic_ns()

    def on_ws_frame(self, transport: WSTransport, frame: Any) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            if frame.fin:
                self.on_message(frame.get_payload_as_bytes(), _monotonic_ns())
            else:
                self.fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type is _CONT:
            if self.fragments is not None:
                self.fragments += frame.get_payload_as_memoryview()
                if frame.fin:
                    data, self.fragments = bytes(self.fragments), None
                    self.on_message(data, _monotonic_ns())
        elif msg_type is _CLOSE:
            answer_close(self, transport, frame)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        code = self.close_code
        if code == 0:  # a close frame without a code
            code = 1005
        self.session.on_disconnect(code, self.close_reason)


async def open_picows(session: Session, ctx: WorkerContext) -> dict[str, int]:
    """Open ``session`` with picows; return its upgrade phases (ns)."""
    endpoint = ctx.endpoint
    start = _monotonic_ns()
    sock, dns_ns, tcp_ns = await dial(endpoint, source=ctx.source_for(session.index),
                                      timeout=ctx.scenario.connect_timeout)
    binary = ctx.scenario.message_type == "binary"
    listener: Any
    if FastListener is not None and ctx.fast_listener:
        listener = FastListener(session, binary=binary, size=ctx.scenario.message_size,
                                answer_close=answer_close)
    else:
        listener = _Listener(session)
    try:
        async with asyncio.timeout(ctx.scenario.connect_timeout):  # no extra Task (wait_for)
            transport, _ = await ws_connect(
                lambda: listener,
                endpoint.url,
                socket_factory=lambda _url: sock,
                ssl_context=ctx.ssl_context,
                websocket_handshake_timeout=ctx.scenario.connect_timeout,
                extra_headers=ctx.request_headers or None,
                enable_auto_ping=ctx.scenario.ping_interval is not None,
                auto_ping_idle_timeout=ctx.scenario.ping_interval or 20.0,
                auto_ping_reply_timeout=ctx.scenario.ping_interval or 20.0,
                max_redirects=0,
                max_frame_size=max(ctx.scenario.message_size * 2, 1 << 20),
                read_buffer_init_size=ctx.read_buffer_size,
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
    if ctx.scenario.subprotocols:
        offered = transport.response.headers.get("Sec-WebSocket-Protocol")
        ctx.note_subprotocol(offered)
    msg_type = _BINARY if binary else _TEXT
    send_message = functools.partial(transport.send, msg_type)  # no Python frame per send

    def close(code: int) -> None:
        transport.send_close(_close_code(code))

    session.on_open(send_message, close, lambda: transport.disconnect(False))
    return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)


def _close_code(code: int) -> Any:
    from picows import WSCloseCode

    return WSCloseCode(code)


async def open_websockets(session: Session, ctx: WorkerContext) -> dict[str, int]:
    """Open ``session`` with the websockets library (permessage-deflate capable)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    endpoint = ctx.endpoint
    start = _monotonic_ns()
    sock, dns_ns, tcp_ns = await dial(endpoint, source=ctx.source_for(session.index),
                                      timeout=ctx.scenario.connect_timeout)
    try:
        ws = await connect(
            endpoint.url,
            sock=sock,
            ssl=ctx.ssl_context if endpoint.secure else None,
            server_hostname=endpoint.host if endpoint.secure else None,
            additional_headers=ctx.request_headers or None,
            subprotocols=list(ctx.scenario.subprotocols) or None,  # type: ignore[arg-type]
            compression="deflate" if ctx.scenario.deflate else None,
            open_timeout=ctx.scenario.connect_timeout,
            ping_interval=ctx.scenario.ping_interval,
            ping_timeout=ctx.scenario.ping_interval,
            close_timeout=ctx.scenario.reply_timeout,
            max_size=max(ctx.scenario.message_size * 2, 1 << 20),
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
    done = _monotonic_ns()
    tls_end = tls_done_ns(ws.transport) if endpoint.secure else 0
    if ctx.scenario.subprotocols:
        ctx.note_subprotocol(ws.subprotocol)
    binary = ctx.scenario.message_type == "binary"

    async def quietly(coro: Awaitable[None]) -> None:
        try:
            await coro
        except ConnectionClosed:  # the session's end is reported by receive()
            pass

    def send_message(data: bytes) -> None:
        payload: bytes | str = data if binary else data.decode("ascii")
        ctx.spawn(quietly(ws.send(payload)))

    def close(code: int) -> None:
        ctx.spawn(quietly(ws.close(code)))

    async def receive() -> None:
        try:
            async for message in ws:
                data = message if isinstance(message, bytes) else message.encode()
                session.on_message(data, _monotonic_ns())
        except ConnectionClosed:
            pass
        received = ws.protocol.close_rcvd
        if received is not None:
            session.on_disconnect(received.code, received.reason)
        else:
            session.on_disconnect(None, "no close frame")

    session.on_open(send_message, close, lambda: ws.transport.abort())
    ctx.spawn(receive())
    return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)
