"""The calibration's reference echo: a minimal WebSocket echo on loopback, standard library only.

Run as a script (``python -I -S refecho.py``), never imported by the engine at run time: it
starts in ~20 ms (no wsbench, no websockets), so the calibration stays cheap. It is fixed
reference code on purpose — not ``wsbench serve`` — so a calibration measures the machine
(and the client library), not the code a gate is judging: a slower echo pod must still show
up as a regression, not be cancelled by a slower calibration.

It serves one connection at a time (the calibration opens them one after the other), prints
its port on stdout, and exits when its stdin closes (the parent is gone) or after
``--max-s`` seconds, whichever comes first.
"""

from __future__ import annotations

import base64
import hashlib
import select
import socket
import sys
import time

__all__ = ["serve", "accept_key"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for ``key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.strip() + _GUID).digest())


def _handshake(conn: socket.socket) -> bytes | None:
    """Answer the upgrade with 101; the bytes read after the request (None: not an upgrade)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > 16384:
            return None
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    key = b""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    if not key:
        return None
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept_key(key) + b"\r\n\r\n")
    return rest


def _frame(opcode: int, payload: bytes) -> bytes:
    length = len(payload)
    if length < 126:
        return bytes((0x80 | opcode, length)) + payload
    if length < 65536:
        return bytes((0x80 | opcode, 126)) + length.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + length.to_bytes(8, "big") + payload


def _echo(conn: socket.socket, buffer: bytes) -> None:
    """Echo every frame until a close frame or EOF (frames from a client are masked)."""
    data = bytearray(buffer)
    while True:
        while True:  # every complete frame in the buffer
            if len(data) < 2:
                break
            opcode, length, offset = data[0] & 0x0F, data[1] & 0x7F, 2
            if length == 126:
                if len(data) < 4:
                    break
                length, offset = int.from_bytes(data[2:4], "big"), 4
            elif length == 127:
                if len(data) < 10:
                    break
                length, offset = int.from_bytes(data[2:10], "big"), 10
            masked = data[1] & 0x80
            end = offset + (4 if masked else 0) + length
            if len(data) < end:
                break
            payload = bytes(data[end - length:end])
            if masked:
                mask = bytes(data[offset:offset + 4]) * (length // 4 + 1)
                payload = (int.from_bytes(payload, "big") ^ int.from_bytes(mask[:length], "big")).to_bytes(length, "big")
            del data[:end]
            if opcode == 0x8:
                conn.sendall(_frame(0x8, payload[:2]))
                return
            conn.sendall(_frame(0xA if opcode == 0x9 else opcode, payload))
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk


def serve(listener: socket.socket, *, max_s: float) -> None:
    """Serve connections one at a time until stdin closes or ``max_s`` passes."""
    deadline = time.monotonic() + max_s
    stdin = sys.stdin.fileno()
    while time.monotonic() < deadline:
        ready, _, _ = select.select([listener, stdin], [], [], max(0.0, deadline - time.monotonic()))
        if stdin in ready:
            return  # EOF (or anything) on stdin: the parent is done with us
        if listener not in ready:
            continue
        conn, _ = listener.accept()
        conn.settimeout(max(0.1, deadline - time.monotonic()))
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            rest = _handshake(conn)
            if rest is not None:
                _echo(conn, rest)
        except OSError:
            pass
        finally:
            conn.close()


def _main(argv: list[str]) -> None:
    max_s = float(argv[argv.index("--max-s") + 1]) if "--max-s" in argv else 30.0
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    serve(listener, max_s=max_s)


if __name__ == "__main__":
    _main(sys.argv[1:])
