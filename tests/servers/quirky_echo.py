"""An echo server with known quirks, counted per session (ground truth for message matching).

For the k-th message of a session (k = 1, 2, ...):

* k % 5 == 0: echoed twice (one duplicate);
* k % 7 == 0: a non-stamp text message ``hello`` comes first (one unmatched);
* k % 11 == 0: echoed as a fragmented message (two frames);
* k % 13 == 0: echoed as a binary message;
* k % 17 == 0: held, and echoed right after the echo of message k + 1 (one reordered).

Prints 'LISTENING <port>' once bound. Usage: python quirky_echo.py [PORT]
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


async def quirky(ws: ServerConnection) -> None:
    held: str | bytes | None = None
    k = 0
    try:
        async for message in ws:
            k += 1
            if k % 17 == 0:
                held = message
                continue
            if k % 7 == 0:
                await ws.send("hello")
            if k % 13 == 0:
                message = message.encode() if isinstance(message, str) else message
            if k % 11 == 0:
                await ws.send([message[:10], message[10:]])
            else:
                await ws.send(message)
            if k % 5 == 0:
                await ws.send(message)
            if held is not None:
                await ws.send(held)
                held = None
    except ConnectionClosed:
        pass


async def main(port: int) -> None:
    async with serve(quirky, "127.0.0.1", port, max_size=None, compression=None) as server:
        print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
