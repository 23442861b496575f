"""RFC 6455 frames: build any frame (valid or deliberately not), parse a peer's frames strictly.

Pure code: bytes in, frames out; no sockets, no asyncio. The builder never checks
anything: a conformance case must be able to send reserved bits, reserved opcodes,
oversized or fragmented control frames, a lying length field or an unmasked client
frame. The parser is the opposite: it is strict about what a *server* may send
(RFC 6455 section 5) and raises :class:`FrameError` naming the first violation.

Layout of a frame (RFC 6455 section 5.2)::

    byte 0: FIN | RSV1 | RSV2 | RSV3 | opcode (4 bits)
    byte 1: MASK | payload length (7 bits: 0-125, 126 -> 16-bit, 127 -> 64-bit)
    [extended length] [masking key, 4 bytes] payload

``rsv`` is the 3-bit value Autobahn uses: 4 = RSV1, 2 = RSV2, 1 = RSV3.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from wsbench.errors import RemoteProtocolError

__all__ = [
    "Opcode",
    "Frame",
    "FrameError",
    "FrameParser",
    "CONTROL_OPCODES",
    "DATA_OPCODES",
    "MAX_CONTROL_PAYLOAD",
    "encode_frame",
    "encode_frames",
    "apply_mask",
    "chop",
    "close_payload",
    "parse_close_payload",
    "is_valid_close_code",
    "describe_frame",
]

MAX_CONTROL_PAYLOAD = 125


class Opcode(IntEnum):
    """The opcodes RFC 6455 defines; any other value 0-15 is reserved."""

    CONT = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


DATA_OPCODES = frozenset({Opcode.CONT, Opcode.TEXT, Opcode.BINARY})
CONTROL_OPCODES = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})


class FrameError(RemoteProtocolError):
    """The peer sent a frame RFC 6455 forbids; the message says which rule it broke."""


@dataclass(frozen=True)
class Frame:
    """One frame, exactly as it goes on the wire.

    ``opcode`` is an int so that reserved opcodes (3-7, 11-15) can be built.
    ``masked`` is True for client frames; ``mask_key`` fixes the key (4 bytes),
    otherwise a random one is drawn when encoding. ``length`` overrides the
    length field (a frame that lies about its size); None writes the true length.
    """

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv: int = 0
    masked: bool = True
    mask_key: bytes | None = None
    length: int | None = None

    @property
    def is_control(self) -> bool:
        return self.opcode >= 0x8


def apply_mask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``key`` repeated (masking and unmasking are the same)."""
    if len(key) != 4:
        raise ValueError("a masking key has 4 bytes")
    size = len(data)
    if size == 0:
        return b""
    repeated = (key * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")


def _length_field(length: int) -> bytes:
    if length < 126:
        return bytes([length])
    if length < 1 << 16:
        return bytes([126]) + struct.pack("!H", length)
    return bytes([127]) + struct.pack("!Q", length)


def encode_frame(frame: Frame) -> bytes:
    """The wire bytes of ``frame``; builds invalid frames as readily as valid ones."""
    if not 0 <= frame.opcode <= 0xF:
        raise ValueError(f"an opcode has 4 bits, got {frame.opcode}")
    if not 0 <= frame.rsv <= 0x7:
        raise ValueError(f"rsv has 3 bits, got {frame.rsv}")
    head = (0x80 if frame.fin else 0) | (frame.rsv << 4) | frame.opcode
    length = len(frame.payload) if frame.length is None else frame.length
    field = bytearray(_length_field(length))
    if not frame.masked:
        return bytes([head]) + bytes(field) + frame.payload
    field[0] |= 0x80
    key = frame.mask_key if frame.mask_key is not None else secrets.token_bytes(4)
    return bytes([head]) + bytes(field) + key + apply_mask(frame.payload, key)


def encode_frames(frames: Iterable[Frame]) -> bytes:
    """The frames back to back, as one byte string."""
    return b"".join(encode_frame(frame) for frame in frames)


def chop(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (the last may be shorter)."""
    if size <= 0:
        raise ValueError(f"chop size must be positive, got {size}")
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def close_payload(code: int | None = None, reason: bytes = b"") -> bytes:
    """The payload of a close frame; any code 0-65535 (valid or not), raw reason bytes."""
    if code is None:
        return reason
    return struct.pack("!H", code) + reason


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may appear in a close frame (RFC 6455 7.4 and the IANA registry)."""
    if 3000 <= code <= 4999:
        return True
    return code in {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}


def parse_close_payload(payload: bytes) -> tuple[int | None, str]:
    """``(code, reason)`` of a close frame payload; FrameError if it breaks RFC 6455 5.5.1."""
    if not payload:
        return None, ""
    if len(payload) == 1:
        raise FrameError("close frame with a 1-byte payload")
    (code,) = struct.unpack("!H", payload[:2])
    if not is_valid_close_code(code):
        raise FrameError(f"close frame with invalid code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrameError("close frame reason is not valid UTF-8") from exc
    return code, reason


class FrameParser:
    """Incremental strict parser of the frames a server sends.

    ``feed(data)`` returns the frames completed by ``data``. ``allowed_rsv`` is the
    set of reserved bits an extension negotiated (4 for permessage-deflate's RSV1);
    ``max_payload`` bounds a single frame. After a FrameError the parser is dead.
    """

    def __init__(self, *, allowed_rsv: int = 0, max_payload: int = 1 << 30) -> None:
        self._buffer = bytearray()
        self._allowed_rsv = allowed_rsv
        self._max_payload = max_payload
        self._failed: FrameError | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        if self._failed is not None:
            raise self._failed
        self._buffer += data
        frames: list[Frame] = []
        try:
            while True:
                frame = self._next()
                if frame is None:
                    return frames
                frames.append(frame)
        except FrameError as exc:
            self._failed = exc
            raise

    def _next(self) -> Frame | None:
        buf = self._buffer
        if len(buf) < 2:
            return None
        head, second = buf[0], buf[1]
        fin, rsv, opcode = bool(head & 0x80), (head >> 4) & 0x7, head & 0xF
        masked, length = bool(second & 0x80), second & 0x7F
        offset = 2
        if length == 126:
            if len(buf) < 4:
                return None
            (length,) = struct.unpack_from("!H", buf, 2)
            offset = 4
            if length < 126:
                raise FrameError(f"non-minimal 16-bit length encoding of {length}")
        elif length == 127:
            if len(buf) < 10:
                return None
            (length,) = struct.unpack_from("!Q", buf, 2)
            offset = 10
            if length >> 63:
                raise FrameError("64-bit length with the most significant bit set")
            if length < 1 << 16:
                raise FrameError(f"non-minimal 64-bit length encoding of {length}")
        self._check_header(fin, rsv, opcode, masked, length)
        key = b""
        if masked:
            if len(buf) < offset + 4:
                return None
            key = bytes(buf[offset : offset + 4])
            offset += 4
        if len(buf) < offset + length:
            return None
        payload = bytes(buf[offset : offset + length])
        del buf[: offset + length]
        if masked:
            payload = apply_mask(payload, key)
        return Frame(opcode, payload, fin=fin, rsv=rsv, masked=masked,
                     mask_key=key or None)

    def _check_header(self, fin: bool, rsv: int, opcode: int, masked: bool, length: int) -> None:
        if masked:
            raise FrameError("server frame is masked")
        if opcode not in DATA_OPCODES and opcode not in CONTROL_OPCODES:
            raise FrameError(f"reserved opcode {opcode}")
        if rsv & ~self._allowed_rsv:
            raise FrameError(f"reserved bits set (rsv={rsv}) without a negotiated extension")
        if opcode >= 0x8:
            if not fin:
                raise FrameError(f"fragmented control frame (opcode {opcode})")
            if length > MAX_CONTROL_PAYLOAD:
                raise FrameError(f"control frame payload of {length} bytes (max 125)")
        if length > self._max_payload:
            raise FrameError(f"frame payload of {length} bytes exceeds {self._max_payload}")


def describe_frame(frame: Frame, *, preview: int = 32) -> str:
    """One line for a wire log: opcode, flags, length and the start of the payload."""
    try:
        name = Opcode(frame.opcode).name
    except ValueError:
        name = f"OP{frame.opcode}"
    flags = f"fin={int(frame.fin)}" + (f" rsv={frame.rsv}" if frame.rsv else "")
    if frame.masked:
        flags += " masked"
    length = len(frame.payload) if frame.length is None else frame.length
    payload = frame.payload
    prefix = ""
    if frame.opcode == Opcode.CLOSE and len(payload) >= 2:
        prefix = f"code={struct.unpack('!H', payload[:2])[0]} "
        payload = payload[2:]
    head = payload[:preview]
    shown = repr(head)[2:-1] if head.isascii() else "0x" + head.hex()
    more = "…" if len(payload) > preview else ""
    return f"{name} {flags} len={length} {prefix}{shown}{more}".rstrip()
