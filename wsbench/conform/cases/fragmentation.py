"""Group 5: fragmentation (Autobahn cases 5.1-5.20), each as its ``case5_N.py`` sends it."""

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
from wsbench.conform.model import Case, Wait, message, ping, pong, text
from wsbench.protocol.frames import Frame, Opcode

__all__ = ["fragmentation"]

_GROUP = "Fragmentation"
_CHOPS = (
    ("", {}),
    (", octets are sent in frame-wise chops", {"per_frame": True}),
    (", octets are sent in octet-wise chops", {"chop": 1}),
)


def _cont(payload: bytes, *, fin: bool) -> Frame:
    return Frame(Opcode.CONT, payload, fin=fin)


def fragmentation() -> list[Case]:
    cases = [
        case("5.1", _GROUP, "Send ping fragmented into 2 fragments.",
             "The connection is failed immediately: control frames must not be fragmented.",
             [send(Frame(Opcode.PING, b"fragment1", fin=False), _cont(b"fragment2", fin=True)),
              kill_after(1)],
             ok(), fail_with(), src="case5_1.py"),
        case("5.2", _GROUP, "Send pong fragmented into 2 fragments.",
             "The connection is failed immediately: control frames must not be fragmented.",
             [send(Frame(Opcode.PONG, b"fragment1", fin=False), _cont(b"fragment2", fin=True)),
              kill_after(1)],
             ok(), fail_with(), src="case5_2.py"),
    ]
    two = (text(b"fragment1", fin=False), _cont(b"fragment2", fin=True))
    for index, (how, chops) in enumerate(_CHOPS):
        cases.append(case(
            f"5.{3 + index}", _GROUP, f"Send text message fragmented into 2 fragments{how}.",
            "Message is processed and echo'ed back to us.",
            [send(*two, **chops), close_after(1)], ok(message(b"fragment1fragment2")),
            ECHO_THEN_CLOSE, src=f"case5_{3 + index}.py"))
    with_ping = (two[0], ping(b"ping payload"), two[1])
    for index, (how, chops) in enumerate(_CHOPS):
        cases.append(case(
            f"5.{6 + index}", _GROUP,
            f"Send text message fragmented into 2 fragments, one ping with payload in-between{how}.",
            "A pong is received, then the message is echo'ed back to us.",
            [send(*with_ping, **chops), close_after(1)],
            ok(pong(b"ping payload"), message(b"fragment1fragment2")), ECHO_THEN_CLOSE,
            src=f"case5_{6 + index}.py"))
    for start, fin in ((9, True), (12, False)):
        frames = (_cont(b"non-continuation payload", fin=fin), text(b"Hello, world!"))
        for index, (how, chops) in enumerate(_CHOPS):
            chopped = how.replace(", octets are sent in ", "sent in ") if how else "sent in one chop"
            cases.append(case(
                f"5.{start + index}", _GROUP,
                f"Send unfragmented text message after continuation frame with FIN = "
                f"{str(fin).lower()}, where there is nothing to continue, {chopped}.",
                "The connection is failed immediately, since there is no message to continue.",
                [send(*frames, **chops), kill_after(1)], ok(), fail_with(),
                src=f"case5_{start + index}.py"))
    cases.append(case(
        "5.15", _GROUP,
        "Send text message fragmented into 2 fragments, then continuation frame with FIN = false "
        "where there is nothing to continue, then unfragmented text message, all sent in one chop.",
        "The first message is echo'ed; then the connection is failed, since there is nothing to continue.",
        [send(text(b"fragment1", fin=False), _cont(b"fragment2", fin=True),
              _cont(b"fragment3", fin=False), text(b"fragment4")), kill_after(1)],
        ok_or_nothing(message(b"fragment1fragment2")), fail_with(), src="case5_15.py"))
    for cid, fin in (("5.16", False), ("5.17", True)):
        frames = (_cont(b"fragment1", fin=fin), text(b"fragment2", fin=False),
                  _cont(b"fragment3", fin=True))
        cases.append(case(
            cid, _GROUP,
            f"Repeated 2x: continuation frame with FIN = {str(fin).lower()} (where there is nothing "
            "to continue), then text message fragmented into 2 fragments.",
            "The connection is failed immediately, since there is no message to continue.",
            [send(*frames, *frames), kill_after(1)], ok(), fail_with(),
            src=f"case{cid.replace('.', '_')}.py"))
    cases.append(case(
        "5.18", _GROUP,
        "Send text message fragmented into 2 fragments, with both frame opcodes set to text, "
        "sent in one chop.",
        "The connection is failed immediately: the second fragment must be a continuation.",
        [send(text(b"fragment1", fin=False), text(b"fragment2")), kill_after(1)], ok(), fail_with(),
        src="case5_18.py"))
    fragments = [b"fragment%d" % i for i in range(1, 6)]
    pings = [b"pongme 1!", b"pongme 2!"]
    for cid, per_frame, how in (("5.19", False, ""), ("5.20", True, " Each frame is its own write.")):
        cases.append(case(
            cid, _GROUP,
            "A fragmented text message is sent in multiple frames. After sending the first 2 "
            "frames, a ping is sent; then wsbench waits 1 s, then sends 2 more fragments, "
            f"another ping and the final fragment.{how}",
            "The first ping is answered before the message is complete; both pongs carry the "
            "pings' payloads; the whole message is echo'ed.",
            [send(text(fragments[0], fin=False), _cont(fragments[1], fin=False), ping(pings[0]),
                  per_frame=per_frame),
             Wait(),
             send(_cont(fragments[2], fin=False), _cont(fragments[3], fin=False), ping(pings[1]),
                  _cont(fragments[4], fin=True), per_frame=per_frame),
             close_after(1)],
            ok(pong(pings[0]), pong(pings[1]), message(b"".join(fragments))), ECHO_THEN_CLOSE,
            src="case5_19.py" if cid == "5.19" else "case5_20.py"))
    return cases
