"""A minimal picows echo server on uvloop, for the benchmarks in ``bench/``.

Fast on purpose, so that in ``bench_engine.py`` the *client* is the bottleneck: it
echoes text and binary frames unchanged (the frame's payload is sent back as is),
answers pings (picows' auto-pong) and nothing else. It is not ``wsbench serve``
(websockets-based, with counters and knobs); ``scale_check.py`` uses that one.

    python bench/echo_server.py --port 0 --ready-file /tmp/ready.json

Prints nothing; once listening it writes ``{"pid", "port", "url"}`` to the ready file
(atomically). SIGTERM/SIGINT stop it.

``--counters FILE`` (for ``bench/peers``): the server also counts, in a 32-byte file that
the caller maps (:class:`Counters`), sessions upgraded, sessions whose first message was
echoed, messages echoed and sessions open, so any client, whatever its language, can be
measured from outside. ``--hosts A,B,...`` listens on several loopback addresses at once
(one per peer run: the 4-tuples are fresh, TIME_WAIT never gets in the way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import mmap
import os
import resource
import signal

import uvloop
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

__all__ = ["COUNTER_NAMES", "Counters", "main"]

#: the int64 slots of the ``--counters`` file, in order
COUNTER_NAMES = ("upgraded", "first_echo", "echoed", "open")


class Counters:
    """The ``--counters`` file mapped as int64s (the server writes, a caller reads)."""

    def __init__(self, path: str, create: bool = False) -> None:
        if create:
            with open(path, "wb") as handle:
                handle.write(bytes(8 * len(COUNTER_NAMES)))
        self._file = open(path, "r+b")  # noqa: SIM115 - kept open with the map
        self._map = mmap.mmap(self._file.fileno(), 8 * len(COUNTER_NAMES))
        self.slots = memoryview(self._map).cast("q")

    def read(self) -> dict[str, int]:
        return dict(zip(COUNTER_NAMES, self.slots.tolist(), strict=True))

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE
_VALID_CLOSE_LOW, _VALID_CLOSE_HIGH = 1000, 5000
_UNSENDABLE_CLOSE = (1004, 1005, 1006, 1015)  # reserved: never put on the wire (RFC 6455 7.4.1)


class _Echo(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)
        elif msg_type is WSMsgType.CONTINUATION:
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)
        elif msg_type is _CLOSE:
            # an empty close frame reads as 0 (NO_INFO), which picows 2.3 would put on the
            # wire as status 0 (invalid): answer it with 1000
            code = frame.get_close_code()
            valid = _VALID_CLOSE_LOW <= code < _VALID_CLOSE_HIGH and code not in _UNSENDABLE_CLOSE
            transport.send_close(code if valid else WSCloseCode.OK)
            transport.disconnect()


class _CountingEcho(_Echo):
    """The echo, counting into the shared slots (upgraded, first_echo, echoed, open)."""

    __slots__ = ("slots", "seen")

    def __init__(self, slots: memoryview) -> None:
        self.slots = slots
        self.seen = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.slots[0] += 1
        self.slots[3] += 1

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.slots[3] -= 1

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)
            self.slots[2] += 1
            if not self.seen:
                self.seen = True
                self.slots[1] += 1
        else:
            super().on_ws_frame(transport, frame)


async def _serve(hosts: list[str], port: int, ready_file: str | None, backlog: int,
                 counters: str | None, reuse_port: bool = False) -> None:
    slots = Counters(counters, create=True).slots if counters else None

    def factory(request: WSUpgradeRequest) -> WSListener:
        return _Echo() if slots is None else _CountingEcho(slots)

    servers = []
    for host in hosts:  # the first picks the port (0: any free one), the others take the same
        servers.append(await ws_create_server(
            factory, host, port, backlog=backlog, websocket_handshake_timeout=30,
            read_buffer_init_size=4096, reuse_port=reuse_port or None,
        ))
        port = servers[0].sockets[0].getsockname()[1]
    bound = port
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "port": bound, "url": f"ws://{hosts[0]}:{bound}/",
                       "urls": [f"ws://{host}:{bound}/" for host in hosts]}, handle)
        os.replace(tmp, ready_file)
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    await stop
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--hosts", help="several listening addresses, comma-separated (one port)")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--backlog", type=int, default=4096)
    parser.add_argument("--counters", help="count sessions and echoes into this file (Counters)")
    parser.add_argument("--reuse-port", action="store_true",
                        help="SO_REUSEPORT: several processes share one --port (the kernel spreads connections)")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hosts = args.hosts.split(",") if args.hosts else [args.host]
    uvloop.run(_serve(hosts, args.port, args.ready_file, args.backlog, args.counters, args.reuse_port))


if __name__ == "__main__":
    main()
