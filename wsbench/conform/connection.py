"""One raw WebSocket connection for a conformance case (asyncio, its own HTTP upgrade).

The connection only moves bytes and records: frames go out exactly as a case built
them; what comes back is parsed strictly (``wsbench.protocol``) into events. It
answers pings, answers the server's close frame, and notes who closed and how.
With permessage-deflate agreed it inflates the server's compressed messages and
compresses the messages a case sends through :meth:`Connection.message_frames`.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from wsbench.conform.model import INVALID_PAYLOAD, NORMAL, PROTOCOL_ERROR, Blob, Event
from wsbench.errors import HandshakeError
from wsbench.protocol.deflate import (
    DeflateAgreement,
    DeflateOffer,
    Deflater,
    Inflater,
    NegotiationError,
    offer_header,
    parse_agreement,
)
from wsbench.protocol.frames import (
    Frame,
    FrameError,
    FrameParser,
    Opcode,
    close_payload,
    describe_frame,
    encode_frame,
    is_valid_close_code,
)
from wsbench.protocol.handshake import (
    Response,
    build_request,
    check_upgrade,
    new_key,
    parse_response,
)
from wsbench.protocol.messages import Close, Message, MessageAssembler, Ping, Pong
from wsbench.protocol.url import parse_ws_url

__all__ = ["Target", "HandshakeError", "Connection", "DeflateStats", "open_connection", "WireLog",
           "message_frames"]

_READ_SIZE = 1 << 16
_SYNC_PREFIX = b"wsbench-sync-"
#: Autobahn's pause between chopped / frame-wise writes (WebSocketProtocol._QUEUED_WRITE_DELAY)
_QUEUED_WRITE_DELAY = 0.00001


@dataclass(frozen=True)
class Target:
    """Where to connect: parsed from a ws:// or wss:// URL."""

    url: str
    secure: bool
    host: str
    port: int
    resource: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Target:
        """UsageError (one line) for a URL that is not a dialable ws:// or wss:// URL."""
        parsed = parse_ws_url(url)
        return cls(url, parsed.secure, parsed.host, parsed.port, parsed.resource, parsed.host_header)

    def with_resource(self, resource: str) -> Target:
        """The same host with another path (and query)."""
        resource = "/" + resource.lstrip("/")
        scheme = "wss" if self.secure else "ws"
        return replace(self, url=f"{scheme}://{self.host_header}{resource}", resource=resource)


class WireLog:
    """What went over the wire, with times in ms: the first ``limit // 2`` lines and the
    last ``limit // 2`` (the end of a long case is where it went wrong)."""

    def __init__(self, *, limit: int = 40) -> None:
        self._start = time.monotonic_ns()
        self._head_size = max(1, limit // 2)
        self.head: list[str] = []
        self.tail: deque[str] = deque(maxlen=max(1, limit - self._head_size))
        self.seen = 0

    def add(self, direction: str, text: str) -> None:
        self.seen += 1
        elapsed = (time.monotonic_ns() - self._start) / 1e6
        line = f"{elapsed:8.2f} ms {direction} {text}"
        if len(self.head) < self._head_size:
            self.head.append(line)
        else:
            self.tail.append(line)

    def export(self) -> list[str]:
        skipped = self.seen - len(self.head) - len(self.tail)
        middle = [f"… {skipped} lines not kept …"] if skipped > 0 else []
        return [*self.head, *middle, *self.tail]


@dataclass
class DeflateStats:
    """Payload bytes of compressed messages, before and after compression, each way."""

    sent_plain: int = 0
    sent_wire: int = 0
    received_plain: int = 0
    received_wire: int = 0
    received_compressed: int = 0
    received_uncompressed: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        def ratio(wire: int, plain: int) -> float | None:
            return round(wire / plain, 4) if plain else None

        return {"sent_ratio": ratio(self.sent_wire, self.sent_plain),
                "received_ratio": ratio(self.received_wire, self.received_plain),
                "messages_received_compressed": self.received_compressed,
                "messages_received_uncompressed": self.received_uncompressed}


def message_frames(payload: bytes, *, is_binary: bool, fragment_size: int | None = None,
                   deflater: Deflater | None = None) -> list[Frame]:
    """One data message as client frames: compressed (RSV1 on the first frame) when a
    ``deflater`` is given, cut into frames of ``fragment_size`` bytes of (wire) payload."""
    first = Opcode.BINARY if is_binary else Opcode.TEXT
    data = deflater.compress(payload) if deflater is not None else payload
    rsv = 4 if deflater is not None else 0
    if not fragment_size or fragment_size >= len(data):
        return [Frame(first, data, rsv=rsv)]
    pieces = [data[i : i + fragment_size] for i in range(0, len(data), fragment_size)]
    last = len(pieces) - 1
    return [Frame(first if i == 0 else Opcode.CONT, piece, fin=i == last, rsv=rsv if i == 0 else 0)
            for i, piece in enumerate(pieces)]


class Connection:
    """An open WebSocket connection driven byte by byte; see module docstring.

    ``response``: the server's 101; ``agreement``: the permessage-deflate parameters
    it accepted (None: no compression).

    It keeps the state Autobahn's client keeps for a case (``closedByMe``,
    ``droppedByMe``, ``wasClean``, ``remoteCloseCode``) and reacts as that client does
    with ``failByDrop`` off: when the server breaks the protocol, wsbench fails the
    connection with a close frame (1002, or 1007 for invalid UTF-8) and records nothing
    more; a close frame with a code Autobahn rejects counts as 1000 (``remote_close_code``).
    ``problems`` lists every RFC 6455 rule the server broke in wsbench's stricter reading
    (the ``server-frames`` wsbench check). ``close_timeout`` bounds the closing
    handshake once started (Autobahn's ``closeHandshakeTimeout`` and
    ``serverConnectionDropTimeout``). With ``record_pings`` off the server's own pings
    are answered but not recorded, as Autobahn's fuzzing client does.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 leftover: bytes, log: WireLog, *, response: Response | None = None,
                 agreement: DeflateAgreement | None = None, max_size: int = 1 << 30) -> None:
        self._reader = reader
        self._writer = writer
        self.log = log
        self.response = response
        self.agreement = agreement
        self.deflate_stats = DeflateStats()
        self.deflater: Deflater | None = None
        inflater: Inflater | None = None
        if agreement is not None:
            self.deflater = Deflater(window_bits=agreement.client_max_window_bits,
                                     no_context_takeover=agreement.client_no_context_takeover)
            inflater = Inflater(window_bits=agreement.server_max_window_bits,
                                no_context_takeover=agreement.server_no_context_takeover,
                                max_size=max_size)
        self.events: list[Event] = []
        self.client_close_sent = False
        self.closed_by_client = False
        self.server_close: Close | None = None
        self.remote_close_code: int | None = None
        self.close_exchanged = False
        self.eof = False
        self.reset = False
        self.dropped_by_client = False
        self.failed_by_me = False
        self.violation: str | None = None
        self.problems: list[str] = []
        self.record_pings = True
        #: judge the server's close code by Autobahn's list (off: RFC 6455 + IANA's)
        self.autobahn_close_codes = True
        self.close_timeout = 2.0
        self.on_event: Callable[[], None] | None = None
        self._parser = FrameParser(allowed_rsv=4 if agreement is not None else 0)
        self._parser_dead = False
        self._assembler = MessageAssembler(inflater=inflater)
        self._changed = asyncio.Event()
        self._sync_counter = 0
        self._sync_done: set[bytes] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._reader_task = asyncio.create_task(self._read_loop(leftover))

    # -- state ------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """The TCP connection is over (EOF, reset, or dropped by wsbench)."""
        return self.eof or self.reset or self.dropped_by_client

    @property
    def can_send(self) -> bool:
        """Data frames may still be sent: nobody started closing and the socket is up."""
        return not (self.finished or self.client_close_sent or self.server_close is not None)

    @property
    def clean(self) -> bool:
        """Autobahn's ``wasClean``: both close frames went and the server ended the TCP."""
        return self.close_exchanged and (self.eof or self.reset) and not self.dropped_by_client

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``condition()`` holds (re-checked on every change) or ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                return condition()
        return True

    def _notify(self) -> None:
        self._changed.set()

    # -- sending ----------------------------------------------------------------------

    async def write(self, data: bytes) -> bool:
        """Write bytes; False when the connection is already gone."""
        if self.finished:
            return False
        try:
            self._writer.write(data)
            await self._writer.drain()
        except (ConnectionError, OSError):
            self.reset = True
            self._notify()
            return False
        return True

    def _write_now(self, data: bytes) -> None:
        if self.finished:
            return
        try:
            self._writer.write(data)
        except (ConnectionError, OSError):
            self.reset = True
            self._notify()

    async def send_frames(self, frames: tuple[Frame, ...] | list[Frame], *, chop: int | None = None,
                          per_frame: bool = False, starts_close: bool = False) -> None:
        wires = [encode_frame(f) for f in frames]
        for frame in frames:
            self.log.add("tx", describe_frame(frame))
            if frame.opcode == Opcode.CLOSE and starts_close and not self.client_close_sent:
                self._closing(by_us=self.server_close is None)
        if chop:
            data = b"".join(wires)
            pieces = [data[i : i + chop] for i in range(0, len(data), chop)]
        elif per_frame:
            pieces = wires
        else:
            pieces = [b"".join(wires)]
        for piece in pieces:
            if not await self.write(piece):
                return
            if chop or per_frame:
                await asyncio.sleep(_QUEUED_WRITE_DELAY)  # as Autobahn: re-enter the loop

    def start_close(self, code: int | None, reason: bytes = b"", *, reply: bool = False) -> None:
        """Send a close frame now (Autobahn's ``sendCloseFrame``), once; ``reply`` answers
        the server's close. The server then has ``close_timeout`` to end the TCP."""
        if self.client_close_sent or self.finished:
            return
        frame = Frame(Opcode.CLOSE, close_payload(code, reason))
        self.log.add("tx", describe_frame(frame) + (" (reply)" if reply else ""))
        self._closing(by_us=not reply)
        self._write_now(encode_frame(frame))

    async def send_close(self, code: int | None, reason: bytes = b"", *, reply: bool = False) -> None:
        self.start_close(code, reason, reply=reply)
        if not self.finished:
            try:
                await self._writer.drain()
            except (ConnectionError, OSError):
                self.reset = True
                self._notify()

    def _closing(self, *, by_us: bool) -> None:
        self.client_close_sent = True
        self.closed_by_client = by_us
        if self._watchdog is None and self.close_timeout > 0:
            loop = asyncio.get_running_loop()
            self._watchdog = loop.call_later(
                self.close_timeout, self.drop,
                f"the closing handshake did not end within {self.close_timeout:g} s")
        self._notify()

    def fail(self, what: str, code: int) -> None:
        """Autobahn's ``_fail_connection`` (``failByDrop`` off): close with ``code`` while
        open, drop the TCP once closing; no event is recorded after it."""
        if self.violation is None:
            self.violation = what
        self.log.add("!!", f"server broke RFC 6455: {what}")
        self.failed_by_me = True
        if self.finished:
            return
        if not self.client_close_sent:
            self.start_close(code)
        else:
            self.drop(f"second protocol violation while closing: {what}")

    async def sync(self, timeout: float) -> bool:
        """Ping with a unique payload and wait for its pong: everything sent before was read."""
        if not self.can_send:
            return False
        self._sync_counter += 1
        token = _SYNC_PREFIX + b"%d" % self._sync_counter
        frame = Frame(Opcode.PING, token)
        self.log.add("tx", describe_frame(frame) + " (sync)")
        if not await self.write(encode_frame(frame)):
            return False
        await self.wait_for(lambda: token in self._sync_done or self.server_close is not None
                            or self.finished, timeout)
        return token in self._sync_done

    def drop(self, note: str) -> None:
        """Abort the TCP connection from our side."""
        if not self.finished:
            self.dropped_by_client = True
            self.log.add("--", f"wsbench drops the TCP connection: {note}")
        self._writer.transport.abort()
        self._notify()

    async def aclose(self) -> None:
        """Release everything (idempotent)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._writer.transport.abort()
        self._reader_task.cancel()
        try:
            await self._reader_task
        except asyncio.CancelledError:
            pass

    # -- receiving --------------------------------------------------------------------

    async def _read_loop(self, leftover: bytes) -> None:
        data = leftover
        try:
            while True:
                if data:
                    self._receive(data)
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    if not self.dropped_by_client:
                        self.eof = True
                        self.log.add("rx", "EOF (server closed TCP)")
                    return
        except (ConnectionError, OSError) as exc:
            if not self.dropped_by_client:
                self.reset = True
                self.log.add("rx", f"connection reset ({type(exc).__name__})")
        finally:
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._notify()

    def _receive(self, data: bytes) -> None:
        if self._parser_dead or self.dropped_by_client:
            return
        try:
            frames = self._parser.feed(data)
        except FrameError as exc:  # the byte stream cannot be followed any further
            self._parser_dead = True
            self.problems.append(str(exc))
            self.fail(str(exc), INVALID_PAYLOAD if "UTF-8" in str(exc) else PROTOCOL_ERROR)
            return
        for frame in frames:
            self.log.add("rx", describe_frame(frame))
            if frame.opcode == Opcode.CLOSE:
                self._close_frame(frame.payload)
                continue
            if self.server_close is not None:
                self.problems.append("frame after the close frame")
            if self.failed_by_me:
                continue
            try:
                event = self._assembler.receive(frame)
            except FrameError as exc:
                self.problems.append(str(exc))
                self.fail(str(exc), INVALID_PAYLOAD if "UTF-8" in str(exc) else PROTOCOL_ERROR)
                continue
            self._handle(event)
        self._notify()

    def _close_frame(self, payload: bytes) -> None:
        """The server's close frame, as Autobahn's ``onCloseFrame`` takes it."""
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
        reason = payload[2:]
        if self.server_close is not None:
            self.problems.append("second close frame")
            return
        if len(payload) == 1:
            self.problems.append("close frame with a 1-byte payload")
            self.fail("close frame with a 1-byte payload", PROTOCOL_ERROR)
        elif code is not None and not is_valid_close_code(code):
            self.problems.append(f"close frame with invalid code {code}")
        remote = code
        accepts = _autobahn_accepts if self.autobahn_close_codes else is_valid_close_code
        if code is not None and not accepts(code):
            self.fail(f"close frame with invalid code {code}", PROTOCOL_ERROR)
            remote = NORMAL  # Autobahn goes on with remoteCloseCode = 1000
        text = ""
        try:
            text = reason.decode("utf-8")
        except UnicodeDecodeError:
            self.problems.append("close frame reason is not valid UTF-8")
            self.fail("close frame reason is not valid UTF-8", INVALID_PAYLOAD)
        self.server_close = Close(code, text)
        self.remote_close_code = remote
        if self.dropped_by_client:
            return
        if self.client_close_sent:
            self.close_exchanged = True
        else:  # Autobahn's client answers with 1000 (echoCloseCodeReason is off)
            self.close_exchanged = True
            self.start_close(NORMAL, reply=True)

    @property
    def local_address(self) -> str:
        """wsbench's own ``host:port`` on this connection."""
        address = self._writer.get_extra_info("sockname")
        if not address:
            return ""
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def message_frames(self, payload: bytes, *, is_binary: bool,
                       fragment_size: int | None = None) -> list[Frame]:
        """A data message as frames, compressed when permessage-deflate was agreed."""
        frames = message_frames(payload, is_binary=is_binary, fragment_size=fragment_size,
                                deflater=self.deflater)
        if self.deflater is not None:
            self.deflate_stats.sent_plain += len(payload)
            self.deflate_stats.sent_wire += sum(len(f.payload) for f in frames)
        return frames

    def _record(self, event: Event) -> None:
        self.events.append(event)
        if self.on_event is not None:
            self.on_event()

    def _handle(self, event: Message | Ping | Pong | Close | None) -> None:
        if isinstance(event, Message):
            if self.agreement is not None:
                stats = self.deflate_stats
                if event.compressed:
                    stats.received_compressed += 1
                    stats.received_plain += len(event.payload)
                    stats.received_wire += event.wire_size or 0
                else:
                    stats.received_uncompressed += 1
            self._record(Event("message", Blob.of(event.payload), event.binary))
        elif isinstance(event, Ping):
            if self.record_pings:
                self._record(Event("ping", Blob.of(event.payload)))
            if self.can_send:
                self._write_now(encode_frame(Frame(Opcode.PONG, event.payload)))
        elif isinstance(event, Pong):
            if event.payload.startswith(_SYNC_PREFIX):
                self._sync_done.add(event.payload)
            else:
                self._record(Event("pong", Blob.of(event.payload)))


def _autobahn_accepts(code: int) -> bool:
    """Autobahn's client takes a close code in 1000-2999 only from its allowed list
    (autobahn-python ``WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED``: 1000-1003,
    1007-1013), any in 3000-4999, none below 1000 or from 5000."""
    if 3000 <= code <= 4999:
        return True
    return code in {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013}


async def open_connection(target: Target, *, timeout: float, log: WireLog,
                          ssl_context: ssl.SSLContext | None = None,
                          extra_headers: Mapping[str, str] | None = None,
                          key: str | None = "", version: str | None = "13",
                          protocols: Sequence[str] = (), deflate: Sequence[DeflateOffer] = (),
                          local_host: str | None = None) -> Connection:
    """TCP (+TLS) connect and upgrade; HandshakeError when no WebSocket results.

    ``key=""`` draws a fresh key; None leaves the header out (a broken upgrade).
    ``protocols`` / ``deflate``: subprotocols and permessage-deflate offers to make
    (an invalid answer to them is a HandshakeError); ``local_host``: the address to
    connect from.
    """
    context = ssl_context if target.secure else None
    if target.secure and context is None:
        context = ssl.create_default_context()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port, ssl=context,
                                    server_hostname=target.host if context else None,
                                    limit=_READ_SIZE * 4,
                                    local_addr=(local_host, 0) if local_host else None),
            timeout)
    except TimeoutError as exc:
        raise HandshakeError(f"connect to {target.host}:{target.port} timed out") from exc
    except (OSError, ssl.SSLError) as exc:
        raise HandshakeError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    use_key = new_key() if key == "" else key
    headers = dict(extra_headers or {})
    if protocols:
        headers["Sec-WebSocket-Protocol"] = ", ".join(protocols)
    if deflate:
        headers["Sec-WebSocket-Extensions"] = offer_header(deflate)
    request = build_request(target.host_header, target.resource, key=use_key, version=version,
                            extra=headers)
    log.add("tx", f"HTTP upgrade GET {target.resource}")
    try:
        writer.write(request)
        response, leftover = await asyncio.wait_for(_read_head(reader), timeout)
    except TimeoutError as exc:
        writer.transport.abort()
        raise HandshakeError("no upgrade response within the timeout") from exc
    except (OSError, ValueError) as exc:
        writer.transport.abort()
        raise HandshakeError(f"upgrade failed: {exc}") from exc
    log.add("rx", f"HTTP {response.status} {response.reason}".rstrip())
    problems = check_upgrade(response, use_key or "", protocols=protocols, extensions=bool(deflate))
    agreement = None
    if not problems and deflate:
        try:
            agreement = parse_agreement(deflate, response.header("sec-websocket-extensions"))
        except NegotiationError as exc:
            problems.append(f"invalid permessage-deflate answer: {exc}")
        else:
            log.add("rx", f"permessage-deflate: {agreement.response}" if agreement
                    else "permessage-deflate declined")
    if problems:
        writer.transport.abort()
        raise HandshakeError("; ".join(problems), response)
    return Connection(reader, writer, leftover, log, response=response, agreement=agreement)


async def _read_head(reader: asyncio.StreamReader) -> tuple[Response, bytes]:
    buffer = b""
    while True:
        chunk = await reader.read(_READ_SIZE)
        if not chunk:
            raise ValueError("connection closed before the upgrade response was complete")
        buffer += chunk
        parsed = parse_response(buffer)
        if parsed is not None:
            response, size = parsed
            return response, buffer[size:]
