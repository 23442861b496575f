"""From a server's frames to messages, strictly (RFC 6455 sections 5.4, 5.5, 8.1).

Pure code. :class:`MessageAssembler` takes the frames :class:`~wsbench.protocol.frames.FrameParser`
produced and returns what the peer *said*: whole messages, pings, pongs, a close.
Anything a server must not do (a continuation with nothing to continue, a new data
frame inside a fragmented message, text that is not UTF-8, a malformed close frame)
raises :class:`~wsbench.protocol.frames.FrameError`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from wsbench.protocol.frames import Frame, FrameError, Opcode, parse_close_payload

__all__ = ["Message", "Ping", "Pong", "Close", "PeerEvent", "MessageAssembler"]


@dataclass(frozen=True)
class Message:
    """A complete data message; ``frames`` is how many frames carried it."""

    payload: bytes
    binary: bool
    frames: int = 1


@dataclass(frozen=True)
class Ping:
    payload: bytes


@dataclass(frozen=True)
class Pong:
    payload: bytes


@dataclass(frozen=True)
class Close:
    """A close frame; ``code`` is None for an empty payload."""

    code: int | None
    reason: str


PeerEvent = Message | Ping | Pong | Close


class MessageAssembler:
    """Reassembles fragmented messages and validates text as it arrives (fail fast)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._binary = False
        self._in_message = False
        self._decoder: codecs.IncrementalDecoder | None = None

    @property
    def in_message(self) -> bool:
        """Whether a fragmented message has started and not finished."""
        return self._in_message

    def receive(self, frame: Frame) -> PeerEvent | None:
        """The event ``frame`` completes, or None while a fragmented message goes on."""
        opcode = frame.opcode
        if opcode == Opcode.PING:
            return Ping(frame.payload)
        if opcode == Opcode.PONG:
            return Pong(frame.payload)
        if opcode == Opcode.CLOSE:
            code, reason = parse_close_payload(frame.payload)
            return Close(code, reason)
        if opcode == Opcode.CONT:
            if not self._in_message:
                raise FrameError("continuation frame with no message to continue")
        else:
            if self._in_message:
                raise FrameError("new data frame inside a fragmented message")
            self._in_message = True
            self._binary = opcode == Opcode.BINARY
            self._parts = []
            self._decoder = None if self._binary else codecs.getincrementaldecoder("utf-8")()
        self._parts.append(frame.payload)
        if self._decoder is not None:
            try:
                self._decoder.decode(frame.payload, final=frame.fin)
            except UnicodeDecodeError as exc:
                raise FrameError("text message is not valid UTF-8") from exc
        if not frame.fin:
            return None
        message = Message(b"".join(self._parts), self._binary, len(self._parts))
        self._in_message = False
        self._parts = []
        self._decoder = None
        return message
