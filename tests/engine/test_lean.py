"""The lean transport (wsbench/engine/lean.py) against real servers on loopback.

Sessions are real :class:`Session` objects of a real :class:`WorkerContext` whose transport is
:class:`LeanTransport`, in a uvloop loop. Servers: ``wsbench serve`` (a subprocess), the websockets
library's server, and small raw servers written here (asyncio streams, in the test's loop)
that do exactly what a case needs: fragment, split frames across reads, stay mute, hang
up, answer 503. Every wait is bounded by a multiple of WSBENCH_TEST_TIMEOUT_UNIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from itertools import product
from typing import Any

import pytest
import uvloop

from tests.utils import UNIT, wait_until_async
from wsbench.engine.contracts import ConnectSettings
from wsbench.engine.dial import UpgradeFailure
from wsbench.engine.lean import KEEPALIVE_PAYLOAD, LeanProtocol, LeanShared, LeanTransport, _Opening
from wsbench.engine.session import Session
from wsbench.engine.worker import WorkerContext, WorkerSpec
from wsbench.protocol.frames import Frame, apply_mask, encode_frame
from wsbench.protocol.handshake import accept_for, new_key
from wsbench.protocol.stamp import stamp_factory
from wsbench.scenario import Scenario, parse_scenario

CLOSE, PING, PONG = 0x8, 0x9, 0xA

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


# --- harness ------------------------------------------------------------------------------


def run(main: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, loop: str = "uvloop") -> Any:
    """Run ``main()`` in a fresh loop (uvloop, as the workers do), bounded in time."""

    async def bounded() -> Any:
        async with asyncio.timeout(timeout * UNIT):
            return await main()

    return uvloop.run(bounded()) if loop == "uvloop" else asyncio.run(bounded())


def context(tmp_path, url: str, **settings: Any) -> WorkerContext:
    """A real WorkerContext (in the running loop) whose sessions open with LeanTransport."""
    settings = {"sessions": 1, "ramp": 0, "mode": "closed", "messages": 5, "duration": 30,
                "reconnect": False, "reply_timeout": 1.0, "transport": "lean", **settings}
    scenario = parse_scenario({"targets": [f"t={url}"], "processes": 1, "out": str(tmp_path),
                               **settings})
    spec = WorkerSpec(index=0, workers=1, target="t", url=url, scenario=scenario,
                      sessions=tuple(range(scenario.sessions)),
                      shard_path=str(tmp_path / "worker-0.json"),
                      events_path=str(tmp_path / "events.jsonl"))
    ctx = WorkerContext(spec, asyncio.get_running_loop(), time.monotonic_ns())
    assert isinstance(ctx.transport, LeanTransport)
    return ctx


class Recorded(Session):
    """A real Session that also keeps every (code, reason) the transport reported, and its cause."""

    def __init__(self, ctx: WorkerContext, index: int) -> None:
        super().__init__(ctx, index)
        self.disconnects: list[tuple[int | None, str]] = []
        self.causes: list[str] = []

    def on_disconnect(self, code: int | None, reason: str, cause: str = "") -> None:
        self.disconnects.append((code, reason))
        self.causes.append(cause)
        super().on_disconnect(code, reason, cause)


async def run_sessions(ctx: WorkerContext) -> list[Recorded]:
    """Every session of ``ctx`` run to its end (Session.run, as the worker runs them)."""
    sessions = [Recorded(ctx, index) for index in ctx.spec.sessions]
    await asyncio.gather(*(session.run(0) for session in sessions))
    return sessions


async def phases_of_one(tmp_path, url: str, **settings: Any) -> dict[str, int]:
    """LeanTransport.open's phases for one session of its own context (closed at once: no messages)."""
    ctx = context(tmp_path, url, messages=0, **settings)
    session = Recorded(ctx, 0)
    phases = await ctx.transport.open(session)
    await wait_until_async(lambda: session.disconnects, 5)
    return phases


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[str]:
    """A TCP server in this loop running ``handler`` per connection; yields its ws:// URL."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    finally:
        server.close()


async def accept_upgrade(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         *, accept: str | None = None) -> bytes:
    """Read the upgrade request, answer 101; return the request head."""
    head = await reader.readuntil(b"\r\n\r\n")
    key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
    assert key is not None, head
    accept = accept or accept_for(key.group(1).decode())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode())
    return head


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """A client frame: (first byte, unmasked payload, whether it was masked)."""
    head = await reader.readexactly(2)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    key = await reader.readexactly(4) if head[1] & 0x80 else b""
    payload = await reader.readexactly(length)
    return head[0], (apply_mask(payload, key) if key else payload), bool(key)


async def read_until_close(reader: asyncio.StreamReader) -> tuple[bytes, bool]:
    """Skip the client's frames up to its close frame: (close payload, whether masked)."""
    while True:
        first, payload, masked = await read_frame(reader)
        if first & 0x0F == CLOSE:
            return payload, masked


def run_one_idle_session(tmp_path, handler: Any) -> Recorded:
    """One rate-mode session (practically idle) against a raw ``handler`` server."""

    async def main() -> list[Recorded]:
        async with raw_server(handler) as url:
            return await run_sessions(context(tmp_path, url, mode="rate", rate=0.001, messages=None))

    (session,) = run(main)
    return session


def server_frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> bytes:
    return encode_frame(Frame(opcode, payload, fin=fin, masked=False))


def unmatched(size: int, n: int) -> bytes:
    """A stamped message with a sequence number no session sent (counted as unmatched)."""
    return stamp_factory(size)(1 << 40 | n, 0)


# --- frames (no sockets) ------------------------------------------------------------------


@pytest.mark.parametrize("message_type", ["text", "binary"])
def test_client_frames_are_masked_with_fresh_keys_and_unmask_to_the_payload(message_type):
    loop = asyncio.new_event_loop()
    try:
        shared = LeanShared(loop, ConnectSettings.of(Scenario(message_type=message_type),
                                                     "ws://127.0.0.1:9/"))
        first = 0x82 if message_type == "binary" else 0x81
        for size in (0, 1, 31, 32, 125, 126, 127, 65535, 65536, 200_000):
            payload = os.urandom(size)
            for frame, expected_first in ((shared.data_frame(payload), first),
                                          (shared.frame(0x89, payload[:125]), 0x89)):
                body = payload if expected_first == first else payload[:125]
                assert frame[0] == expected_first
                assert frame[1] & 0x80, "MASK bit"
                length, offset = frame[1] & 0x7F, 2
                if length == 126:
                    length, offset = int.from_bytes(frame[2:4], "big"), 4
                    assert length >= 126
                elif length == 127:
                    length, offset = int.from_bytes(frame[2:10], "big"), 10
                    assert length >= 65536
                assert length == len(body) == len(frame) - offset - 4
                key = frame[offset:offset + 4]
                assert apply_mask(frame[offset + 4:], key) == body
                if len(body) >= 8:
                    assert frame[offset + 4:] != body  # really masked (a zero key: 2**-32)
        keys = {shared.data_frame(b"x" * 32)[2:6] for _ in range(3000)}  # > 2 pools of 1,024
        assert len(keys) >= 2990
    finally:
        loop.close()


def test_the_request_offers_the_scenarios_subprotocols_and_headers_once():
    scenario = Scenario(subprotocols=("chat.v1", "chat.v2"), headers=(("X-Token", "a"),))
    headers = [("X-Token", "a"), ("sec-websocket-protocol", "chat.v1, chat.v2"), ("x-token", "b"),
               ("user-agent", "probe/1")]  # the scenario's own, and the picows-style protocol header
    loop = asyncio.new_event_loop()
    try:
        shared = LeanShared(loop, ConnectSettings.of(dataclasses.replace(scenario, headers=headers),
                                                     "ws://[::1]:8080/a?b=c"))
    finally:
        loop.close()
    request = shared.request("dGhlIHNhbXBsZSBub25jZQ==").decode("latin-1")
    lines = request.split("\r\n")
    assert lines[0] == "GET /a?b=c HTTP/1.1" and request.endswith("\r\n\r\n")
    assert "Host: [::1]:8080" in lines
    assert "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" in lines
    assert "X-Token: a, b" in lines and "User-Agent: probe/1" in lines
    protocol_lines = [line for line in lines if line.lower().startswith("sec-websocket-protocol")]
    assert protocol_lines == ["Sec-WebSocket-Protocol: chat.v1, chat.v2"]
    assert shared.offered == ("chat.v1", "chat.v2")


# --- a real echo server -------------------------------------------------------------------


@pytest.mark.parametrize(("message_type", "size", "messages", "loop"), [
    ("text", 32, 100, "uvloop"), ("binary", 300, 100, "uvloop"), ("text", 70_000, 50, "uvloop"),
    ("binary", 900_000, 5, "uvloop"),  # frames over many reads
    ("text", 32, 100, "asyncio"),
])
def test_echo_round_trips_are_all_matched(tmp_path, echo_server, message_type, size, messages, loop):
    server = echo_server()

    async def main() -> tuple[WorkerContext, list[Recorded], dict[str, int]]:
        phases = await phases_of_one(tmp_path, server.url)
        ctx = context(tmp_path, server.url, sessions=4, messages=messages,
                      message_type=message_type, message_size=size)
        return ctx, await run_sessions(ctx), phases

    ctx, sessions, phases = run(main, loop=loop)
    assert set(phases) == {"tcp", "http", "total"}  # an IP literal: no DNS; ws://: no TLS
    assert phases["total"] == phases["tcp"] + phases["http"] and phases["http"] > 0
    rec = ctx.recorder
    total = 4 * messages
    assert (rec.sent, rec.received, rec.lost, rec.duplicated, rec.unmatched) == (total, total, 0, 0, 0)
    assert rec.opened == 4 and rec.failed == 0 and rec.rtt_pending
    assert rec.closes_by_code == {"1000": 4} and rec.closes_by_side["client"] == 4
    assert [s.disconnects for s in sessions] == [[(1000, "")]] * 4  # the server's reply
    assert rec.upgrade["http"].count == 4 and rec.upgrade["tls"].count == 0
    stats = server.stats()  # the websockets server read our masked frames and close frames
    assert stats["messages_echoed"] == total
    assert stats["closes_received_by_code"] == {"1000": 5}  # and the phases session


def test_a_host_name_adds_the_dns_phase(tmp_path, echo_server):
    server = echo_server()
    phases = run(lambda: phases_of_one(tmp_path, f"ws://localhost:{server.port}/"))
    assert set(phases) == {"dns", "tcp", "http", "total"} and phases["dns"] > 0
    assert phases["total"] == phases["dns"] + phases["tcp"] + phases["http"]


def test_a_server_close_with_4000_is_reported_with_its_code(tmp_path, echo_server):
    server = echo_server(close_sessions=1, close_code=4000, close_after_messages=2)

    async def main() -> tuple[WorkerContext, list[Recorded]]:
        ctx = context(tmp_path, server.url, sessions=3, messages=5)
        return ctx, await run_sessions(ctx)

    ctx, sessions = run(main)
    codes = sorted(code for s in sessions for code, _ in s.disconnects)
    assert codes == [1000, 1000, 4000]
    rec = ctx.recorder
    assert rec.closes_by_code == {"1000": 2, "4000": 1} and rec.dropped == 1
    assert rec.closes_by_side == {"client": 2, "server": 1, "abnormal": 0}
    stats = server.stats()
    assert stats["closes_sent_by_code"] == {"4000": 1}
    assert stats["closes_received_by_code"] == {"1000": 2}  # (it counts a close once: as sent)


def test_abort_ends_the_session_once_without_a_close_frame(tmp_path, echo_server):
    server = echo_server()

    async def main() -> list[Recorded]:
        ctx = context(tmp_path, server.url, mode="rate", rate=0.001, messages=None)
        session = Recorded(ctx, 0)
        task = asyncio.get_running_loop().create_task(session.run(0))
        await wait_until_async(lambda: ctx.recorder.received == 1, 5)
        session.abort()
        session.abort()  # twice: still one disconnect
        await task
        return [session]

    (session,) = run(main)
    assert session.disconnects == [(None, "no close frame")]


# --- fragments, split frames, control frames ----------------------------------------------


@pytest.mark.parametrize(("size", "fragment"), [(64, 7), (300_000, 65_536)])
def test_fragmented_messages_are_reassembled(tmp_path, size, fragment):
    from websockets.asyncio.server import serve

    async def echo_in_fragments(ws: Any) -> None:
        async for message in ws:
            await ws.send([message[i:i + fragment] for i in range(0, len(message), fragment)])

    async def main() -> WorkerContext:
        async with serve(echo_in_fragments, "127.0.0.1", 0, max_size=None) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
            ctx = context(tmp_path, url, sessions=2, messages=20, message_size=size,
                          message_type="binary")
            await run_sessions(ctx)
        return ctx

    rec = run(main).recorder
    assert (rec.sent, rec.received, rec.lost, rec.unmatched) == (40, 40, 0, 0)


def test_frames_split_anywhere_or_batched_are_parsed_and_pings_answered(tmp_path):
    """The server sends each echo with an extra frame whose first ``cut`` bytes end its write
    and whose rest starts the next one, sent only after the client's next message: so the
    client must keep the part across reads at every offset (7-bit, 16-bit, 64-bit length)."""
    extras = [
        server_frame(PING, b"p" * 125),
        server_frame(PONG, b"unsolicited"),
        server_frame(0x1, unmatched(300, 1)),
        server_frame(0x2, unmatched(70_000, 2)),
        server_frame(PING, b"a") + server_frame(0x1, unmatched(40, 3)) + server_frame(PING, b""),
        server_frame(0x1, unmatched(100, 4)[:30], fin=False) + server_frame(PING, b"mid")
        + server_frame(0x0, unmatched(100, 4)[30:60], fin=False)
        + server_frame(0x0, unmatched(100, 4)[60:]),
    ]
    pings = [[b"p" * 125], [], [], [], [b"a", b""], [b"mid"]]
    data_messages = [0, 0, 1, 1, 1, 1]
    steps = list(product(range(len(extras)), (1, 2, 3, 4, 5, 9, 11, -1)))
    seen: dict[str, Any] = {"pongs": [], "masked": set(), "close": None}

    async def chopper(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        pending, step = b"", 0
        while True:
            first, payload, masked = await read_frame(reader)
            seen["masked"].add(masked)
            if first & 0x0F == PONG:
                seen["pongs"].append(payload)
            elif first & 0x0F == CLOSE:
                seen["close"] = payload
                writer.write(server_frame(CLOSE, payload))
                return
            elif step < len(steps):
                extra, cut = extras[steps[step][0]], steps[step][1]
                writer.write(pending + server_frame(first & 0x0F, payload) + extra[:cut])
                pending, step = extra[cut:], step + 1
            else:  # the last message: the rest of the last extra, then its echo
                writer.write(pending + server_frame(first & 0x0F, payload))

    async def main() -> tuple[WorkerContext, list[Recorded]]:
        async with raw_server(chopper) as url:
            ctx = context(tmp_path, url, messages=len(steps) + 1)
            return ctx, await run_sessions(ctx)

    ctx, (session,) = run(main)
    completed = [index for index, _ in steps]  # extras whose last part reached the client
    rec = ctx.recorder
    assert (rec.sent, rec.received, rec.lost) == (len(steps) + 1, len(steps) + 1, 0)
    assert rec.unmatched == sum(data_messages[i] for i in completed)
    assert seen["pongs"] == [p for i in completed for p in pings[i]]  # same payloads, in order
    assert seen["masked"] == {True}
    assert seen["close"] == (1000).to_bytes(2, "big")
    assert session.disconnects == [(1000, "")]


@pytest.mark.parametrize("how", ["fragments", "one frame"])
def test_a_message_over_the_limit_is_closed_with_1009(tmp_path, how):
    limit = 1 << 20  # max(message_size * 2, 1 MiB)
    seen: dict[str, Any] = {}

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        if how == "fragments":  # exactly the limit in 16 fragments, then one byte more
            chunk = b"x" * 65_536
            writer.write(server_frame(0x2, chunk, fin=False))
            for _ in range(limit // len(chunk) - 1):
                writer.write(server_frame(0x0, chunk, fin=False))
            writer.write(server_frame(0x0, b"y", fin=False))
        else:  # only the header of a 2 MiB frame: the client must not wait for the rest
            writer.write(bytes((0x82, 127)) + (2 * limit).to_bytes(8, "big") + b"xyz")
        seen["close"] = await read_until_close(reader)

    session = run_one_idle_session(tmp_path, flood)
    assert seen["close"] == ((1009).to_bytes(2, "big"), True)
    ((code, reason),) = session.disconnects
    assert code is None and reason.endswith("closed with 1009"), reason
    assert session.causes == ["message_too_big"]


@pytest.mark.parametrize(("close", "reported", "reply"), [
    (b"", (1005, ""), b""),  # no code: 1005, answered with an empty close frame
    ((4000).to_bytes(2, "big") + "bye ✓".encode(), (4000, "bye ✓"), (4000).to_bytes(2, "big")),
    ((1006).to_bytes(2, "big"), (1006, ""), (1002).to_bytes(2, "big")),  # may not be sent
])
def test_a_server_close_is_answered_and_reported(tmp_path, close, reported, reply):
    seen: dict[str, Any] = {}

    async def close_empty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        first, payload, _ = await read_frame(reader)
        writer.write(server_frame(first & 0x0F, payload) + server_frame(CLOSE, close))
        while True:
            first, payload, masked = await read_frame(reader)
            if first & 0x0F == CLOSE:
                seen["reply"] = (payload, masked)
                return

    async def main() -> tuple[WorkerContext, list[Recorded]]:
        async with raw_server(close_empty) as url:
            ctx = context(tmp_path, url, messages=5)
            return ctx, await run_sessions(ctx)

    ctx, (session,) = run(main)
    assert seen["reply"] == (reply, True)
    assert session.disconnects == [reported]
    assert ctx.recorder.closes_by_side["server"] == 1 and ctx.recorder.received == 1


def test_a_hang_up_without_a_close_frame_is_a_drop(tmp_path):
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        for _ in range(2):
            first, payload, _ = await read_frame(reader)
            writer.write(server_frame(first & 0x0F, payload))
        await read_frame(reader)  # the third message (nothing unread: a FIN, not a reset)
        # serve() then closes the socket: no close frame

    async def main() -> tuple[WorkerContext, list[Recorded]]:
        async with raw_server(hang_up) as url:
            ctx = context(tmp_path, url, messages=5)
            return ctx, await run_sessions(ctx)

    ctx, (session,) = run(main)
    assert session.disconnects == [(None, "no close frame")]
    rec = ctx.recorder
    assert rec.received == 2 and rec.dropped == 1 and rec.closes_by_code == {"1006": 1}
    assert rec.closes_by_side["abnormal"] == 1 and rec.lost == 1


@pytest.mark.parametrize(("frames", "why"), [
    (bytes((0x81, 0x80 | 4)) + b"abcd" + b"wxyz", "masked_frame"),
    (bytes((0xC1, 2)) + b"hi", "reserved_bits"),
    (bytes((0x83, 0)), "reserved_opcode"),
    (bytes((0x80, 2)) + b"hi", "unexpected_continuation"),
    (bytes((0x09, 0)), "fragmented_control"),
    (bytes((0x01, 1)) + b"a" + bytes((0x01, 1)) + b"b", "unfinished_message"),
    (bytes((0x8B, 0)), "reserved_opcode"),
    (bytes((0x88, 1)) + b"x", "bad_close_payload"),
])
def test_protocol_errors_are_closed_with_1002_and_dropped(tmp_path, frames, why):
    seen: dict[str, Any] = {}

    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        writer.write(frames)
        seen["close"] = await read_until_close(reader)

    session = run_one_idle_session(tmp_path, broken)
    assert seen["close"] == ((1002).to_bytes(2, "big"), True)
    ((code, reason),) = session.disconnects
    assert code is None and session.causes == [f"protocol_error:{why}"], (reason, session.causes)


async def _open_and_close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """The 101, a message and a close frame in one write; then the client's end."""
    head = await reader.readuntil(b"\r\n\r\n")
    key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
    assert key is not None
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 + f"Sec-WebSocket-Accept: {accept_for(key.group(1).decode())}\r\n\r\n".encode()
                 + server_frame(0x1, unmatched(32, 1))
                 + server_frame(CLOSE, (4000).to_bytes(2, "big") + b"bye"))
    await reader.read()  # until the client closes


def test_frames_that_come_with_the_101_are_handled_after_on_open(tmp_path):
    async def main() -> tuple[WorkerContext, list[Recorded]]:
        async with raw_server(_open_and_close_at_once) as url:
            ctx = context(tmp_path, url)
            return ctx, await run_sessions(ctx)

    ctx, (session,) = run(main)
    assert session.disconnects == [(4000, "bye")]
    rec = ctx.recorder
    assert rec.opened == 1 and rec.unmatched == 1 and rec.closes_by_code == {"4000": 1}


class Watched(LeanProtocol):
    """The real protocol, telling the test when it read something and when it was lost."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.reads: asyncio.Queue[int] = asyncio.Queue()
        self.lost = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.reads.put_nowait(len(data))

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.lost.set()


def test_a_split_101_then_frames_then_a_hang_up_before_the_hand_over(tmp_path):
    """LeanTransport.open hands over right after the 101; here the test holds the hand-over back: the
    101 comes in three reads, a message and a close frame after it, then the peer hangs up."""
    protocols: list[Watched] = []
    after_101 = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = re.search(rb"(?im)^sec-websocket-key:\s*(\S+)", head)
        assert key is not None
        response = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
                    + accept_for(key.group(1).decode()).encode() + b"\r\n\r\n")
        for piece in (response[:10], response[10:-3], response[-3:]):
            writer.write(piece)
            await protocols[0].reads.get()  # the client has read this piece
        await after_101.wait()
        writer.write(server_frame(0x1, unmatched(32, 1))
                     + server_frame(CLOSE, (4000).to_bytes(2, "big") + b"bye"))
        await protocols[0].reads.get()  # read while upgraded, not yet handed over; hang up

    async def main() -> tuple[WorkerContext, Recorded]:
        loop = asyncio.get_running_loop()
        async with raw_server(slow) as url:
            ctx = context(tmp_path, url)
            shared = ctx.transport.shared
            key = new_key()
            opened: asyncio.Future[tuple[int, str | None]] = loop.create_future()
            protocols.append(Watched(shared, _Opening(shared.request(key), key, opened)))
            await loop.create_connection(lambda: protocols[0], "127.0.0.1", ctx.connect.endpoint.port)
            await opened
            after_101.set()
            await protocols[0].lost.wait()
            session = Recorded(ctx, 0)
            protocols[0].attach(session)  # on_open sends: into a lost connection, dropped quietly
            return ctx, session

    ctx, session = run(main)
    assert session.disconnects == [(4000, "bye")]
    assert ctx.recorder.unmatched == 1 and ctx.recorder.sent == 1


def test_cancelling_an_upgrade_closes_its_connection(tmp_path):
    seen: dict[str, Any] = {}
    request_read = asyncio.Event()

    async def wait_for_the_end(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        request_read.set()
        try:
            seen["read"] = await reader.read()
        except ConnectionError as exc:
            seen["read"] = exc

    async def main() -> None:
        async with raw_server(wait_for_the_end) as url:
            ctx = context(tmp_path, url)
            task = asyncio.get_running_loop().create_task(ctx.transport.open(Recorded(ctx, 0)))
            await request_read.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await wait_until_async(lambda: "read" in seen, 5)

    run(main)
    assert seen["read"] == b"" or isinstance(seen["read"], ConnectionResetError)


# --- the upgrade ----------------------------------------------------------------------------


async def _answer_503(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
    await reader.read()  # until the client hangs up


async def _hang_up_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")


async def _never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()


async def _wrong_accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await accept_upgrade(reader, writer, accept="bm90IHRoZSByaWdodCBrZXk=")
    await reader.read()


async def _not_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    await reader.read()


@pytest.mark.parametrize(("handler", "kind"), [
    (_answer_503, "http_503"), (_hang_up_at_once, "closed_before_101"), (_never_answer, "timeout"),
    (_wrong_accept, "bad_accept"), (_not_http, "bad_response"),
])
def test_failed_upgrades_are_classified(tmp_path, handler, kind):
    async def main() -> tuple[str, WorkerContext]:
        async with raw_server(handler) as url:
            ctx = context(tmp_path, url, connect_timeout=0.3 * UNIT)
            try:
                await ctx.transport.open(Recorded(ctx, 0))
            except UpgradeFailure as failure:
                direct = failure.kind
            else:
                raise AssertionError("the upgrade did not fail")
            await run_sessions(ctx)  # the same through Session.run
            return direct, ctx

    direct, ctx = run(main)
    assert direct == kind
    assert ctx.recorder.upgrade_failures == {kind: 1} and ctx.recorder.opened == 0


def test_a_refused_connection_is_refused(tmp_path, unused_port):
    async def main() -> str:
        ctx = context(tmp_path, f"ws://127.0.0.1:{unused_port}/")
        try:
            await ctx.transport.open(Recorded(ctx, 0))
        except UpgradeFailure as failure:
            return failure.kind
        raise AssertionError("the upgrade did not fail")

    assert run(main) == "refused"


def test_subprotocol_and_extra_headers_reach_the_server(tmp_path):
    from websockets.asyncio.server import serve

    requests: list[Any] = []

    def capture(connection: Any, request: Any) -> None:
        requests.append(request)

    async def echo(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async def main() -> WorkerContext:
        async with serve(echo, "127.0.0.1", 0, subprotocols=["chat.v2"], process_request=capture) as server:
            url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/room?id=7"
            ctx = context(tmp_path, url, subprotocols=["chat.v1", "chat.v2"],
                          headers={"X-Wsbench-Test": "yes"}, messages=3)
            await run_sessions(ctx)
        return ctx

    ctx = run(main)
    assert ctx.subprotocols == {"chat.v2": 1}
    assert ctx.recorder.received == 3
    (request,) = requests
    assert request.path == "/room?id=7"
    assert request.headers.get_all("Sec-WebSocket-Protocol") == ["chat.v1, chat.v2"]
    assert request.headers["X-Wsbench-Test"] == "yes"


# --- TLS ------------------------------------------------------------------------------------


def test_wss_round_trips_with_a_timed_tls_phase(tmp_path, tls_echo_url, tls_material):
    cert, _ = tls_material

    async def main() -> tuple[WorkerContext, dict[str, int]]:
        phases = await phases_of_one(tmp_path, tls_echo_url, ca_file=str(cert))
        ctx = context(tmp_path, tls_echo_url, sessions=3, messages=10, ca_file=str(cert))
        await run_sessions(ctx)
        return ctx, phases

    ctx, phases = run(main)
    assert set(phases) == {"tcp", "tls", "http", "total"}
    assert phases["tls"] > 0 and phases["http"] > 0
    assert phases["total"] == phases["tcp"] + phases["tls"] + phases["http"]
    rec = ctx.recorder
    assert (rec.sent, rec.received, rec.lost) == (30, 30, 0)
    assert rec.upgrade["tls"].count == 3 and rec.closes_by_code == {"1000": 3}


def test_wss_with_an_unknown_ca_fails_as_tls(tmp_path, tls_echo_url):
    async def main() -> str:
        ctx = context(tmp_path, tls_echo_url)
        try:
            await ctx.transport.open(Recorded(ctx, 0))
        except UpgradeFailure as failure:
            return failure.kind
        raise AssertionError("the upgrade did not fail")

    assert run(main) == "tls"


# --- keepalive --------------------------------------------------------------------------------


def test_connections_whose_pings_get_no_pong_are_dropped_as_ping_timeout(tmp_path):
    interval = 0.2 * UNIT
    pings: list[tuple[bytes, bool]] = []

    async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        while True:  # reads everything, answers nothing
            first, payload, masked = await read_frame(reader)
            if first & 0x0F == PING:
                pings.append((payload, masked))

    async def main() -> tuple[WorkerContext, list[Recorded], float]:
        async with raw_server(mute) as url:
            ctx = context(tmp_path, url, sessions=3, mode="rate", rate=0.001, messages=None,
                          ping_interval=interval)
            start = time.monotonic()
            sessions = await run_sessions(ctx)
            return ctx, sessions, time.monotonic() - start

    ctx, sessions, elapsed = run(main)
    assert [s.disconnects for s in sessions] == [[(None, "ping timeout")]] * 3
    assert ctx.recorder.dropped == 3 and ctx.recorder.closes_by_side["abnormal"] == 3
    assert len(pings) == 3 and set(pings) == {(KEEPALIVE_PAYLOAD, True)}
    assert 0.9 * interval <= elapsed <= 2 * interval + 1.0 * UNIT  # one unanswered interval
    keepalive = ctx.transport.shared.keepalive
    assert keepalive.timeouts == 3 and len(keepalive) == 0


def test_a_close_the_server_never_answers_ends_after_a_keepalive_turn(tmp_path):
    interval = 0.2 * UNIT

    async def deaf_to_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accept_upgrade(reader, writer)
        while True:  # echoes, answers pings, ignores the close frame
            first, payload, _ = await read_frame(reader)
            if first & 0x0F == PING:
                writer.write(server_frame(PONG, payload))
            elif first & 0x0F != CLOSE:
                writer.write(server_frame(first & 0x0F, payload))

    async def main() -> tuple[WorkerContext, list[Recorded]]:
        async with raw_server(deaf_to_close) as url:
            ctx = context(tmp_path, url, messages=2, ping_interval=interval)
            return ctx, await run_sessions(ctx)

    ctx, (session,) = run(main)
    assert session.disconnects == [(None, "close timeout")]
    rec = ctx.recorder  # the client closed: not a drop
    assert rec.received == 2 and rec.dropped == 0 and rec.closes_by_side["client"] == 1


def test_connections_whose_pings_are_answered_stay_open(tmp_path, echo_server):
    server = echo_server()  # websockets: answers pings

    async def main() -> tuple[WorkerContext, list[Recorded], bool]:
        ctx = context(tmp_path, server.url, sessions=5, mode="rate", rate=0.001, messages=None,
                      ping_interval=0.1 * UNIT, reply_timeout=0.5)
        sessions = [Recorded(ctx, index) for index in range(5)]
        tasks = [asyncio.get_running_loop().create_task(s.run(0)) for s in sessions]
        await wait_until_async(lambda: ctx.recorder.opened == 5, 5)
        keepalive = ctx.transport.shared.keepalive
        await wait_until_async(lambda: keepalive.pings >= 3 * 5, 5)  # two rounds of pongs checked
        still_open = all(s.connected for s in sessions) and keepalive.timeouts == 0
        for session in sessions:
            session.finish()
        await asyncio.gather(*tasks)
        return ctx, sessions, still_open

    ctx, sessions, still_open = run(main)
    assert still_open
    assert [s.disconnects for s in sessions] == [[(1000, "")]] * 5
    keepalive = ctx.transport.shared.keepalive
    assert len(keepalive) == 0 and ctx.recorder.dropped == 0
    keepalive.close()  # idle already: nothing to stop


def test_keepalive_turns_come_every_quarter_second_so_pings_go_out_in_small_batches():
    from wsbench.engine.lean import keepalive_slots

    assert keepalive_slots(30) == 120  # a 30 s interval: 1/120 of the sessions every 0.25 s
    assert keepalive_slots(10) == 40
    assert keepalive_slots(0.5) == keepalive_slots(2.5) == 10  # short intervals keep 10 turns
