"""A deliberately non-conforming echo server, for wsbench's conformance tests.

Built on the websockets library's Sans-I/O protocol, so that everything else is
conforming; it breaks exactly two rules:

* it ignores the reserved bits (RSV1-3) of every frame it receives (group 3), and
* it never validates UTF-8: text is echoed frame by frame as raw bytes (group 6's
  invalid cases, where a conforming server fails the connection with 1007).

Prints 'LISTENING <port>' once bound. Usage: python bad_echo.py [PORT]
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys

from websockets import frames
from websockets.exceptions import InvalidState
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

_strict_check = frames.Frame.check


def _check_ignoring_rsv(self: Frame) -> None:
    _strict_check(dataclasses.replace(self, rsv1=False, rsv2=False, rsv3=False))


frames.Frame.check = _check_ignoring_rsv  # type: ignore[method-assign]


def _echo(protocol: ServerProtocol, frame: Frame) -> None:
    try:
        if frame.opcode is Opcode.TEXT:
            protocol.send_text(frame.data, fin=frame.fin)
        elif frame.opcode is Opcode.BINARY:
            protocol.send_binary(frame.data, fin=frame.fin)
        elif frame.opcode is Opcode.CONT:
            protocol.send_continuation(frame.data, fin=frame.fin)
    except InvalidState:
        pass  # closing: nothing more to echo


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    protocol = ServerProtocol(max_size=None)
    try:
        while True:
            data = await reader.read(65536)
            if data:
                protocol.receive_data(data)
            else:
                protocol.receive_eof()
            for event in protocol.events_received():
                if isinstance(event, Request):
                    protocol.send_response(protocol.accept(event))
                elif isinstance(event, Frame):
                    _echo(protocol, event)
            for chunk in protocol.data_to_send():
                if not chunk:  # the protocol wants the TCP connection closed
                    writer.close()
                    return
                writer.write(chunk)
            await writer.drain()
            if not data:
                return
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
