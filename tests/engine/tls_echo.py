"""A TLS WebSocket echo server (the websockets library's), for the wss:// tests.

Usage: python tls_echo.py CERT KEY READY_FILE — listens on 127.0.0.1, an ephemeral port,
and writes the port to READY_FILE once listening.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import sys

from websockets.asyncio.server import serve


async def echo(ws) -> None:  # noqa: ANN001
    async for message in ws:
        await ws.send(message)


async def main(cert: str, key: str, ready: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with serve(echo, "127.0.0.1", 0, ssl=context, ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        with open(ready + ".tmp", "w") as handle:
            handle.write(str(port))
        os.replace(ready + ".tmp", ready)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
