"""Group 7: close handling (Autobahn cases 7.1.1-7.13.2)."""

from __future__ import annotations

from wsbench.conform.cases._build import ECHO_THEN_CLOSE, case, ok, send
from wsbench.conform.model import (
    INVALID_PAYLOAD,
    NORMAL,
    PROTOCOL_ERROR,
    Case,
    CloseExpectation,
    Outcome,
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


def _we_close(*codes: int, clean: bool = True) -> CloseExpectation:
    """wsbench sent the first close; the server answers with one of ``codes``."""
    return CloseExpectation(by_client=True, codes=codes, require_clean=clean, wrong_code_fatal=True)


def _closing(*frames: Frame) -> list:
    return [send(*frames, starts_close=True)]


def closing() -> list[Case]:
    hello = b"Hello World!"
    clean_normal = "Clean close with normal code."
    cases = [
        case("7.1.1", _GROUP, "Send a message followed by a close frame.",
             "Echoed message followed by clean close with normal code.",
             [send(text(hello))], ok(message(hello)), _we_close(NORMAL)),
        case("7.1.2", _GROUP, "Send two close frames.", clean_normal,
             _closing(close_frame(), close_frame()), ok(), _we_close(NORMAL)),
        case("7.1.3", _GROUP, "Send a ping after close message.", clean_normal,
             _closing(close_frame(), ping()), ok(), _we_close(NORMAL)),
        case("7.1.4", _GROUP, "Send text message after close frame.", clean_normal,
             _closing(close_frame(), text(hello)), ok(), _we_close(NORMAL)),
        case("7.1.5", _GROUP, "Send message fragment1 followed by close then fragment.",
             clean_normal,
             _closing(text(b"fragment1", fin=False), close_frame(),
                      Frame(Opcode.CONT, b"fragment2")),
             ok(), _we_close(NORMAL)),
    ]
    big = b"BAsd7&jh23" * (256 * 1024 // 10) + b"BAsd7&"
    cases.append(case(
        "7.1.6", _GROUP, "Send 256K message followed by close then a ping.",
        "Outcome depends on implementation defined close behaviour: the close may be processed "
        "before the messages are echoed.",
        _closing(text(big), text(hello), close_frame(), ping()),
        (Outcome(Verdict.OK, (message(big), message(hello)),
                 "the messages were echoed before the close was processed"),
         Outcome(Verdict.NON_STRICT, (), "the close was processed before the messages were echoed")),
        ECHO_THEN_CLOSE, informational=True))
    cases += [
        case("7.3.1", _GROUP, "Send a close frame with payload length 0 (no close code, no reason).",
             "Clean close with normal code or no code.",
             _closing(close_frame(None)), ok(), _we_close(NORMAL)),
        case("7.3.2", _GROUP, "Send a close frame with payload length 1.",
             "Clean close with protocol error or drop TCP.",
             _closing(Frame(Opcode.CLOSE, b"a")), ok(), _we_close(PROTOCOL_ERROR, clean=False)),
        case("7.3.3", _GROUP, "Send a close frame with payload length 2 (regular close with a code).",
             clean_normal, _closing(close_frame()), ok(), _we_close(NORMAL)),
        case("7.3.4", _GROUP, "Send a close frame with close code and close reason.",
             clean_normal, _closing(close_frame(NORMAL, b"Hello World!")), ok(), _we_close(NORMAL)),
        case("7.3.5", _GROUP,
             "Send a close frame with close code and close reason of maximum length (123).",
             clean_normal, _closing(close_frame(NORMAL, b"*" * 123)), ok(), _we_close(NORMAL)),
        case("7.3.6", _GROUP,
             "Send a close frame with close code and close reason which is too long (124) - "
             "total frame payload 126 octets.",
             "Clean close with protocol error code or dropped TCP connection.",
             _closing(close_frame(NORMAL, b"*" * 124)), ok(),
             _we_close(PROTOCOL_ERROR, clean=False)),
        case("7.5.1", _GROUP, "Send a close frame with invalid UTF-8 payload.",
             "Clean close with protocol error or invalid UTF-8 code, or dropped TCP.",
             _closing(close_frame(NORMAL, _INVALID_UTF8)), ok(),
             _we_close(PROTOCOL_ERROR, INVALID_PAYLOAD, clean=False)),
    ]
    for index, code in enumerate(VALID_CLOSE_CODES, start=1):
        cases.append(case(
            f"7.7.{index}", _GROUP, f"Send close with valid close code {code}.",
            "Clean close with normal or echoed code.",
            _closing(close_frame(code)), ok(), _we_close(NORMAL, code)))
    for index, code in enumerate(INVALID_CLOSE_CODES, start=1):
        cases.append(case(
            f"7.9.{index}", _GROUP, f"Send close with invalid close code {code}.",
            "Clean close with protocol error code or drop TCP.",
            _closing(close_frame(code)), ok(), _we_close(PROTOCOL_ERROR, clean=False)))
    for index, code in enumerate((5000, 65535), start=1):
        cases.append(case(
            f"7.13.{index}", _GROUP, f"Send close with close code {code}.",
            "Actual events are undefined by the spec.",
            _closing(close_frame(code)), ok(),
            CloseExpectation(by_client=True, codes=(NORMAL, code, PROTOCOL_ERROR),
                             require_clean=False),
            informational=True))
    return cases
