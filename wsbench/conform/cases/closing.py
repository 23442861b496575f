"""Group 7: close handling (Autobahn cases 7.1.1-7.13.2), each as its ``case7_*.py`` sends it.

Every case here FAILs on a WRONG CODE (Autobahn's ``onConnectionLost`` of these
files); 7.1.6 and 7.13.x are INFORMATIONAL, close behaviour included.
"""

from __future__ import annotations

from wsbench.conform.cases._build import case, kill_after, ok, send
from wsbench.conform.model import (
    INVALID_PAYLOAD,
    NORMAL,
    PROTOCOL_ERROR,
    Blob,
    Case,
    CloseExpectation,
    Outcome,
    SendClose,
    Verdict,
    close_frame,
    message,
    ping,
    text,
)
from wsbench.protocol.frames import Frame, Opcode

__all__ = ["closing", "VALID_CLOSE_CODES", "INVALID_CLOSE_CODES"]

_GROUP = "Close Handling"
VALID_CLOSE_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999)
INVALID_CLOSE_CODES = (0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999)
_INVALID_UTF8 = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"


def _we_close(*codes: int, clean: bool = True, close_on_match: bool = False) -> CloseExpectation:
    """wsbench sent the first close; the server answers with one of ``codes``."""
    return CloseExpectation(by_client=True, codes=codes, require_clean=clean, wrong_code_fatal=True,
                            close_on_match=close_on_match)


def _closing(*frames: Frame) -> list:
    """A close (Autobahn's ``sendClose``) and raw frames after it, then ``killAfter(1)``."""
    return [send(*frames, starts_close=True), kill_after(1)]


def closing() -> list[Case]:
    hello = b"Hello World!"
    clean_normal = "Clean close with normal code."
    cases = [
        case("7.1.1", _GROUP, "Send a message followed by a close frame.",
             "Echoed message followed by clean close with normal code.",
             [send(text(hello)), kill_after(1)], ok(message(hello)),
             _we_close(NORMAL, close_on_match=True), src="case7_1_1.py"),
        case("7.1.2", _GROUP, "Send two close frames (the second without payload).",
             f"{clean_normal} Second close frame ignored.",
             _closing(close_frame(), close_frame(None)), ok(), _we_close(NORMAL), src="case7_1_2.py"),
        case("7.1.3", _GROUP, "Send a ping after close message.", f"{clean_normal} No pong.",
             _closing(close_frame(), ping()), ok(), _we_close(NORMAL), src="case7_1_3.py"),
        case("7.1.4", _GROUP, "Send text message after close frame.",
             f"{clean_normal} Text message ignored.",
             _closing(close_frame(), text(hello)), ok(), _we_close(NORMAL), src="case7_1_4.py"),
        case("7.1.5", _GROUP, "Send message fragment1 followed by close then fragment.",
             clean_normal,
             _closing(text(b"fragment1", fin=False), close_frame(),
                      Frame(Opcode.CONT, b"fragment2")),
             ok(), _we_close(NORMAL), src="case7_1_5.py"),
    ]
    big = Blob(b"BAsd7&jh23", 256 * 1024)
    cases.append(case(
        "7.1.6", _GROUP, "Send 256K message followed by close then a ping.",
        "Outcome depends on implementation defined close behaviour: the close may be processed "
        "before the messages are echoed.",
        [send(Frame(Opcode.TEXT, big.materialise()), text(b"Hello World!"), close_frame(),
              ping(), starts_close=True), kill_after(1)],
        (Outcome(Verdict.OK, (message(hello),), "the text message was processed before the close"),
         Outcome(Verdict.NON_STRICT, (), "the close was processed before the text message "
                                         "could be returned")),
        _we_close(NORMAL), informational=True, close_informational=True, src="case7_1_6.py"))
    cases += [
        case("7.3.1", _GROUP, "Send a close frame with payload length 0 (no close code, no reason).",
             clean_normal, [SendClose(None), kill_after(1)], ok(), _we_close(NORMAL),
             src="case7_3_1.py"),
        case("7.3.2", _GROUP, "Send a close frame with payload length 1.",
             "Clean close with protocol error or drop TCP.",
             [SendClose(None, b"a"), kill_after(1)], ok(), _we_close(PROTOCOL_ERROR, clean=False),
             src="case7_3_2.py"),
        case("7.3.3", _GROUP, "Send a close frame with payload length 2 (regular close with a code).",
             clean_normal, [SendClose(NORMAL), kill_after(1)], ok(), _we_close(NORMAL),
             src="case7_3_3.py"),
        case("7.3.4", _GROUP, "Send a close frame with close code and close reason.",
             clean_normal, [SendClose(NORMAL, b"Hello World!"), kill_after(1)], ok(),
             _we_close(NORMAL), src="case7_3_4.py"),
        case("7.3.5", _GROUP,
             "Send a close frame with close code and close reason of maximum length (123).",
             clean_normal, [SendClose(NORMAL, b"*" * 123), kill_after(1)], ok(), _we_close(NORMAL),
             src="case7_3_5.py"),
        case("7.3.6", _GROUP,
             "Send a close frame with close code and close reason which is too long (124) - "
             "total frame payload 126 octets.",
             "Clean close with protocol error code or dropped TCP connection.",
             [SendClose(NORMAL, b"*" * 124), kill_after(1)], ok(),
             _we_close(PROTOCOL_ERROR, clean=False), src="case7_3_6.py"),
        case("7.5.1", _GROUP, "Send a close frame with invalid UTF-8 payload.",
             "Clean close with protocol error or invalid UTF-8 code, or dropped TCP.",
             [SendClose(NORMAL, _INVALID_UTF8), kill_after(1)], ok(),
             _we_close(PROTOCOL_ERROR, INVALID_PAYLOAD, clean=False), src="case7_5_1.py"),
    ]
    for index, code in enumerate(VALID_CLOSE_CODES, start=1):
        cases.append(case(
            f"7.7.{index}", _GROUP, f"Send close with valid close code {code}.",
            "Clean close with normal or echoed code.",
            [SendClose(code), kill_after(1)], ok(), _we_close(NORMAL, code), src="case7_7_X.py"))
    for index, code in enumerate(INVALID_CLOSE_CODES, start=1):
        cases.append(case(
            f"7.9.{index}", _GROUP, f"Send close with invalid close code {code}.",
            "Clean close with protocol error code or drop TCP.",
            [SendClose(code), kill_after(1)], ok(), _we_close(PROTOCOL_ERROR, clean=False),
            src="case7_9_X.py"))
    for index, code in enumerate((5000, 65535), start=1):
        cases.append(case(
            f"7.13.{index}", _GROUP, f"Send close with close code {code}.",
            "Actual events are undefined by the spec.",
            [SendClose(code), kill_after(1)], ok(),
            CloseExpectation(by_client=True, codes=(NORMAL, code, PROTOCOL_ERROR),
                             require_clean=False, close_on_match=False),
            informational=True, close_informational=True, src=f"case7_13_{index}.py"))
    return cases


