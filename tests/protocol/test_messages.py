"""Reassembly and validation of a server's messages (no sockets)."""

from __future__ import annotations

import pytest

from wsbench.protocol.frames import Frame, FrameError, Opcode
from wsbench.protocol.messages import Close, Message, MessageAssembler, Ping, Pong


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True) -> Frame:
    return Frame(opcode, payload, fin=fin, masked=False)


def test_fragmented_text_with_interleaved_control_frames() -> None:
    asm = MessageAssembler()
    text = "κόσμε".encode()
    assert asm.receive(frame(Opcode.TEXT, text[:3], fin=False)) is None  # split inside a code point
    assert asm.in_message
    assert asm.receive(frame(Opcode.PING, b"p")) == Ping(b"p")
    assert asm.receive(frame(Opcode.PONG, b"q")) == Pong(b"q")
    assert asm.receive(frame(Opcode.CONT, text[3:])) == Message(text, False, 2)
    assert not asm.in_message


def test_binary_is_not_utf8_checked() -> None:
    assert MessageAssembler().receive(frame(Opcode.BINARY, b"\xff")) == Message(b"\xff", True)


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([frame(Opcode.CONT, b"x")], "nothing|no message"),
        ([frame(Opcode.TEXT, b"a", fin=False), frame(Opcode.TEXT, b"b")], "inside a fragmented"),
        ([frame(Opcode.TEXT, b"\xed\xa0\x80")], "UTF-8"),
        # fail fast: the bad octet is in the first fragment, the message is not complete
        ([frame(Opcode.TEXT, b"ok\xf4\x90", fin=False)], "UTF-8"),
        ([frame(Opcode.CLOSE, b"\x03")], "1-byte"),
    ],
)
def test_violations(frames: list[Frame], problem: str) -> None:
    asm = MessageAssembler()
    with pytest.raises(FrameError, match=problem):
        for f in frames:
            asm.receive(f)


def test_truncated_utf8_at_end_of_message_is_invalid() -> None:
    asm = MessageAssembler()
    assert asm.receive(frame(Opcode.TEXT, b"\xce", fin=False)) is None
    with pytest.raises(FrameError):
        asm.receive(frame(Opcode.CONT, b""))


def test_close() -> None:
    assert MessageAssembler().receive(frame(Opcode.CLOSE, b"\x03\xe9gone")) == Close(1001, "gone")
