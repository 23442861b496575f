"""Echo server on aiohttp. Prints 'LISTENING <port>' once bound.

Usage: python aiohttp_echo.py [PORT] [--deflate]   (0 or none: any free port on 127.0.0.1)
--deflate accepts permessage-deflate (aiohttp's ``compress=True``).
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import WSMsgType, web

DEFLATE = "--deflate" in sys.argv[1:]


async def echo(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=0, compress=DEFLATE, autoping=True)
    await ws.prepare(request)
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await ws.send_bytes(msg.data)
    return ws


async def main(port: int) -> None:
    app = web.Application()
    app.router.add_get("/", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"LISTENING {bound}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--deflate"]
    asyncio.run(main(int(args[0]) if args else 0))
