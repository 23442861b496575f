"""Echo server on tornado. Prints 'LISTENING <port>' once bound.

Usage: python tornado_echo.py [PORT] [--deflate]   (0 or none: any free port on 127.0.0.1)
Tornado compresses only when the handler's ``get_compression_options`` returns a dict:
None (the default here) turns permessage-deflate off, ``{}`` (--deflate) turns it on.
"""

from __future__ import annotations

import asyncio
import sys

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler

DEFLATE = "--deflate" in sys.argv[1:]


class Echo(WebSocketHandler):
    def get_compression_options(self) -> dict[str, object] | None:
        return {} if DEFLATE else None

    async def on_message(self, message: str | bytes) -> None:
        await self.write_message(message, binary=isinstance(message, bytes))


async def main(port: int) -> None:
    sockets = bind_sockets(port, "127.0.0.1")
    app = Application([(r"/", Echo)], websocket_max_message_size=64 * 1024 * 1024)
    server = HTTPServer(app)
    server.add_sockets(sockets)
    print(f"LISTENING {sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--deflate"]
    asyncio.run(main(int(args[0]) if args else 0))
