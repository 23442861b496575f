"""The lean transport: a WebSocket client on the event loop's own transport, for idle-heavy runs.

Why: picows keeps ~9.8 KiB per idle connection at its smallest settings; the engine's target
is 8 KiB per idle session. Here a connection is the loop's transport (uvloop reads into one
shared per-loop buffer) plus one ``__slots__`` :class:`LeanProtocol`: the upgrade's request,
key and future are dropped at the 101, a partial frame is kept only while it is split across
reads, and there is no task or timer per connection. What the connections of one worker
share is in one :class:`LeanShared` (request template, size limit, masking keys drawn from
``os.urandom`` 4 KiB at a time, the clock, and the :class:`Keepalive`: one timer pings them
all), owned by the worker's :class:`LeanTransport`.

:meth:`LeanTransport.open` has the contract of :class:`~wsbench.engine.contracts.Transport`: DNS and
TCP timed by :func:`~wsbench.engine.dial.dial`, TLS by the context's timed ``SSLObject``,
HTTP until the 101; :class:`~wsbench.engine.dial.UpgradeFailure` kinds ``http_<status>``,
``closed``, ``timeout`` or those of ``classify_error``; then ``session.on_open``, one
``session.on_message`` per data message and exactly one ``session.on_disconnect`` (the
server's close code, 1005 for a close frame without one, None when no close frame came).

A connection's states (``LeanProtocol._state``)::

    CONNECTING --101--> UPGRADED --attach--> OPEN --client close--> CLOSING
    OPEN/CLOSING --server close, protocol error, abort--> CLOSED --connection_lost--> GONE

Frames only go out in OPEN (a close frame moves on to CLOSING or CLOSED). Server frames are
parsed inline in ``data_received``: a final unfragmented text or binary frame is handed over
at once; the rest (fragments, control frames, errors) in :meth:`LeanProtocol._frame`. A
protocol error sends close 1002, a message over the size limit close 1009; both end the
connection, reported as a drop (no close frame came from the server). Not done: UTF-8
checks of text messages, extensions (permessage-deflate: the ``websockets`` transport).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from wsbench.engine.contracts import Clock, ConnectSettings, Phases, SessionHooks, Spawn, Transport
from wsbench.engine.deadlines import Deadlines
from wsbench.engine.dial import UpgradeFailure, classify_error, tls_done_ns, upgrade_phases
from wsbench.errors import HandshakeParseError
from wsbench.protocol.failures import (
    close_problem,
    error_close_code,
    handshake_problem,
    protocol_error,
)
from wsbench.protocol.handshake import build_request, check_upgrade, new_key, parse_response

try:  # C, from the websockets dependency: ~3x faster than the pure one on a 32-byte message
    from websockets.speedups import apply_mask as _apply_mask
except ImportError:  # pragma: no cover - websockets built without its extension
    from wsbench.protocol.frames import apply_mask as _apply_mask

__all__ = ["LeanTransport", "LeanProtocol", "LeanShared", "Keepalive", "KEEPALIVE_PAYLOAD", "keepalive_slots",
           "KEEPALIVE_TURN_S"]

#: The payload of keepalive pings; only a pong carrying it answers one.
KEEPALIVE_PAYLOAD = b"wsbench-keepalive"
_KEY_POOL_BYTES = 4096  # masking keys drawn from os.urandom 1,024 at a time
#: Seconds between two turns of the keepalive (each pings its share of the connections)
KEEPALIVE_TURN_S = 0.25
_COLLECT_BYTES = 1 << 16  # a partial frame needing more than this is collected in a bytearray
_FIN_TEXT, _FIN_BINARY, _FIN_CLOSE, _FIN_PING, _FIN_PONG = 0x81, 0x82, 0x88, 0x89, 0x8A
_OPEN, _CLOSING, _CONNECTING, _UPGRADED, _CLOSED, _GONE = range(6)  # OPEN, CLOSING: parsing
_urandom = os.urandom


def _header(first: int, size: int) -> bytes:
    """First byte, MASK bit and the 7-, 16- or 64-bit length of a client frame."""
    if size < 126:
        return bytes((first, 0x80 | size))
    if size < 65536:
        return bytes((first, 0xFE)) + size.to_bytes(2, "big")
    return bytes((first, 0xFF)) + size.to_bytes(8, "big")


class LeanShared:
    """What the lean connections of one worker share (kept by its :class:`LeanTransport`)."""

    __slots__ = ("loop", "clock", "max_size", "keepalive", "offered", "_request_head", "_request_tail",
                 "_data_heads", "_data_first", "_pool", "_pos")

    def __init__(self, loop: asyncio.AbstractEventLoop, settings: ConnectSettings, *,
                 clock: Clock = time.monotonic_ns) -> None:
        self.loop = loop
        self.clock = clock
        self.max_size = settings.max_size
        interval = settings.ping_interval
        self.keepalive = Keepalive(loop, interval, slots=keepalive_slots(interval)) if interval else None
        extra: dict[str, str] = {"User-Agent": "wsbench"}
        spelled = {name.lower(): name for name in ("Host", "Upgrade", "Connection", "User-Agent",
                                                   "Sec-WebSocket-Version", "Sec-WebSocket-Protocol")}
        for name, value in settings.headers:
            lower = name.lower()
            if lower == "sec-websocket-key" or (lower == "sec-websocket-protocol" and settings.subprotocols):
                continue  # the key is ours; offered subprotocols come from the scenario below
            name = spelled.setdefault(lower, name)  # names are case-insensitive: one line each
            extra[name] = f"{extra[name]}, {value}" if name in extra and lower != "user-agent" else value
        if settings.subprotocols:
            extra["Sec-WebSocket-Protocol"] = ", ".join(settings.subprotocols)
        offered = extra.get("Sec-WebSocket-Protocol", "")
        self.offered = tuple(p.strip() for p in offered.split(",") if p.strip())
        endpoint = settings.endpoint
        mark = new_key()  # a template with a unique stand-in for each connection's key
        template = build_request(endpoint.host_header, endpoint.resource, key=mark, extra=extra)
        self._request_head, self._request_tail = template.split(mark.encode("ascii"), 1)
        self._data_first = _FIN_BINARY if settings.binary else _FIN_TEXT
        self._data_heads = tuple(bytes((self._data_first, 0x80 | n)) for n in range(126))
        self._pool = b""
        self._pos = 0

    def request(self, key: str) -> bytes:
        """The upgrade request carrying ``key``."""
        return self._request_head + key.encode("ascii") + self._request_tail

    def mask_key(self) -> bytes:
        """A fresh, unpredictable 4-byte masking key."""
        pos = self._pos
        if pos + 4 > len(self._pool):
            self._pool, pos = _urandom(_KEY_POOL_BYTES), 0
        self._pos = pos + 4
        return self._pool[pos:pos + 4]

    def frame(self, first: int, payload: bytes) -> bytes:
        """A masked client frame: ``first`` is FIN|opcode (e.g. 0x88 close, 0x89 ping)."""
        key = self.mask_key()
        return _header(first, len(payload)) + key + _apply_mask(payload, key)

    def data_frame(self, payload: bytes) -> bytes:
        """A masked final data frame of the scenario's type (the send hot path: inlined)."""
        pos = self._pos
        pool = self._pool
        if pos + 4 > len(pool):
            pool = self._pool = _urandom(_KEY_POOL_BYTES)
            pos = 0
        self._pos = pos + 4
        key = pool[pos:pos + 4]
        size = len(payload)
        if size < 126:
            return self._data_heads[size] + key + _apply_mask(payload, key)
        return _header(self._data_first, size) + key + _apply_mask(payload, key)


def keepalive_slots(interval: float) -> int:
    """Slots for pings every ``interval`` s: a turn every :data:`KEEPALIVE_TURN_S` (10 at least).

    With 10 slots, every 3 s a tenth of all sessions was pinged at once (10,000 pings from 6
    workers at 100k sessions, pings every 30 s): each burst stalled the whole 2-core machine
    for 100-250 ms, seen as the generator's loop lag (p99 148 ms) and in every RTT around it.
    """
    return max(10, round(interval / KEEPALIVE_TURN_S))


class Keepalive:
    """Pings every lean connection of one worker once per ``interval`` with one loop timer.

    Connections are spread over ``slots`` sets; every ``interval / slots`` seconds one set
    has its turn: a connection whose previous ping got no pong (one interval ago) is
    dropped (``on_disconnect(None, "ping timeout", "ping_timeout")``), the others are pinged. A connection
    in its closing handshake is not pinged; one still closing at its next turn (1-2
    intervals later: the server never answered the close) is dropped ("close timeout").
    """

    __slots__ = ("pings", "timeouts", "_loop", "_step", "_groups", "_turn", "_next_slot",
                 "_count", "_timer", "_due")

    def __init__(self, loop: asyncio.AbstractEventLoop, interval: float, *, slots: int = 10) -> None:
        if interval <= 0 or slots < 1:
            raise ValueError(f"keepalive needs interval > 0 and slots >= 1, got {interval}, {slots}")
        self.pings = 0  # pings sent
        self.timeouts = 0  # connections dropped for a missing pong (or a stuck close)
        self._loop = loop
        self._step = interval / slots
        self._groups: tuple[set[LeanProtocol], ...] = tuple(set() for _ in range(slots))
        self._turn = 0
        self._next_slot = 0
        self._count = 0
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0

    def __len__(self) -> int:
        return self._count

    def add(self, protocol: LeanProtocol) -> None:
        slot = self._next_slot
        self._next_slot = (slot + 1) % len(self._groups)
        self._groups[slot].add(protocol)
        self._count += 1
        if self._timer is None:
            self._due = self._loop.time() + self._step
            self._timer = self._loop.call_at(self._due, self._sweep)

    def discard(self, protocol: LeanProtocol) -> None:
        for members in self._groups:  # once per connection: no slot index kept per connection
            if protocol in members:
                members.remove(protocol)
                self._count -= 1
                return

    def close(self) -> None:
        """Stop the timer (connections added later start it again)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _sweep(self) -> None:
        members = self._groups[self._turn]
        self._turn = (self._turn + 1) % len(self._groups)
        for protocol in tuple(members):
            if protocol.keepalive_due():
                self.pings += 1
            elif protocol not in members:
                self.timeouts += 1
        if not self._count:
            self._timer = None
            return
        self._due = max(self._due + self._step, self._loop.time())
        self._timer = self._loop.call_at(self._due, self._sweep)


class _Opening:
    """What a connection needs only until the 101 (dropped then)."""

    __slots__ = ("request", "key", "head", "future", "connected_ns")

    def __init__(self, request: bytes, key: str, future: asyncio.Future[tuple[int, str | None]]) -> None:
        self.request = request
        self.key = key
        self.head = b""  # the response head while it is incomplete
        self.future = future  # -> (ns at the 101, the selected subprotocol)
        self.connected_ns = 0  # when the TCP connection was made (connection_made)


class LeanProtocol(asyncio.Protocol):
    """One client connection: upgrade, then frames in and out (see the module docstring)."""

    __slots__ = ("transport", "_shared", "_session", "_opening", "_state", "_buffer", "_needed",
                 "_fragments", "_close_code", "_close_reason", "_close_cause", "_pinged")

    def __init__(self, shared: LeanShared, opening: _Opening) -> None:
        self.transport: asyncio.Transport = None  # type: ignore[assignment]  # connection_made
        self._shared = shared
        self._session: SessionHooks | None = None  # from attach() until on_disconnect
        self._opening: _Opening | None = opening
        self._state = _CONNECTING
        self._buffer: bytes | bytearray = b""  # the start of a frame split across reads
        self._needed = 0  # bytes the bytearray _buffer must reach before parsing again
        self._fragments: bytearray | None = None  # a fragmented message being reassembled
        self._close_code: int | None = None  # from the server's close frame
        self._close_reason = ""
        self._close_cause = ""  # why the connection ends, once known (server_close, protocol_error:...)
        self._pinged = False  # a keepalive ping awaits its pong

    # --- called by the Session --------------------------------------------------------

    def send(self, payload: bytes) -> None:
        if self._state == _OPEN:
            self.transport.write(self._shared.data_frame(payload))

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the connection ends at the server's close."""
        if self._state == _OPEN:
            self._state = _CLOSING
            self.transport.write(self._shared.frame(_FIN_CLOSE, code.to_bytes(2, "big")))

    def abort(self) -> None:
        if self._state != _GONE and self.transport is not None:
            self._state = _CLOSED
            self.transport.abort()

    # --- called by LeanTransport.open and the Keepalive ------------------------------------------

    def attach(self, session: SessionHooks) -> None:
        """Hand the upgraded connection over to ``session`` (``on_open``), then go on."""
        self._session = session
        lost = self._state == _GONE  # the peer hung up between the 101 and now
        self._state = _CLOSING if lost else _OPEN  # CLOSING: frames are read, none is written
        session.on_open(self.send, self.close, self.abort, self.transport.get_write_buffer_size)
        keepalive = self._shared.keepalive
        if keepalive is not None and not lost:
            keepalive.add(self)
        if self._buffer:  # frames that came with or right after the 101
            self.data_received(b"")
        if lost:
            self._state = _GONE
            if self._close_cause:
                self._report(self._close_code, self._close_reason, self._close_cause)
            else:
                self._report(None, "no close frame", "eof")

    def abandon(self) -> None:
        """The upgrade failed or was cancelled: drop the connection, report nothing."""
        self._opening = None
        if self._state < _CLOSED and self.transport is not None:  # CLOSED: already closing
            self.transport.abort()
        if self._state != _GONE:
            self._state = _CLOSED

    def keepalive_due(self) -> bool:
        """The Keepalive's turn: True if a ping went out; a missing pong drops the connection."""
        if self._pinged:
            self._drop("ping timeout" if self._state == _OPEN else "close timeout")
            return False
        self._pinged = True  # in CLOSING: the next turn drops a close that never completed
        if self._state != _OPEN:
            return False
        self.transport.write(self._shared.frame(_FIN_PING, KEEPALIVE_PAYLOAD))
        return True

    # --- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport
        opening = self._opening
        if opening is not None:
            opening.connected_ns = self._shared.clock()
            self.transport.write(opening.request)
            opening.request = b""

    def data_received(self, data: bytes) -> None:
        if self._state > _CLOSING:
            self._before_open(data)
            return
        buffered = self._buffer
        if buffered:
            self._buffer = b""
            if type(buffered) is bytearray:  # a large frame being collected
                buffered += data
                if len(buffered) < self._needed:
                    self._buffer = buffered
                    return
                data = bytes(buffered)
            else:
                data = buffered + data
        size = len(data)
        pos = need = 0
        session = self._session
        while size - pos >= 2:
            first = data[pos]
            length = data[pos + 1]
            if length < 126:
                start = pos + 2
            elif length == 126:
                start = pos + 4
                if start > size:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
            elif length == 127:
                start = pos + 10
                if start > size:
                    break
                length = int.from_bytes(data[pos + 2:start], "big")
                if length >> 63:
                    self._fail(protocol_error("bad_length"), "a 64-bit length with its top bit set")
                    return
            else:
                self._fail(protocol_error("masked_frame"), "the server masked a frame")
                return
            if length > self._shared.max_size and first & 0x08 == 0:  # data frames (control: _frame)
                self._fail("message_too_big", f"a {length}-byte frame (limit {self._shared.max_size})")
                return
            end = start + length
            if end > size:
                need = end - pos
                break
            if (first == _FIN_TEXT or first == _FIN_BINARY) and self._fragments is None:
                session.on_message(data[start:end], self._shared.clock())
            elif not self._frame(first, data[start:end]):
                return
            pos = end
        if pos < size:
            rest = data[pos:] if pos else data
            if need > _COLLECT_BYTES:
                self._buffer, self._needed = bytearray(rest), need
            else:
                self._buffer = rest

    def connection_lost(self, exc: Exception | None) -> None:
        state, self._state = self._state, _GONE
        if state == _CONNECTING:
            opening, self._opening = self._opening, None
            if opening is not None and not opening.future.done():
                opening.future.set_exception(
                    classify_error(exc) if exc is not None
                    else UpgradeFailure("closed_before_101", "connection closed before the 101"))
        elif state != _UPGRADED:  # UPGRADED: attach() reports
            if self._close_cause:
                self._report(self._close_code, self._close_reason, self._close_cause)
            else:
                how = "reset" if isinstance(exc, ConnectionResetError) else "eof"
                self._report(None, f"no close frame ({exc})" if exc else "no close frame", how)

    # --- internals --------------------------------------------------------------------

    def _before_open(self, data: bytes) -> None:
        if self._state == _UPGRADED:
            self._buffer += data  # until attach(): one loop iteration at most
        elif self._state == _CONNECTING:
            self._upgrade(data)

    def _upgrade(self, data: bytes) -> None:
        now = self._shared.clock()
        opening = self._opening
        assert opening is not None
        head = opening.head + data
        try:
            parsed = parse_response(head)
        except HandshakeParseError as exc:
            self._refuse(opening, UpgradeFailure("bad_response", str(exc)[:160]))
            return
        if parsed is None:
            opening.head = head
            return
        response, head_length = parsed
        if response.status != 101:
            detail = f"HTTP {response.status} {response.reason}".rstrip()
            self._refuse(opening, UpgradeFailure(f"http_{response.status}", detail))
            return
        problems = check_upgrade(response, opening.key, protocols=self._shared.offered)
        if problems:
            self._refuse(opening, UpgradeFailure(handshake_problem(problems[0]), "; ".join(problems)[:160]))
            return
        self._opening = None
        self._state = _UPGRADED
        self._buffer = head[head_length:]
        if not opening.future.done():
            opening.future.set_result((now, response.header("sec-websocket-protocol")))

    def _refuse(self, opening: _Opening, failure: UpgradeFailure) -> None:
        self._opening = None
        self._state = _CLOSED
        self.transport.close()
        if not opening.future.done():
            opening.future.set_exception(failure)

    def _frame(self, first: int, payload: bytes) -> bool:
        """Every frame but a final unfragmented data frame; False: stop reading."""
        if first & 0x70:
            return self._fail(protocol_error("reserved_bits"), f"reserved bits set in byte 0x{first:02x}")
        opcode = first & 0x0F
        final = first & 0x80
        if opcode >= 0x8:
            if not final:
                return self._fail(protocol_error("fragmented_control"), "a fragmented control frame")
            if len(payload) > 125:
                return self._fail(protocol_error("control_too_long"), "a control frame over 125 bytes")
            if opcode == 0x9:
                if self._state == _OPEN:
                    self.transport.write(self._shared.frame(_FIN_PONG, payload))
            elif opcode == 0xA:
                if payload == KEEPALIVE_PAYLOAD:
                    self._pinged = False
            elif opcode == 0x8:
                return self._closed_by_server(payload)
            else:
                return self._fail(protocol_error("reserved_opcode"), f"reserved opcode {opcode}")
            return True
        fragments = self._fragments
        if opcode == 0x0:
            if fragments is None:
                return self._fail(protocol_error("unexpected_continuation"), "a continuation frame outside a message")
            if len(fragments) + len(payload) > self._shared.max_size:
                return self._fail("message_too_big", f"a message over {self._shared.max_size} bytes")
            fragments += payload
            if final:
                self._fragments = None
                self._session.on_message(bytes(fragments), self._shared.clock())
            return True
        if opcode > 0x2:
            return self._fail(protocol_error("reserved_opcode"), f"reserved opcode {opcode}")
        if fragments is not None:
            return self._fail(protocol_error("unfinished_message"), "a new message inside a fragmented one")
        self._fragments = bytearray(payload)  # a first fragment (a final one takes the fast path)
        return True

    def _closed_by_server(self, payload: bytes) -> bool:
        code, reason, problem = close_problem(payload)
        self._close_code = code if code is not None or problem else 1005
        self._close_reason = reason
        self._close_cause = protocol_error(problem) if problem else "server_close"
        if self._state == _OPEN:  # answer it (a client close already sent ours)
            reply = error_close_code(self._close_cause).to_bytes(2, "big") if problem else payload[:2]
            self.transport.write(self._shared.frame(_FIN_CLOSE, reply))  # no code: an empty one
        self._state = _CLOSED
        self.transport.close()
        return False

    def _fail(self, cause: str, reason: str) -> bool:
        """The server broke the protocol (or the size limit): close with the code of ``cause``
        (1002, 1009), drop the session with ``cause``."""
        code = error_close_code(cause)
        if self._state == _OPEN:
            self.transport.write(self._shared.frame(_FIN_CLOSE, code.to_bytes(2, "big")))
        if self._state <= _CLOSING:
            self._state = _CLOSED
            self.transport.close()
        self._report(None, f"{reason}: closed with {code}", cause)
        return False

    def _drop(self, reason: str) -> None:
        self._report(None, reason, reason.replace(" ", "_"))  # ping_timeout, close_timeout
        self.abort()

    def _report(self, code: int | None, reason: str, cause: str) -> None:
        """``session.on_disconnect``, once; forget the session and leave the keepalive."""
        session = self._session
        if session is None:
            return
        self._session = None
        keepalive = self._shared.keepalive
        if keepalive is not None:
            keepalive.discard(self)
        session.on_disconnect(code, reason, cause)


class LeanTransport(Transport):
    """The lean transport of one worker: its :class:`LeanShared` and its connections."""

    name = "lean"
    hot_path = "python"

    def __init__(self, settings: ConnectSettings, *, loop: asyncio.AbstractEventLoop,
                 clock: Clock = time.monotonic_ns, on_subprotocol: Callable[[str | None], None],
                 spawn: Spawn) -> None:
        super().__init__(settings, loop=loop, clock=clock, on_subprotocol=on_subprotocol, spawn=spawn)
        self.shared = LeanShared(loop, settings, clock=clock)
        self.deadlines = Deadlines(loop, settings.connect_timeout)

    async def open(self, session: SessionHooks) -> Phases:
        """Open ``session`` on the lean transport; return its upgrade phases (ns).

        ``ws://`` to an IP address from no chosen source address (the common local and
        in-cluster case): the loop makes the socket and connects it, and the protocol's
        ``connection_made`` marks the end of the TCP phase (no Python socket, no
        ``sock_connect`` future, one timeout for the whole open). Otherwise
        :func:`~wsbench.engine.dial.dial` connects a socket first (DNS, source address,
        TLS timed on its own).
        """
        settings = self.settings
        endpoint = settings.endpoint
        if endpoint.secure or not endpoint.literal_ip or settings.source_addresses:
            return await self._open_dialled(session)
        shared = self.shared
        loop = shared.loop
        start = self.clock()
        key = new_key()
        opened: asyncio.Future[tuple[int, str | None]] = loop.create_future()
        opening = _Opening(shared.request(key), key, opened)
        protocol = LeanProtocol(shared, opening)
        watch = self.deadlines.watch()
        try:
            await loop.create_connection(lambda: protocol, endpoint.host, endpoint.port)
            done, subprotocol = await opened
        except UpgradeFailure:
            protocol.abandon()
            raise
        except Exception as exc:
            protocol.abandon()
            raise classify_error(exc) from exc
        except BaseException:  # cancelled: the deadline, or the run is stopping
            protocol.abandon()
            if watch.timed_out():
                raise UpgradeFailure("timeout", "upgrade" if opening.connected_ns else "TCP connect") from None
            raise
        finally:
            self.deadlines.done(watch)
        if settings.subprotocols:
            self.on_subprotocol(subprotocol)
        protocol.attach(session)
        return upgrade_phases(start, 0, opening.connected_ns - start, 0, done)

    async def _open_dialled(self, session: SessionHooks) -> Phases:
        """Open on a socket :func:`~wsbench.engine.dial.dial` connected (DNS, source, TLS)."""
        shared = self.shared
        settings = self.settings
        endpoint = settings.endpoint
        watch = self.deadlines.watch()  # one deadline for DNS + TCP + TLS + upgrade
        try:
            start, sock, dns_ns, tcp_ns = await self.dial(session, own_deadline=True)
        except BaseException:
            timed_out = watch.timed_out()
            self.deadlines.done(watch)
            if timed_out:
                raise UpgradeFailure("timeout", "DNS or TCP connect") from None
            raise
        loop = shared.loop
        key = new_key()
        opened: asyncio.Future[tuple[int, str | None]] = loop.create_future()
        protocol = LeanProtocol(shared, _Opening(shared.request(key), key, opened))
        try:
            if endpoint.secure:
                await loop.create_connection(lambda: protocol, sock=sock, ssl=settings.ssl_context,
                                             server_hostname=endpoint.host)
            else:
                await loop.create_connection(lambda: protocol, sock=sock)
            done, subprotocol = await opened
        except UpgradeFailure:
            protocol.abandon()
            sock.close()
            raise
        except Exception as exc:
            protocol.abandon()
            sock.close()
            raise classify_error(exc) from exc
        except BaseException:  # cancelled: the deadline, or the run is stopping
            protocol.abandon()
            sock.close()
            if watch.timed_out():
                raise UpgradeFailure("timeout", "TLS or upgrade" if endpoint.secure else "upgrade") from None
            raise
        finally:
            self.deadlines.done(watch)
        tls_end = tls_done_ns(protocol.transport) if endpoint.secure else 0
        if settings.subprotocols:
            self.on_subprotocol(subprotocol)
        protocol.attach(session)
        return upgrade_phases(start, dns_ns, tcp_ns, tls_end, done)

    def close(self) -> None:
        self.deadlines.close()
        if self.shared.keepalive is not None:
            self.shared.keepalive.close()
