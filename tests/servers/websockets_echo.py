"""Echo server on the websockets library (asyncio). Prints 'LISTENING <port>' once bound.

Usage: python websockets_echo.py [PORT] [--deflate]   (0 or none: any free port on 127.0.0.1)
--deflate accepts permessage-deflate (websockets' default server settings).
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def echo(ws: ServerConnection) -> None:
    try:
        async for message in ws:
            await ws.send(message)
    except ConnectionClosed:
        pass  # the conformance cases break connections on purpose


async def main(port: int, deflate: bool) -> None:
    compression = "deflate" if deflate else None
    async with serve(echo, "127.0.0.1", port, max_size=None, compression=compression) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"LISTENING {bound}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--deflate"]
    asyncio.run(main(int(args[0]) if args else 0, "--deflate" in sys.argv[1:]))
