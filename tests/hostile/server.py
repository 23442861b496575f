"""A hostile WebSocket server: each path ``/b/<behaviour>`` misbehaves in one known way.

Raw asyncio streams (no WebSocket library: it must be able to break every rule). After a
correct upgrade (unless the behaviour breaks the upgrade itself) it reads the client's
frames and echoes each data message until the behaviour's moment comes. ``BEHAVIOURS``
maps each name to what it does; the tests in this folder hold what wsbench must make of it.

Prints ``LISTENING <port>`` once bound. Usage: ``python server.py [PORT]``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
import struct
import sys
from collections.abc import Awaitable, Callable

__all__ = ["BEHAVIOURS", "main"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, str]], Awaitable[None]]


def frame(first: int, payload: bytes, *, mask: bool = False, length: int | None = None) -> bytes:
    """A server frame: ``first`` is FIN|RSV|opcode; ``length`` overrides the announced length."""
    size = len(payload) if length is None else length
    bit = 0x80 if mask else 0
    if size < 126:
        head = bytes((first, bit | size))
    elif size < 65536:
        head = bytes((first, bit | 126)) + struct.pack("!H", size)
    else:
        head = bytes((first, bit | 127)) + struct.pack("!Q", size)
    if mask:
        key = b"\x01\x02\x03\x04"
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return head + payload


def close_frame(code: int | None, reason: bytes = b"") -> bytes:
    return frame(0x88, b"" if code is None else struct.pack("!H", code) + reason)


def accept_of(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def response_101(headers: dict[str, str], *, accept: str | None = None, extra: str = "") -> bytes:
    accept = accept if accept is not None else accept_of(headers.get("sec-websocket-key", ""))
    return (f"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n{extra}\r\n").encode()


async def read_request(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return path, headers


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One client frame (masked), unmasked: (first byte, payload)."""
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", await reader.readexactly(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
    data = await reader.readexactly(size)
    return first, bytes(b ^ key[i % 4] for i, b in enumerate(data))


async def echo_messages(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, count: int) -> bool:
    """Echo ``count`` data messages (0: none); False if the client closed first."""
    done = 0
    while done < count:
        first, payload = await read_frame(reader)
        opcode = first & 0x0F
        if opcode == 0x8:
            writer.write(close_frame(1000))
            await writer.drain()
            return False
        if opcode in (0x1, 0x2):
            writer.write(frame(first, payload))
            await writer.drain()
            done += 1
    return True


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def hold(reader: asyncio.StreamReader) -> None:
    """Keep the connection open, reading (and dropping) what the client sends, until it goes."""
    while await reader.read(65536):
        pass


# --- behaviours ---------------------------------------------------------------------------

def upgraded(after: Callable[[asyncio.StreamReader, asyncio.StreamWriter, dict[str, str]], Awaitable[None]],
             echo: int = 1) -> Handler:
    """A correct 101, ``echo`` messages echoed, then ``after``."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(response_101(headers))
        await writer.drain()
        if echo and not await echo_messages(reader, writer, echo):
            return
        await after(reader, writer, headers)
    return handler


def sends(data: bytes, *, then: str = "hold") -> Handler:
    """After the upgrade and one echo: write ``data``, then hold, close (FIN) or reset."""
    async def after(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        writer.write(data)
        await writer.drain()
        if then == "reset":
            reset(writer)
        elif then == "eof":
            writer.close()
        else:
            await hold(reader)
    return upgraded(after)


def answers(data: bytes, *, then: str = "eof") -> Handler:
    """Instead of a correct 101: write ``data``, then close (FIN), reset, or hold."""
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
        if data:
            writer.write(data)
            await writer.drain()
        if then == "reset":
            reset(writer)
        elif then == "hold":
            await hold(reader)
        else:
            writer.close()
    return handler


async def _endless_fragments(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    chunk = b"x" * 65536
    writer.write(frame(0x01, chunk))  # a text message that never ends
    for _ in range(100_000):  # bounded: 6.5 GB if the client never stops reading
        if writer.transport.is_closing():
            return
        writer.write(frame(0x00, chunk))
        await writer.drain()


async def _huge_single(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    writer.write(frame(0x81, b"y" * (2 << 20)))  # one 2 MiB frame
    await writer.drain()
    await hold(reader)


async def _huge_fragmented(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    chunk = b"z" * 65536
    writer.write(frame(0x01, chunk))
    for index in range(31):  # 2 MiB in 32 fragments, finished
        writer.write(frame(0x80 if index == 30 else 0x00, chunk))
    await writer.drain()
    await hold(reader)


async def _not_reading(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    writer.write(response_101(headers))
    await writer.drain()
    await asyncio.sleep(3600)  # never read again: the client's sends pile up


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    await hold(reader)  # never answers the upgrade


async def _endless_headers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\n")
    for index in range(20_000):  # ~0.6 MB of headers, never ending the head
        if writer.transport.is_closing():
            return
        writer.write(f"X-Filler-{index}: {'f' * 20}\r\n".encode())
        if index % 1000 == 0:
            await writer.drain()
    await hold(reader)


async def _ping_then_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    for _ in range(50):
        writer.write(frame(0x89, b"p"))
    await writer.drain()
    while True:
        first, payload = await read_frame(reader)
        if first & 0x0F == 0x8:
            writer.write(close_frame(1000))
            await writer.drain()
            return
        if first & 0x0F in (0x1, 0x2):
            writer.write(frame(first, payload))
            await writer.drain()


async def _echo_reason(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, headers: dict[str, str]) -> None:
    secret = headers.get("authorization", "none").encode()[:100]
    writer.write(close_frame(4001, b"auth=" + secret))  # a close reason that echoes a credential
    await writer.drain()
    await hold(reader)


#: name -> handler (called after the request head was read)
BEHAVIOURS: dict[str, Handler] = {
    # the upgrade
    "http_503": answers(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"),
    "bad_accept": lambda r, w, h: answers(response_101(h, accept="d3Jvbmc="), then="hold")(r, w, h),
    "no_upgrade_header": answers(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", then="hold"),
    "garbage_response": answers(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"),
    "close_before_101": answers(b""),
    "half_101_then_fin": answers(b"HTTP/1.1 101 Swi"),
    "rst_during_101": answers(b"HTTP/1.1 101 Swi", then="reset"),
    "rst_at_once": answers(b"", then="reset"),
    "silent": _silent,
    "endless_headers": _endless_headers,
    # after the upgrade: memory
    "endless_fragments": upgraded(_endless_fragments),
    "huge_single": upgraded(_huge_single),
    "huge_fragmented": upgraded(_huge_fragmented),
    "length_2_63": sends(frame(0x82, b"", length=(1 << 63) - 1)),
    "not_reading": _not_reading,
    # after the upgrade: protocol errors
    "masked_frame": sends(frame(0x81, b"masked!", mask=True)),
    "reserved_opcode": sends(frame(0x83, b"three")),
    "reserved_control_opcode": sends(frame(0x8B, b"eleven")),
    "reserved_bits": sends(frame(0xC1, b"rsv1")),
    "fragmented_ping": sends(frame(0x09, b"ping")),
    "long_ping": sends(frame(0x89, b"p" * 126)),
    "orphan_continuation": sends(frame(0x80, b"cont")),
    "new_message_in_fragmented": sends(frame(0x01, b"first") + frame(0x81, b"second")),
    "garbage_after_upgrade": sends(bytes(range(3, 250, 7)) * 40),
    # after the upgrade: closes
    "close_1000": sends(close_frame(1000, b"bye")),
    "close_4000_reason": sends(close_frame(4000, b"going away for maintenance")),
    "close_empty": sends(close_frame(None)),
    "close_1005": sends(close_frame(1005)),
    "close_999": sends(close_frame(999)),
    "close_5000": sends(close_frame(5000)),
    "close_bad_utf8": sends(close_frame(1000, b"\xff\xfe bad")),
    "close_1_byte": sends(frame(0x88, b"\x03")),
    "close_echo_secret": upgraded(_echo_reason),
    # after the upgrade: the connection
    "eof_after_upgrade": sends(b"", then="eof"),
    "rst_after_upgrade": sends(b"", then="reset"),
    "ping_storm": upgraded(_ping_then_echo, echo=0),
}


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        path, headers = await read_request(reader)
        name = path.rsplit("/", 1)[-1].split("?")[0]
        handler = BEHAVIOURS.get(name)
        if handler is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        await handler(reader, writer, headers)
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        pass
    finally:
        if not writer.is_closing():
            writer.close()


async def main(port: int = 0) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, limit=1 << 16)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
