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
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from wsbench.conform.model import Blob, Event
from wsbench.errors import HandshakeError, UsageError
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

__all__ = ["Target", "HandshakeError", "Connection", "DeflateStats", "open_connection", "WireLog",
           "message_frames"]

_READ_SIZE = 1 << 16
_SYNC_PREFIX = b"wsbench-sync-"


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
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss"):
            raise UsageError(f"URL must start with ws:// or wss://, got {url!r}")
        if not parts.hostname:
            raise UsageError(f"URL has no host: {url!r}")
        try:
            port = parts.port or (443 if parts.scheme == "wss" else 80)
        except ValueError as exc:
            raise UsageError(f"URL has an invalid port: {url!r}") from exc
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        default = (parts.scheme == "wss" and port == 443) or (parts.scheme == "ws" and port == 80)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(url, parts.scheme == "wss", parts.hostname, port, resource,
                   host if default else f"{host}:{port}")

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
        self.eof = False
        self.reset = False
        self.dropped_by_client = False
        self.violation: str | None = None
        self._parser = FrameParser(allowed_rsv=4 if agreement is not None else 0)
        self._assembler = MessageAssembler(inflater=inflater)
        self._changed = asyncio.Event()
        self._sync_counter = 0
        self._sync_done: set[bytes] = set()
        self._reader_task = asyncio.create_task(self._read_loop(leftover))

    # -- state ------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """The TCP connection is over (EOF, reset, dropped, or the server broke the protocol)."""
        return self.eof or self.reset or self.dropped_by_client or self.violation is not None

    @property
    def can_send(self) -> bool:
        """Data frames may still be sent: nobody started closing and the socket is up."""
        return not (self.finished or self.client_close_sent or self.server_close is not None)

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

    async def send_frames(self, frames: tuple[Frame, ...] | list[Frame], *, chop: int | None = None,
                          per_frame: bool = False, starts_close: bool = False) -> None:
        wires = [encode_frame(f) for f in frames]
        for frame in frames:
            self.log.add("tx", describe_frame(frame))
            if frame.opcode == Opcode.CLOSE and starts_close and not self.client_close_sent:
                self.client_close_sent = True
                self.closed_by_client = self.server_close is None
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
                await asyncio.sleep(0)  # let the loop flush each write on its own

    async def send_close(self, code: int | None, *, reply: bool = False) -> None:
        if self.client_close_sent or self.finished:
            return
        self.client_close_sent = True
        self.closed_by_client = not reply
        frame = Frame(Opcode.CLOSE, close_payload(code))
        self.log.add("tx", describe_frame(frame) + (" (reply)" if reply else ""))
        await self.write(encode_frame(frame))

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
                    if self.violation is not None:
                        self._writer.transport.abort()
                        return
                data = await self._reader.read(_READ_SIZE)
                if not data:
                    self.eof = True
                    self.log.add("rx", "EOF (server closed TCP)")
                    return
        except (ConnectionError, OSError) as exc:
            self.reset = True
            self.log.add("rx", f"connection reset ({type(exc).__name__})")
        finally:
            self._notify()

    def _receive(self, data: bytes) -> None:
        try:
            frames = self._parser.feed(data)
        except FrameError as exc:
            self._violate(str(exc))
            return
        for frame in frames:
            self.log.add("rx", describe_frame(frame))
            if self.server_close is not None:
                self._violate("frame after the close frame")
                return
            try:
                event = self._assembler.receive(frame)
            except FrameError as exc:
                self._violate(str(exc))
                return
            self._handle(event)
        self._notify()

    def _violate(self, what: str) -> None:
        self.violation = what
        self.log.add("!!", f"server broke RFC 6455: {what}")
        self._notify()

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
            self.events.append(Event("message", Blob.of(event.payload), event.binary))
        elif isinstance(event, Ping):
            self.events.append(Event("ping", Blob.of(event.payload)))
            if self.can_send:
                self._writer.write(encode_frame(Frame(Opcode.PONG, event.payload)))
        elif isinstance(event, Pong):
            if event.payload.startswith(_SYNC_PREFIX):
                self._sync_done.add(event.payload)
            else:
                self.events.append(Event("pong", Blob.of(event.payload)))
        elif isinstance(event, Close):
            self.server_close = event
            if not self.client_close_sent:
                code = event.code if event.code is not None and is_valid_close_code(event.code) else None
                self.client_close_sent = True
                frame = Frame(Opcode.CLOSE, close_payload(code))
                self.log.add("tx", describe_frame(frame) + " (reply)")
                try:
                    self._writer.write(encode_frame(frame))
                except (ConnectionError, OSError):
                    self.reset = True


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
