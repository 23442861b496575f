"""From a server's frames to messages, strictly (RFC 6455 sections 5.4, 5.5, 8.1).

Pure code. :class:`MessageAssembler` takes the frames :class:`~wsbench.protocol.frames.FrameParser`
produced and returns what the peer *said*: whole messages, pings, pongs, a close.
Anything a server must not do (a continuation with nothing to continue, a new data
frame inside a fragmented message, text that is not UTF-8, a malformed close frame)
raises :class:`~wsbench.protocol.frames.FrameError`.

With permessage-deflate agreed (an :class:`~wsbench.protocol.deflate.Inflater`), RSV1
on the first frame of a message marks it compressed (RFC 7692 section 6); RSV1 on a
continuation or a control frame, or data that does not inflate, is a violation.
"""

from __future__ import annotations

import codecs
import zlib
from dataclasses import dataclass, field

from wsbench.protocol.deflate import Inflater
from wsbench.protocol.frames import Frame, FrameError, Opcode, parse_close_payload

__all__ = ["Message", "Ping", "Pong", "Close", "PeerEvent", "MessageAssembler"]


@dataclass(frozen=True)
class Message:
    """A complete data message; ``frames`` is how many frames carried it, ``wire_size``
    the bytes of payload they carried (smaller than the message when ``compressed``)."""

    payload: bytes
    binary: bool
    frames: int = 1
    compressed: bool = False
    wire_size: int | None = field(default=None, compare=False)


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
    """Reassembles fragmented messages and validates text as it arrives (fail fast).

    ``inflater``: permessage-deflate was agreed; compressed messages are inflated
    frame by frame, and their text is validated as it inflates.
    """

    def __init__(self, *, inflater: Inflater | None = None) -> None:
        self._parts: list[bytes] = []
        self._binary = False
        self._in_message = False
        self._compressed = False
        self._wire_size = 0
        self._decoder: codecs.IncrementalDecoder | None = None
        self._inflater = inflater

    @property
    def in_message(self) -> bool:
        """Whether a fragmented message has started and not finished."""
        return self._in_message

    def receive(self, frame: Frame) -> PeerEvent | None:
        """The event ``frame`` completes, or None while a fragmented message goes on."""
        opcode = frame.opcode
        if frame.rsv & 4 and (opcode == Opcode.CONT or opcode >= 0x8):
            kind = "continuation" if opcode == Opcode.CONT else "control"
            raise FrameError(f"RSV1 set on a {kind} frame (permessage-deflate marks only the first)")
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
            self._compressed = bool(frame.rsv & 4)
            self._wire_size = 0
            self._parts = []
            self._decoder = None if self._binary else codecs.getincrementaldecoder("utf-8")()
        self._wire_size += len(frame.payload)
        plain = self._inflate(frame) if self._compressed else frame.payload
        self._parts.append(plain)
        if self._decoder is not None:
            try:
                self._decoder.decode(plain, final=frame.fin)
            except UnicodeDecodeError as exc:
                raise FrameError("text message is not valid UTF-8") from exc
        if not frame.fin:
            return None
        message = Message(b"".join(self._parts), self._binary, len(self._parts),
                          self._compressed, self._wire_size)
        self._in_message = False
        self._parts = []
        self._decoder = None
        return message

    def _inflate(self, frame: Frame) -> bytes:
        if self._inflater is None:  # the parser only lets RSV1 through when deflate was agreed
            raise FrameError("RSV1 set without permessage-deflate")
        try:
            return self._inflater.feed(frame.payload, fin=frame.fin)
        except zlib.error as exc:
            raise FrameError(f"compressed message does not inflate: {exc}") from exc
        except ValueError as exc:
            raise FrameError(str(exc)) from exc
