"""The frame codec: builds any frame, parses a server's frames strictly (no sockets)."""

from __future__ import annotations

import pytest

from wsbench.protocol.frames import (
    Frame,
    FrameError,
    FrameParser,
    Opcode,
    apply_mask,
    chop,
    close_payload,
    describe_frame,
    encode_frame,
    is_valid_close_code,
    parse_close_payload,
)

KEY = b"\x01\x02\x03\x04"


def server_frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> bytes:
    return encode_frame(Frame(opcode, payload, fin=fin, rsv=rsv, masked=False))


def test_rfc6455_example_frames() -> None:
    # RFC 6455 section 5.7: unmasked and masked "Hello", a 256-byte binary frame.
    assert server_frame(Opcode.TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    masked = encode_frame(Frame(Opcode.TEXT, b"Hello", mask_key=bytes.fromhex("37fa213d")))
    assert masked == bytes.fromhex("818537fa213d7f9f4d5158")
    assert server_frame(Opcode.BINARY, b"\x00" * 256)[:4] == bytes.fromhex("827e0100")
    assert server_frame(Opcode.BINARY, b"\x00" * 65536)[:10] == bytes.fromhex("827f0000000000010000")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_length_encodings_round_trip(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    (frame,) = FrameParser().feed(server_frame(Opcode.BINARY, payload))
    assert frame.payload == payload and frame.opcode == Opcode.BINARY and frame.fin


def test_builds_invalid_frames_verbatim() -> None:
    # reserved bits, reserved opcode, fragmented oversized control frame, a lying length
    wire = encode_frame(Frame(0xB, b"x" * 200, fin=False, rsv=7, mask_key=KEY, length=3))
    assert wire[0] == 0x7B  # fin=0, rsv=111, opcode 11
    assert wire[1] == 0x80 | 3
    assert wire[2:6] == KEY
    assert apply_mask(wire[6:], KEY) == b"x" * 200
    unmasked = encode_frame(Frame(Opcode.TEXT, b"hi", masked=False))
    assert unmasked == b"\x81\x02hi"


def test_mask_is_an_involution_and_random_by_default() -> None:
    data = bytes(range(251)) * 3
    assert apply_mask(apply_mask(data, KEY), KEY) == data
    a = encode_frame(Frame(Opcode.BINARY, b"\x00" * 64))
    b = encode_frame(Frame(Opcode.BINARY, b"\x00" * 64))
    assert a[2:6] != b[2:6] or a != b  # fresh keys (equal only by a 2**-32 chance)


def test_parser_is_incremental_byte_by_byte() -> None:
    wire = server_frame(Opcode.TEXT, b"hello") + server_frame(Opcode.PING, b"p")
    parser = FrameParser()
    frames = [f for byte in wire for f in parser.feed(bytes([byte]))]
    assert [(f.opcode, f.payload) for f in frames] == [(Opcode.TEXT, b"hello"), (Opcode.PING, b"p")]
    assert parser.buffered == 0


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (encode_frame(Frame(Opcode.TEXT, b"x", mask_key=KEY)), "masked"),
        (server_frame(Opcode.TEXT, b"x", rsv=4), "reserved bits"),
        (server_frame(3), "reserved opcode 3"),
        (server_frame(0xB), "reserved opcode 11"),
        (server_frame(Opcode.PING, b"x", fin=False), "fragmented control"),
        (server_frame(Opcode.PING, b"x" * 126), "control frame payload of 126"),
        (b"\x82\x7e\x00\x05hello", "non-minimal 16-bit"),
        (b"\x82\x7f" + (5).to_bytes(8, "big") + b"hello", "non-minimal 64-bit"),
        (b"\x82\x7f" + (1 << 63).to_bytes(8, "big"), "most significant bit"),
    ],
)
def test_parser_rejects_what_a_server_must_not_send(wire: bytes, problem: str) -> None:
    parser = FrameParser()
    with pytest.raises(FrameError, match=problem):
        parser.feed(wire)
    with pytest.raises(FrameError):  # a failed parser stays failed
        parser.feed(server_frame(Opcode.TEXT, b"ok"))


def test_parser_accepts_negotiated_rsv1() -> None:
    (frame,) = FrameParser(allowed_rsv=4).feed(server_frame(Opcode.TEXT, b"x", rsv=4))
    assert frame.rsv == 4


def test_close_payloads() -> None:
    assert close_payload(1000, b"bye") == b"\x03\xe8bye"
    assert close_payload(None) == b""
    assert parse_close_payload(b"") == (None, "")
    assert parse_close_payload(b"\x03\xe8bye") == (1000, "bye")
    for bad, problem in [(b"\x03", "1-byte"), (b"\x03\xed", "invalid code 1005"),
                         (b"\x03\xe8\xff", "UTF-8")]:
        with pytest.raises(FrameError, match=problem):
            parse_close_payload(bad)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1011, 1012, 3000, 4999])
def test_valid_close_codes(code: int) -> None:
    assert is_valid_close_code(code)


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535])
def test_invalid_close_codes(code: int) -> None:
    assert not is_valid_close_code(code)


def test_chop_and_describe() -> None:
    assert chop(b"abcde", 2) == [b"ab", b"cd", b"e"]
    assert chop(b"", 3) == [b""]
    with pytest.raises(ValueError):
        chop(b"x", 0)
    assert describe_frame(Frame(Opcode.CLOSE, b"\x03\xe8ok")) == "CLOSE fin=1 masked len=4 code=1000 ok"
    assert describe_frame(Frame(5, b"\xff", masked=False)) == "OP5 fin=1 len=1 0xff"
