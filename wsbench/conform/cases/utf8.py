"""Group 6: UTF-8 handling (Autobahn cases 6.1.1-6.23.7), with Markus Kuhn's test sequences.

6.1-6.4 are hand-written (empty fragments, fragmentation inside code points,
fail-fast); 6.5-6.23 come from :func:`utf8_test_sequences`, the same list
Autobahn|Testsuite derives from http://www.cl.cam.ac.uk/~mgk25/ucs/examples/UTF-8-test.txt
(numbered in the same order, so 6.x.y here is Autobahn's 6.x.y).
"""

from __future__ import annotations

from wsbench.conform.cases._build import (
    ECHO_THEN_CLOSE,
    case,
    close_after,
    fail_with,
    kill_after,
    ok,
    send,
)
from wsbench.conform.model import (
    INVALID_PAYLOAD,
    Case,
    Outcome,
    SendBytes,
    Timer,
    Verdict,
    Wait,
    alive,
    message,
    text,
)
from wsbench.protocol.frames import Frame, Opcode, encode_frame

__all__ = ["utf8", "utf8_test_sequences", "is_valid_utf8"]

_GROUP = "UTF-8 Handling"
_KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"  # "κόσμε"
_INVALID = _KOSME + b"\xed\xa0\x80" + b"edited"  # a UTF-16 surrogate inside
_FAIL_FAST = (Outcome(Verdict.OK, (alive("A"),), "failed fast on the invalid octet"),
              Outcome(Verdict.NON_STRICT, (alive("A"), alive("B")),
                      "failed only once the whole message arrived, not fail-fast"))
_MASK = b"\x37\xfa\x21\x3d"


def is_valid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def utf8_test_sequences() -> list[tuple[str, list[tuple[bool, bytes]]]]:
    """``[(subgroup title, [(valid, payload)])]`` in Autobahn's order (6.5 onwards)."""
    groups: list[tuple[str, list[tuple[bool, bytes]]]] = []
    groups.append(("Some valid UTF-8 sequences", [
        (True, b"hello\x24world"), (True, b"hello\xc2\xa2world"), (True, b"hello\xe2\x82\xacworld"),
        (True, b"hello\xf0\xa4\xad\xa2world"), (True, _KOSME)]))
    groups.append(("All prefixes of a valid UTF-8 string that contains multi-byte code points",
                   [(is_valid_utf8(_KOSME[:i]), _KOSME[:i]) for i in range(1, len(_KOSME) + 1)]))
    groups.append(("First possible sequence of a certain length", [
        (True, b"\x00"), (True, b"\xc2\x80"), (True, b"\xe0\xa0\x80"), (True, b"\xf0\x90\x80\x80")]))
    groups.append(("First possible sequence length 5/6 (invalid codepoints)", [
        (False, b"\xf8\x88\x80\x80\x80"), (False, b"\xfc\x84\x80\x80\x80\x80")]))
    groups.append(("Last possible sequence of a certain length", [
        (True, b"\x7f"), (True, b"\xdf\xbf"), (True, b"\xef\xbf\xbf"), (True, b"\xf4\x8f\xbf\xbf")]))
    groups.append(("Last possible sequence length 4/5/6 (invalid codepoints)", [
        (False, b"\xf7\xbf\xbf\xbf"), (False, b"\xfb\xbf\xbf\xbf\xbf"),
        (False, b"\xfd\xbf\xbf\xbf\xbf\xbf")]))
    groups.append(("Other boundary conditions", [
        (True, b"\xed\x9f\xbf"), (True, b"\xee\x80\x80"), (True, b"\xef\xbf\xbd"),
        (True, b"\xf4\x8f\xbf\xbf"), (False, b"\xf4\x90\x80\x80")]))
    continuation = [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf",
                    b"\x80\xbf\x80\xbf\x80", b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xbf))]
    groups.append(("Unexpected continuation bytes", [(False, s) for s in continuation]))
    lonely = [b"".join(bytes([i, 0x20]) for i in range(lo, hi))
              for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd))]
    groups.append(("Lonely start characters", [(False, s) for s in lonely]))
    missing = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
               b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    groups.append(("Sequences with last continuation byte missing", [(False, s) for s in missing]))
    groups.append(("Concatenation of incomplete sequences", [(False, b"".join(missing))]))
    groups.append(("Impossible bytes", [(False, b"\xfe"), (False, b"\xff"),
                                        (False, b"\xfe\xfe\xff\xff")]))
    groups.append(("Examples of an overlong ASCII character", [
        (False, b"\xc0\xaf"), (False, b"\xe0\x80\xaf"), (False, b"\xf0\x80\x80\xaf"),
        (False, b"\xf8\x80\x80\x80\xaf"), (False, b"\xfc\x80\x80\x80\x80\xaf")]))
    groups.append(("Maximum overlong sequences", [
        (False, b"\xc1\xbf"), (False, b"\xe0\x9f\xbf"), (False, b"\xf0\x8f\xbf\xbf"),
        (False, b"\xf8\x87\xbf\xbf\xbf"), (False, b"\xfc\x83\xbf\xbf\xbf\xbf")]))
    groups.append(("Overlong representation of the NUL character", [
        (False, b"\xc0\x80"), (False, b"\xe0\x80\x80"), (False, b"\xf0\x80\x80\x80"),
        (False, b"\xf8\x80\x80\x80\x80"), (False, b"\xfc\x80\x80\x80\x80\x80")]))
    singles = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf",
               b"\xed\xb0\x80", b"\xed\xbe\x80", b"\xed\xbf\xbf"]
    groups.append(("Single UTF-16 surrogates", [(False, s) for s in singles]))
    highs, lows = singles[:4], [b"\xed\xb0\x80", b"\xed\xbf\xbf"]
    groups.append(("Paired UTF-16 surrogates", [(False, h + lo) for h in highs for lo in lows]))
    nonchars = [b"\xef\xbf\xbe", b"\xef\xbf\xbf"]
    for z1 in (0xf0, 0xf1, 0xf2, 0xf3, 0xf4):
        for z2 in (0x8f, 0x9f, 0xaf, 0xbf):
            if z1 == 0xf4 and z2 != 0x8f:
                continue  # above U+10FFFF
            for z3 in (0xbe, 0xbf):
                seq = bytes([z1, z2, 0xbf, z3])
                if seq not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):  # overlong
                    nonchars.append(seq)
    groups.append(("Non-character code points (valid UTF-8)", [(True, s) for s in nonchars]))
    groups.append(("Unicode specials (i.e. replacement char)", [
        (True, bytes([0xef, 0xbf, b])) for b in range(0xb9, 0xc0)]))
    return groups


def _src(cid: str) -> str:
    return "case6_x_x.py" if int(cid.split(".")[1]) >= 5 else f"case{cid.replace('.', '_')}.py"


def _valid(cid: str, description: str, frames: list[Frame], payload: bytes,
           timer: Timer | None = None) -> Case:
    return case(cid, _GROUP, description, "The message is echo'ed back to us.",
                [send(*frames), timer or close_after(1)], ok(message(payload)), ECHO_THEN_CLOSE,
                src=_src(cid))


def _invalid(cid: str, description: str, frames: list[Frame], timer: Timer | None = None) -> Case:
    return case(cid, _GROUP, description,
                "The connection is failed immediately (1007), since the payload is not valid UTF-8.",
                [send(*frames), timer or kill_after(1)], ok(),
                fail_with(INVALID_PAYLOAD, wrong_endpoint_fatal=True), src=_src(cid))


def _octet_frames(payload: bytes) -> list[Frame]:
    last = len(payload) - 1
    return [Frame(Opcode.TEXT if i == 0 else Opcode.CONT, payload[i : i + 1], fin=i == last)
            for i in range(len(payload))]


def _fail_fast_frames(cid: str, parts: tuple[bytes, bytes, bytes], how: str) -> Case:
    first, second, third = parts
    return case(
        cid, _GROUP,
        f"Send invalid UTF-8 text message in 3 fragments (frames){how}: the 1st is valid, the "
        "2nd makes the sequence invalid, the 3rd has the rest. The connection state is checked "
        f"after waiting 1 s after each. Parts: {first.hex()} | {second.hex()} | {third.hex()}",
        "The 1st frame is accepted; the 2nd is rejected immediately (fail fast); at the "
        "latest the whole message is rejected.",
        [send(text(first, fin=False)), Wait("A"), send(Frame(Opcode.CONT, second, fin=False)),
         Wait("B"), send(Frame(Opcode.CONT, third, fin=True)), kill_after(1)],
        _FAIL_FAST, fail_with(INVALID_PAYLOAD, wrong_endpoint_fatal=True), src=_src(cid))


def _fail_fast_chops(cid: str, parts: tuple[bytes, bytes, bytes], how: str) -> Case:
    wire = encode_frame(Frame(Opcode.TEXT, b"".join(parts), mask_key=_MASK))
    head = len(wire) - sum(len(p) for p in parts)
    cut1, cut2 = head + len(parts[0]), head + len(parts[0]) + len(parts[1])
    return case(
        cid, _GROUP,
        f"Same as 6.4.{'1' if how == '' else '2'}, but in 3 chops (TCP writes) of one frame: the "
        "server gets the wait time after each chop to fail. "
        f"Parts: {parts[0].hex()} | {parts[1].hex()} | {parts[2].hex()}",
        "The 1st chop is accepted; the 2nd is rejected immediately (fail fast); at the latest "
        "the whole frame is rejected.",
        [SendBytes(wire[:cut1], "chop 1"), Wait("A"), SendBytes(wire[cut1:cut2], "chop 2"),
         Wait("B"), SendBytes(wire[cut2:], "chop 3"), kill_after(1)],
        _FAIL_FAST, fail_with(INVALID_PAYLOAD, wrong_endpoint_fatal=True), src=_src(cid))


def utf8() -> list[Case]:
    hello = "Hello-µ@ßöäüàá-UTF-8!!".encode()
    split = "Hello-µ@ßöä".encode()  # Autobahn's PAYLOAD1 (PAYLOAD2 is "üàá-UTF-8!!")
    cases = [
        _valid("6.1.1", "Send text message of length 0.", [text()], b""),
        _valid("6.1.2", "Send fragmented text message, 3 fragments each of length 0.",
               [text(fin=False), Frame(Opcode.CONT, fin=False), Frame(Opcode.CONT)], b""),
        _valid("6.1.3", "Send fragmented text message, 3 fragments, first and last of length 0, "
               "middle non-empty.",
               [text(fin=False), Frame(Opcode.CONT, b"middle frame payload", fin=False),
                Frame(Opcode.CONT)], b"middle frame payload"),
        _valid("6.2.1", "Send a valid UTF-8 text message in one fragment.", [text(hello)], hello),
        _valid("6.2.2", "Send a valid UTF-8 text message in two fragments, fragmented on a "
               "code point boundary.",
               [text(split, fin=False), Frame(Opcode.CONT, hello[len(split):])], hello),
        _valid("6.2.3", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in "
               "frames ending on positions which are not code point ends.",
               _octet_frames(hello), hello),
        _valid("6.2.4", "Send a valid UTF-8 text message in fragments of 1 octet, resulting in "
               "frames ending on positions which are not code point ends (κόσμε).",
               _octet_frames(_KOSME), _KOSME),
        _invalid("6.3.1", f"Send invalid UTF-8 text message unfragmented. Payload: {_INVALID.hex()}",
                 [text(_INVALID)]),
        _invalid("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet. "
                 f"Payload: {_INVALID.hex()}", _octet_frames(_INVALID)),
    ]
    out_of_range = (_KOSME, b"\xf4\x90\x80\x80", b"edited")
    at_octet = (_KOSME + b"\xf4", b"\x90", b"\x80\x80edited")
    cases += [
        _fail_fast_frames("6.4.1", out_of_range, ""),
        _fail_fast_frames("6.4.2", at_octet, ", the 2nd holding only the octet that breaks it"),
        _fail_fast_chops("6.4.3", out_of_range, ""),
        _fail_fast_chops("6.4.4", at_octet, ", the 2nd holding only the octet that breaks it"),
    ]
    for sub, (title, sequences) in enumerate(utf8_test_sequences(), start=5):
        for index, (valid, payload) in enumerate(sequences, start=1):
            cid = f"6.{sub}.{index}"
            desc = (f"{title}: send a text message with payload which is "
                    f"{'valid' if valid else 'not valid'} UTF-8 in one fragment. "
                    f"Payload: 0x{payload.hex()}")
            timer = kill_after(0.5)  # case6_x_x.py: killAfter(0.5) for every sequence
            cases.append(_valid(cid, desc, [text(payload)], payload, timer) if valid
                         else _invalid(cid, desc, [text(payload)], timer))
    return cases
