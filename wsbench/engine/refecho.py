"""The calibration's reference echo: a minimal WebSocket echo on loopback, standard library only.

Run as a script (``python -I -S refecho.py``), never imported by the engine at run time: it
starts in ~20 ms (no wsbench, no websockets), so the calibration stays cheap. It is fixed
reference code on purpose — not ``wsbench serve`` — so a calibration measures the machine
(and the client library), not the code a gate is judging: a slower echo pod must still show
up as a regression, not be cancelled by a slower calibration.

Two modes:

* the calibration's (default): one connection at a time (the calibration opens them one after
  the other); prints its port on stdout and exits when its stdin closes (the parent is gone)
  or after ``--max-s`` seconds, whichever comes first;
* the lab's (``--serve --host H --port-file FILE``): a lab member behind every proxy's
  reference path. Many connections at once, a thread each (at most ``--max-connections``;
  more are closed at once), every read bounded in size and time (``--read-timeout-s``); it
  writes its port to FILE once it listens and runs until it is killed.

A text message ``whoami`` is answered with ``{"pod": "wsbench-reference"}`` (so a test can
tell it from a pod); every other frame is echoed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import sys
import threading
import time

__all__ = ["serve", "serve_many", "accept_key", "REFERENCE_NAME"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#: what ``whoami`` answers: ``{"pod": REFERENCE_NAME}``
REFERENCE_NAME = "wsbench-reference"
_WHOAMI = b"whoami"
#: the largest frame it accepts (a bigger one closes the connection)
_MAX_FRAME = 1 << 20


def accept_key(key: bytes) -> bytes:
    """``Sec-WebSocket-Accept`` for ``key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.strip() + _GUID).digest())


def _handshake(conn: socket.socket) -> bytes | None:
    """Answer the upgrade with 101; the bytes read after the request (None: not an upgrade,
    answered 200)."""
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
    if not key:  # a plain HTTP request (a proxy's health check): 200, then close
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
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
            if length > _MAX_FRAME:
                return
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
            if opcode == 0x1 and payload == _WHOAMI:
                payload = b'{"pod": "' + REFERENCE_NAME.encode() + b'"}'
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
        _connection(conn, max(0.1, deadline - time.monotonic()))


def _connection(conn: socket.socket, read_timeout_s: float) -> None:
    """Upgrade and echo until the client is done; every read waits at most ``read_timeout_s``."""
    conn.settimeout(read_timeout_s)
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        rest = _handshake(conn)
        if rest is not None:
            _echo(conn, rest)
    except OSError:
        pass
    finally:
        conn.close()


def serve_many(listener: socket.socket, *, max_connections: int, read_timeout_s: float) -> None:
    """Serve connections at once, a thread each (at most ``max_connections``), until killed."""
    slots = threading.BoundedSemaphore(max_connections)

    def one(conn: socket.socket) -> None:
        try:
            _connection(conn, read_timeout_s)
        finally:
            slots.release()

    while True:
        try:
            conn, _ = listener.accept()
        except OSError:  # e.g. EMFILE, or a client gone before the accept: not a busy loop
            time.sleep(0.01)
            continue
        if not slots.acquire(blocking=False):
            conn.close()  # full: refuse this one rather than queue it unseen
            continue
        threading.Thread(target=one, args=(conn,), daemon=True).start()


def _option(argv: list[str], name: str, default: str) -> str:
    return argv[argv.index(name) + 1] if name in argv else default


def _serve_main(argv: list[str]) -> None:
    host = _option(argv, "--host", "127.0.0.1")
    port_file = _option(argv, "--port-file", "")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, int(_option(argv, "--port", "0"))))
    listener.listen(512)
    port = listener.getsockname()[1]
    print(f"reference echo on {host}:{port}", flush=True)
    if port_file:  # atomically: a reader sees the whole port or no file
        with open(port_file + ".tmp", "w", encoding="ascii") as handle:
            handle.write(f"{port}\n")
        os.replace(port_file + ".tmp", port_file)
    serve_many(listener, max_connections=int(_option(argv, "--max-connections", "256")),
               read_timeout_s=float(_option(argv, "--read-timeout-s", "3600")))


def _main(argv: list[str]) -> None:
    if "--serve" in argv:
        _serve_main(argv)
        return
    max_s = float(argv[argv.index("--max-s") + 1]) if "--max-s" in argv else 30.0
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)
    serve(listener, max_s=max_s)


if __name__ == "__main__":
    _main(sys.argv[1:])
