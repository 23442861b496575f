"""Group 5: fragmentation (Autobahn cases 5.1-5.20)."""

from __future__ import annotations

from wsbench.conform.cases._build import ECHO_THEN_CLOSE, case, fail_with, ok, ok_or_nothing, send
from wsbench.conform.model import Case, Sync, message, ping, pong, text
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
             [send(Frame(Opcode.PING, b"fragment1", fin=False), _cont(b"fragment2", fin=True))],
             ok(), fail_with()),
        case("5.2", _GROUP, "Send pong fragmented into 2 fragments.",
             "The connection is failed immediately: control frames must not be fragmented.",
             [send(Frame(Opcode.PONG, b"fragment1", fin=False), _cont(b"fragment2", fin=True))],
             ok(), fail_with()),
    ]
    two = (text(b"fragment1", fin=False), _cont(b"fragment2", fin=True))
    for index, (how, chops) in enumerate(_CHOPS):
        cases.append(case(
            f"5.{3 + index}", _GROUP, f"Send text message fragmented into 2 fragments{how}.",
            "Message is processed and echo'ed back to us.",
            [send(*two, **chops)], ok(message(b"fragment1fragment2")), ECHO_THEN_CLOSE))
    with_ping = (two[0], ping(b"ping payload"), two[1])
    for index, (how, chops) in enumerate(_CHOPS):
        cases.append(case(
            f"5.{6 + index}", _GROUP,
            f"Send text message fragmented into 2 fragments, one ping with payload in-between{how}.",
            "A pong is received, then the message is echo'ed back to us.",
            [send(*with_ping, **chops)],
            ok(pong(b"ping payload"), message(b"fragment1fragment2")), ECHO_THEN_CLOSE))
    for start, fin in ((9, True), (12, False)):
        frames = (_cont(b"non-continuation payload", fin=fin), text(b"Hello, world!"))
        for index, (how, chops) in enumerate(_CHOPS):
            chopped = how.replace(", octets are sent in ", "sent in ") if how else "sent in one chop"
            cases.append(case(
                f"5.{start + index}", _GROUP,
                f"Send unfragmented text message after continuation frame with FIN = "
                f"{str(fin).lower()}, where there is nothing to continue, {chopped}.",
                "The connection is failed immediately, since there is no message to continue.",
                [send(*frames, **chops)], ok(), fail_with()))
    cases.append(case(
        "5.15", _GROUP,
        "Send text message fragmented into 2 fragments, then continuation frame with FIN = false "
        "where there is nothing to continue, then unfragmented text message, all sent in one chop.",
        "The first message is echo'ed; then the connection is failed, since there is nothing to continue.",
        [send(text(b"fragment1", fin=False), _cont(b"fragment2", fin=True),
              _cont(b"fragment3", fin=False), text(b"fragment4"))],
        ok_or_nothing(message(b"fragment1fragment2")), fail_with()))
    for cid, fin in (("5.16", False), ("5.17", True)):
        frames = (_cont(b"fragment1", fin=fin), text(b"fragment2", fin=False),
                  _cont(b"fragment3", fin=True))
        cases.append(case(
            cid, _GROUP,
            f"Repeated 2x: continuation frame with FIN = {str(fin).lower()} (where there is nothing "
            "to continue), then text message fragmented into 2 fragments.",
            "The connection is failed immediately, since there is no message to continue.",
            [send(*frames, *frames)], ok(), fail_with()))
    cases.append(case(
        "5.18", _GROUP,
        "Send text message fragmented into 2 fragments, with both frame opcodes set to text, "
        "sent in one chop.",
        "The connection is failed immediately: the second fragment must be a continuation.",
        [send(text(b"fragment1", fin=False), text(b"fragment2"))], ok(), fail_with()))
    fragments = [b"fragment%d" % i for i in range(1, 6)]
    pings = [b"pongme 1!", b"pongme 2!"]
    for cid, per_frame, how in (("5.19", False, ""), ("5.20", True, " Each frame is its own write.")):
        cases.append(case(
            cid, _GROUP,
            "A fragmented text message is sent in multiple frames. After sending the first 2 "
            "frames, a ping is sent; once the server answered, 2 more fragments, another ping "
            f"and the final fragment.{how}",
            "The first ping is answered before the message is complete; both pongs carry the "
            "pings' payloads; the whole message is echo'ed.",
            [send(text(fragments[0], fin=False), _cont(fragments[1], fin=False), ping(pings[0]),
                  per_frame=per_frame),
             Sync(),
             send(_cont(fragments[2], fin=False), _cont(fragments[3], fin=False), ping(pings[1]),
                  _cont(fragments[4], fin=True), per_frame=per_frame)],
            ok(pong(pings[0]), pong(pings[1]), message(b"".join(fragments))), ECHO_THEN_CLOSE))
    return cases
