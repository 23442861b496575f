"""An otherwise conforming echo server that is slow to answer pings, or never answers them.

Built on the websockets library's Sans-I/O protocol. It handles what it receives
strictly in order: with ``--pong-delay SECONDS`` it answers each ping only after that
delay, and everything received after the ping waits for the pong (the order of its
answers stays right); with ``--no-pong`` it never answers a ping. Text is validated
frame by frame (fail-fast UTF-8, 1007). Used to show that wsbench, as Autobahn, needs no
pong to judge groups 5 and 6 except where a case expects the pong itself.

Prints 'LISTENING <port>' once bound.
Usage: python pong_echo.py [PORT] (--pong-delay SECONDS | --no-pong)
"""

from __future__ import annotations

import asyncio
import codecs
import sys

from websockets.exceptions import InvalidState
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol


class _NoAutoPong(ServerProtocol):
    """The protocol, without its automatic pong: the handler decides when (or whether)."""

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING:
            self.events.append(frame)
            return
        super().recv_frame(frame)


class _Echo:
    def __init__(self, protocol: ServerProtocol) -> None:
        self.protocol = protocol
        self.parts: list[bytes] = []
        self.binary = False
        self.decoder: codecs.IncrementalDecoder | None = None

    def frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self.parts = []
            self.binary = frame.opcode is Opcode.BINARY
            self.decoder = None if self.binary else codecs.getincrementaldecoder("utf-8")()
        elif frame.opcode is not Opcode.CONT:
            return
        try:
            if self.decoder is not None:
                self.decoder.decode(frame.data, final=frame.fin)
        except UnicodeDecodeError:
            self.protocol.fail(CloseCode.INVALID_DATA, "invalid UTF-8")
            return
        self.parts.append(frame.data)
        if frame.fin:
            data = b"".join(self.parts)
            try:
                if self.binary:
                    self.protocol.send_binary(data)
                else:
                    self.protocol.send_text(data)
            except InvalidState:
                pass  # closing: nothing more to echo


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 pong_delay: float | None) -> None:
    protocol = _NoAutoPong(max_size=None)
    echo = _Echo(protocol)

    async def flush() -> bool:
        for chunk in protocol.data_to_send():
            if not chunk:  # the protocol wants the TCP connection closed
                return False
            writer.write(chunk)
        await writer.drain()
        return True

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
                elif isinstance(event, Frame) and event.opcode is Opcode.PING:
                    if pong_delay is None:
                        continue
                    if not await flush():
                        return
                    await asyncio.sleep(pong_delay)  # everything after the ping waits too
                    try:
                        protocol.send_pong(event.data)
                    except InvalidState:
                        pass
                elif isinstance(event, Frame):
                    echo.frame(event)
            if not await flush() or not data:
                return
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main(port: int, pong_delay: float | None) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, pong_delay=pong_delay), "127.0.0.1", port)
    print(f"LISTENING {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    argv = sys.argv[1:]
    delay: float | None = None
    if "--pong-delay" in argv:
        at = argv.index("--pong-delay")
        delay = float(argv[at + 1])
        del argv[at : at + 2]
    elif "--no-pong" in argv:
        argv.remove("--no-pong")
    else:
        sys.exit("give --pong-delay SECONDS or --no-pong")
    asyncio.run(main(int(argv[0]) if argv else 0, delay))
