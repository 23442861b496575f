"""Groups 1-4: framing, pings/pongs, reserved bits, opcodes (Autobahn cases 1.1.1-4.2.5).

Each case sends what Autobahn's ``caseN_M.py`` sends (payloads, writes, timers) and
expects what it expects; ``src`` names the file.
"""

from __future__ import annotations

from wsbench.conform.cases._build import (
    ECHO_THEN_CLOSE,
    case,
    close_after,
    fail_with,
    kill_after,
    ok,
    ok_or_nothing,
    send,
)
from wsbench.conform.model import (
    Blob,
    Case,
    SendClose,
    SendMessage,
    binary,
    message,
    ping,
    pong,
    pong_frame,
    text,
)
from wsbench.protocol.frames import Frame, Opcode

__all__ = ["framing", "pings", "reserved_bits", "opcodes"]

_SIZES = (0, 125, 126, 127, 128, 65535, 65536)
_HELLO = b"Hello, world!"
_SMALL_BINARY = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"


def framing() -> list[Case]:
    """1.1.x text and 1.2.x binary messages of the sizes where the length encoding changes."""
    cases = []
    for sub, kind, pattern in ((1, "text", b"*"), (2, "binary", b"\xfe")):
        is_binary = kind == "binary"
        sizes = [(n, None) for n in _SIZES] + [(65536, 997)]
        for index, (size, chop) in enumerate(sizes, start=1):
            blob = Blob(pattern, size)
            how = f" Sent out data in chops of {chop} octets." if chop else ""
            cases.append(case(
                f"1.{sub}.{index}", "Framing",
                f"Send {kind} message with payload of length {size}.{how}",
                f"Receive echo'ed {kind} message (with payload as sent). Clean close with normal code.",
                [SendMessage(blob, binary=is_binary, chop=chop), kill_after(10 if chop else 1)],
                ok(message(blob, is_binary=is_binary)), ECHO_THEN_CLOSE,
                src=f"case1_{sub}_{index}.py"))
    return cases


def pings() -> list[Case]:
    """2.x: pings are answered with the same payload, pongs are ignored, big pings fail."""
    expect_pong = "Pong (with payload as sent). Clean close with normal code."
    ping_cases = [
        ("2.1", "Send ping without payload.", b""),
        ("2.2", "Send ping with small text payload.", _HELLO),
        ("2.3", "Send ping with small binary (non UTF-8) payload.", _SMALL_BINARY),
        ("2.4", "Send ping with binary payload of 125 octets.", b"\xfe" * 125),
    ]
    group = "Pings/Pongs"
    cases = [case(cid, group, desc, expect_pong, [send(ping(payload)), close_after(1)],
                  ok(pong(payload)), ECHO_THEN_CLOSE, src=f"case{cid.replace('.', '_')}.py")
             for cid, desc, payload in ping_cases]
    cases.append(case(
        "2.5", group, "Send ping with binary payload of 126 octets.",
        "Connection is failed immediately (1002/Protocol Error): a control frame carries at most 125 octets.",
        [send(ping(b"\xfe" * 126)), kill_after(1)], ok(), fail_with(), src="case2_5.py"))
    cases.append(case(
        "2.6", group, "Send ping with binary payload of 125 octets, sent in octet-wise chops.",
        expect_pong, [send(ping(b"\xfe" * 125), chop=1), close_after(2)], ok(pong(b"\xfe" * 125)),
        ECHO_THEN_CLOSE, src="case2_6.py"))
    unsolicited = b"unsolicited pong payload"
    for cid, payload, what in (("2.7", b"", "without"), ("2.8", unsolicited, "with")):
        cases.append(case(
            cid, group, f"Send unsolicited pong {what} payload, then close.",
            "Nothing in response. Clean close with normal code.",
            [send(pong_frame(payload)), SendClose(), close_after(1)], ok(), ECHO_THEN_CLOSE,
            src=f"case{cid.replace('.', '_')}.py"))
    cases.append(case(
        "2.9", group, "Send unsolicited pong with payload, then ping with payload.",
        "Pong for our ping (with payload). Clean close with normal code.",
        [send(pong_frame(unsolicited), ping(b"ping payload")), close_after(1)],
        ok(pong(b"ping payload")), ECHO_THEN_CLOSE, src="case2_9.py"))
    payloads = [b"payload-%d" % i for i in range(10)]
    for cid, chop, how in (("2.10", None, ""), ("2.11", 1, " Send out octets in octet-wise chops.")):
        cases.append(case(
            cid, group, f"Send 10 pings with payload.{how}",
            "Pongs for all our pings with their payloads (not required by the spec, "
            "but Autobahn checks it). Clean close with normal code.",
            [send(*(ping(p) for p in payloads), chop=chop), close_after(3)],
            ok(*(pong(p) for p in payloads)), ECHO_THEN_CLOSE,
            src=f"case{cid.replace('.', '_')}.py"))
    return cases


def reserved_bits() -> list[Case]:
    """3.x: a non-zero RSV without a negotiated extension fails the connection."""
    fails = "The connection is failed immediately: RSV must be 0 without a negotiated extension."
    then = ("Echo for the first message, then the connection is failed immediately "
            "(RSV must be 0). The pong is not received.")
    group = "Reserved Bits"
    return [
        case("3.1", group, "Send small text message with RSV = 1.", fails,
             [send(text(_HELLO, rsv=1)), kill_after(1)], ok(), fail_with(), src="case3_1.py"),
        case("3.2", group, "Send small text message, then send again with RSV = 2, then send ping.",
             then, [send(text(_HELLO), text(_HELLO, rsv=2), ping()), kill_after(1)],
             ok_or_nothing(message(_HELLO)), fail_with(), src="case3_2.py"),
        case("3.3", group, "Send small text message, then send again with RSV = 3, then send ping. "
             "Octets are sent in frame-wise chops.", then,
             [send(text(_HELLO), text(_HELLO, rsv=3), ping(), per_frame=True), kill_after(1)],
             ok_or_nothing(message(_HELLO)), fail_with(), src="case3_3.py",
             timing_dependent=True),
        case("3.4", group, "Send small text message, then send again with RSV = 4, then send ping. "
             "Octets are sent in octet-wise chops.", then,
             [send(text(_HELLO), text(_HELLO, rsv=4), ping(), chop=1), kill_after(1)],
             ok_or_nothing(message(_HELLO)), fail_with(), src="case3_4.py",
             timing_dependent=True),
        case("3.5", group, "Send small binary message with RSV = 5.", fails,
             [send(binary(_SMALL_BINARY, rsv=5)), kill_after(1)], ok(), fail_with(),
             src="case3_5.py"),
        case("3.6", group, "Send small binary message with RSV = 6.", fails,
             [send(binary(_HELLO, rsv=6)), kill_after(1)], ok(), fail_with(), src="case3_6.py"),
        case("3.7", group, "Send close frame (no payload) with RSV = 7.", fails,
             [send(Frame(Opcode.CLOSE, b"", rsv=7)), kill_after(1)], ok(), fail_with(),
             src="case3_7.py"),
    ]


def opcodes() -> list[Case]:
    """4.x: reserved opcodes (3-7 non-control, 11-15 control) fail the connection."""
    cases = []
    group = "Opcodes"
    for sub, codes, kind in ((1, (3, 4, 5, 6, 7), "non-control"), (2, (11, 12, 13, 14, 15), "control")):
        for index, opcode in enumerate(codes, start=1):
            # Autobahn: x.2 carries "reserved opcode payload", x.4 and x.5 "Hello, world!"
            body = {2: b"reserved opcode payload", 4: _HELLO, 5: _HELLO}.get(index, b"")
            what = f"frame with reserved {kind} opcode = {opcode}" + (
                " and non-empty payload" if body else "")
            src = f"case4_{sub}_{index}.py"
            if index <= 2:
                cases.append(case(
                    f"4.{sub}.{index}", group, f"Send {what}.",
                    "The connection is failed immediately.",
                    [send(Frame(opcode, body)), kill_after(1)], ok(), fail_with(), src=src))
                continue
            octetwise = index == 5
            how = " All octets are sent one at a time." if octetwise else ""
            cases.append(case(
                f"4.{sub}.{index}", group,
                f"Send small text message, then send {what}, then send ping.{how}",
                "Echo for the first message, then the connection is failed immediately "
                "(reserved opcode). The pong is not received.",
                [send(text(_HELLO), Frame(opcode, body), ping(), chop=1 if octetwise else None),
                 kill_after(1)],
                ok_or_nothing(message(_HELLO)), fail_with(), src=src,
                timing_dependent=octetwise))
    return cases


