"""One raw WebSocket connection for a conformance case (asyncio, its own HTTP upgrade).

The connection only moves bytes and records: frames go out exactly as a case built
them; what comes back is parsed strictly (``wsbench.protocol``) into events. It
answers pings, answers the server's close frame, and notes who closed and how.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from wsbench.conform.model import Blob, Event
from wsbench.errors import UsageError
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

__all__ = ["Target", "HandshakeError", "Connection", "open_connection", "WireLog"]

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


class HandshakeError(Exception):
    """The upgrade did not give a WebSocket (carries the HTTP status when there was one)."""

    def __init__(self, message: str, response: Response | None = None) -> None:
        super().__init__(message)
        self.response = response


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


class Connection:
    """An open WebSocket connection driven byte by byte; see module docstring."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 leftover: bytes, log: WireLog) -> None:
        self._reader = reader
        self._writer = writer
        self.log = log
        self.events: list[Event] = []
        self.client_close_sent = False
        self.closed_by_client = False
        self.server_close: Close | None = None
        self.eof = False
        self.reset = False
        self.dropped_by_client = False
        self.violation: str | None = None
        self._parser = FrameParser()
        self._assembler = MessageAssembler()
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

    def _handle(self, event: Message | Ping | Pong | Close | None) -> None:
        if isinstance(event, Message):
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
                          key: str | None = "", version: str | None = "13") -> Connection:
    """TCP (+TLS) connect and upgrade; HandshakeError when no WebSocket results.

    ``key=""`` draws a fresh key; None leaves the header out (a broken upgrade).
    """
    context = ssl_context if target.secure else None
    if target.secure and context is None:
        context = ssl.create_default_context()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port, ssl=context,
                                    server_hostname=target.host if context else None,
                                    limit=_READ_SIZE * 4),
            timeout)
    except TimeoutError as exc:
        raise HandshakeError(f"connect to {target.host}:{target.port} timed out") from exc
    except (OSError, ssl.SSLError) as exc:
        raise HandshakeError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    use_key = new_key() if key == "" else key
    request = build_request(target.host_header, target.resource, key=use_key, version=version,
                            extra=extra_headers)
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
    problems = check_upgrade(response, use_key or "")
    if problems:
        writer.transport.abort()
        raise HandshakeError("; ".join(problems), response)
    return Connection(reader, writer, leftover, log)


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
