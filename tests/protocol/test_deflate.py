"""permessage-deflate: offers, the strict check of a server's answer, the codec (no sockets)."""

from __future__ import annotations

import random
import zlib

import pytest

from wsbench.protocol.deflate import (
    DeflateAgreement,
    DeflateOffer,
    Deflater,
    Inflater,
    NegotiationError,
    offer_header,
    parse_agreement,
)
from wsbench.protocol.frames import Frame, FrameError, Opcode
from wsbench.protocol.messages import Message, MessageAssembler, Ping

AUTOBAHN = DeflateOffer.autobahn()
TEXT = ("Habe nun, ach! Philosophie, Juristerei und Medizin, und leider auch Theologie "
        "durchaus studiert, mit heißem Bemühn. ").encode() * 40


def test_offer_headers() -> None:
    assert AUTOBAHN.header_value() == "permessage-deflate; client_no_context_takeover; client_max_window_bits"
    asked = DeflateOffer.autobahn(request_no_context_takeover=True, request_max_window_bits=8)
    assert asked.header_value() == (
        "permessage-deflate; client_no_context_takeover; client_max_window_bits; "
        "server_no_context_takeover; server_max_window_bits=8")
    assert DeflateOffer(client_max_window_bits=10).header_value() == "permessage-deflate; client_max_window_bits=10"
    assert offer_header([DeflateOffer(), DeflateOffer(server_no_context_takeover=True)]) == (
        "permessage-deflate, permessage-deflate; server_no_context_takeover")
    with pytest.raises(ValueError):
        DeflateOffer(server_max_window_bits=16)


@pytest.mark.parametrize(
    ("offers", "answer", "expected"),
    [
        ([AUTOBAHN], None, None),
        ([AUTOBAHN], "", None),
        ([AUTOBAHN], "permessage-deflate",
         DeflateAgreement(client_no_context_takeover=True, response="permessage-deflate")),
        ([AUTOBAHN], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10",
         DeflateAgreement(False, True, 12, 10,
                          "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10")),
        ([DeflateOffer.autobahn(request_no_context_takeover=True)],
         'permessage-deflate;server_no_context_takeover; client_max_window_bits="9"',
         DeflateAgreement(True, True, 15, 9,
                          'permessage-deflate;server_no_context_takeover; client_max_window_bits="9"')),
        # our own limit applies when the server does not set one
        ([DeflateOffer(client_max_window_bits=11)], "permessage-deflate",
         DeflateAgreement(client_max_window_bits=11, response="permessage-deflate")),
    ],
)
def test_valid_answers(offers: list[DeflateOffer], answer: str | None,
                       expected: DeflateAgreement | None) -> None:
    assert parse_agreement(offers, answer) == expected


@pytest.mark.parametrize(
    ("offers", "answer", "problem"),
    [
        ([AUTOBAHN], "x-webkit-deflate-frame", "not offered"),
        ([], "permessage-deflate", "not offered"),
        ([AUTOBAHN], "permessage-deflate, permessage-deflate", "more than once"),
        ([AUTOBAHN], "permessage-deflate; mystery", "unknown"),
        ([AUTOBAHN], "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
         "twice"),
        ([AUTOBAHN], "permessage-deflate; server_no_context_takeover=1", "must have none"),
        ([AUTOBAHN], "permessage-deflate; server_max_window_bits=16", "8-15"),
        ([AUTOBAHN], "permessage-deflate; server_max_window_bits=08", "8-15"),
        ([AUTOBAHN], "permessage-deflate; server_max_window_bits", "8-15"),
        ([DeflateOffer()], "permessage-deflate; client_max_window_bits=10", "did not allow"),
        ([DeflateOffer(client_max_window_bits=10)], "permessage-deflate; client_max_window_bits=12",
         "larger than the offer"),
        ([DeflateOffer(server_max_window_bits=10)], "permessage-deflate; server_max_window_bits=12",
         "larger than the 10 requested"),
        ([DeflateOffer(), DeflateOffer(client_max_window_bits=True)],
         "permessage-deflate; client_max_window_bits=16", "8-15"),
    ],
)
def test_invalid_answers(offers: list[DeflateOffer], answer: str, problem: str) -> None:
    with pytest.raises(NegotiationError, match=problem):
        parse_agreement(offers, answer)


def test_ignored_requests_are_recorded_not_rejected() -> None:
    # tornado accepts the offer but drops server_no_context_takeover from its answer
    asked = DeflateOffer.autobahn(request_no_context_takeover=True)
    agreement = parse_agreement([asked], "permessage-deflate")
    assert agreement is not None and agreement.ignored == ("server_no_context_takeover",)
    assert not agreement.server_no_context_takeover
    small = DeflateOffer.autobahn(request_max_window_bits=9)
    assert parse_agreement([small], "permessage-deflate").ignored == ("server_max_window_bits=9",)  # type: ignore[union-attr]
    # aiohttp leaves out server_max_window_bits=15: that is what 15 means anyway
    full = DeflateOffer.autobahn(request_max_window_bits=15)
    assert parse_agreement([full], "permessage-deflate").ignored == ()  # type: ignore[union-attr]


def test_of_several_offers_the_first_fully_honoured_wins() -> None:
    offers = [DeflateOffer.autobahn(request_no_context_takeover=True, request_max_window_bits=8),
              DeflateOffer.autobahn(request_no_context_takeover=True), DeflateOffer.autobahn()]
    agreement = parse_agreement(offers, "permessage-deflate; server_no_context_takeover")
    assert agreement is not None and agreement.ignored == () and agreement.server_no_context_takeover
    agreement = parse_agreement(offers, "permessage-deflate")
    assert agreement is not None and agreement.ignored == ()


@pytest.mark.parametrize("reset", [False, True])
@pytest.mark.parametrize("bits", [8, 9, 12, 15])
def test_round_trip_through_zlib(bits: int, reset: bool) -> None:
    deflater = Deflater(window_bits=bits, no_context_takeover=reset)
    inflater = Inflater(window_bits=bits, no_context_takeover=reset)
    sizes = []
    for _ in range(3):
        wire = deflater.compress(TEXT)
        assert not wire.endswith(b"\x00\x00\xff\xff")
        assert inflater.feed(wire, fin=True) == TEXT
        sizes.append(len(wire))
    assert sizes[0] < len(TEXT) // 3 if bits > 8 else sizes[0] < len(TEXT)
    if not reset and bits == 15:
        assert sizes[1] < sizes[0]  # context takeover: the second copy refers to the first
    if reset:
        assert sizes[0] == sizes[1] == sizes[2]


def test_a_peer_that_uses_a_larger_window_than_agreed_does_not_inflate() -> None:
    # zlib keeps only the agreed window between messages: a back-reference further into
    # an earlier message fails (within one message, zlib's output buffer hides it)
    data = random.Random(7).randbytes(3000).hex().encode()  # no repeats within a message
    far = Deflater(window_bits=15)
    first, second = far.compress(data), far.compress(data)
    assert len(second) < len(first) // 10  # the second refers to the first, 6000 bytes back
    strict = Inflater(window_bits=9)
    assert strict.feed(first, fin=True) == data
    with pytest.raises(zlib.error, match="too far back"):
        strict.feed(second, fin=True)
    roomy = Inflater(window_bits=15)
    assert [roomy.feed(first, fin=True), roomy.feed(second, fin=True)] == [data, data]


def test_inflater_bounds_the_message_size() -> None:
    bomb = Deflater().compress(b"\x00" * 1_000_000)
    assert len(bomb) < 2000
    with pytest.raises(ValueError, match="exceeds 100000"):
        Inflater(max_size=100_000).feed(bomb, fin=True)


def test_empty_message_and_final_block() -> None:
    assert Inflater().feed(Deflater().compress(b""), fin=True) == b""
    final = zlib.compressobj(6, zlib.DEFLATED, -15)
    wire = final.compress(b"last") + final.flush(zlib.Z_FINISH)  # BFINAL set: the stream ends
    inflater = Inflater()
    assert inflater.feed(wire, fin=True) == b"last"
    assert inflater.feed(Deflater().compress(b"next"), fin=True) == b"next"  # starts anew


def frames_of(payload: bytes, *, opcode: int = Opcode.TEXT, size: int = 7) -> list[Frame]:
    wire = Deflater().compress(payload)
    pieces = [wire[i : i + size] for i in range(0, len(wire), size)]
    return [Frame(opcode if i == 0 else Opcode.CONT, piece, fin=i == len(pieces) - 1,
                  rsv=4 if i == 0 else 0, masked=False) for i, piece in enumerate(pieces)]


def test_assembler_inflates_fragmented_compressed_messages() -> None:
    asm = MessageAssembler(inflater=Inflater())
    frames = frames_of(TEXT)
    events = [asm.receive(f) for f in frames[:-1]]
    assert events == [None] * (len(frames) - 1)
    assert asm.receive(Frame(Opcode.PING, b"p", masked=False)) == Ping(b"p")
    message = asm.receive(frames[-1])
    assert message == Message(TEXT, False, len(frames), compressed=True)
    assert isinstance(message, Message) and message.wire_size == sum(len(f.payload) for f in frames)
    # an uncompressed message on the same connection is fine (RSV1 is per message)
    assert asm.receive(Frame(Opcode.BINARY, b"raw", masked=False)) == Message(b"raw", True)


@pytest.mark.parametrize(
    ("frames", "problem"),
    [
        ([Frame(Opcode.TEXT, b"a", fin=False, masked=False),
          Frame(Opcode.CONT, b"b", rsv=4, masked=False)], "continuation"),
        ([Frame(Opcode.PING, b"", rsv=4, masked=False)], "control"),
        ([Frame(Opcode.TEXT, b"\xff\xff\xff", rsv=4, masked=False)], "does not inflate"),
        (frames_of("κόσμε".encode()[:-1] + b"\xed\xa0\x80"), "UTF-8"),
    ],
)
def test_assembler_violations_with_deflate(frames: list[Frame], problem: str) -> None:
    asm = MessageAssembler(inflater=Inflater())
    with pytest.raises(FrameError, match=problem):
        for frame in frames:
            asm.receive(frame)


def test_rsv1_without_deflate_is_a_violation() -> None:
    with pytest.raises(FrameError, match="RSV1"):
        MessageAssembler().receive(Frame(Opcode.TEXT, b"x", rsv=4, masked=False))
