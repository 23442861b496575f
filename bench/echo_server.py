"""A minimal picows echo server on uvloop, for the benchmarks in ``bench/``.

Fast on purpose, so that in ``bench_engine.py`` the *client* is the bottleneck: it
echoes text and binary frames unchanged (the frame's payload is sent back as is),
answers pings (picows' auto-pong) and nothing else. It is not ``wsbench serve``
(websockets-based, with counters and knobs); ``scale_check.py`` uses that one.

    python bench/echo_server.py --port 0 --ready-file /tmp/ready.json

Prints nothing; once listening it writes ``{"pid", "port", "url"}`` to the ready file
(atomically). SIGTERM/SIGINT stop it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal

import uvloop
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

__all__ = ["main"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CLOSE = WSMsgType.CLOSE


class _Echo(WSListener):  # type: ignore[misc]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _TEXT or msg_type is _BINARY:
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)
        elif msg_type is WSMsgType.CONTINUATION:
            transport.send(msg_type, frame.get_payload_as_memoryview(), frame.fin)
        elif msg_type is _CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


async def _serve(host: str, port: int, ready_file: str | None, backlog: int) -> None:
    def factory(request: WSUpgradeRequest) -> WSListener:
        return _Echo()

    server = await ws_create_server(
        factory, host, port, backlog=backlog, websocket_handshake_timeout=30,
        read_buffer_init_size=4096,
    )
    bound = server.sockets[0].getsockname()[1]
    if ready_file:
        tmp = ready_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"pid": os.getpid(), "port": bound, "url": f"ws://{host}:{bound}/"}, handle)
        os.replace(tmp, ready_file)
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--backlog", type=int, default=4096)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(_serve(args.host, args.port, args.ready_file, args.backlog))


if __name__ == "__main__":
    main()
