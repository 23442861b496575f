"""Echo server on tornado. Prints 'LISTENING <port>' once bound.

Usage: python tornado_echo.py [PORT]   (0 or none: any free port on 127.0.0.1)
"""

from __future__ import annotations

import asyncio
import sys

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application
from tornado.websocket import WebSocketHandler


class Echo(WebSocketHandler):
    def get_compression_options(self) -> None:
        return None

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
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
