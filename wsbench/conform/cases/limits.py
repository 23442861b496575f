"""Group 9 (limits/performance, 9.1.1-9.8.6) and group 10 (auto-fragmentation, 10.1.1).

Sizes, payload patterns and time limits are Autobahn's (``case9_*.py``: messages up to
16 MiB, 10-1000 s per case); ``scale`` multiplies every message size and message count
so a quick run can use, e.g., ``scale=1/16``, and keeps the limits. Fragment and chop
sizes stay as Autobahn has them (a fragment never exceeds the message). As in Autobahn,
an echo is judged by its type and length; that its content is right too is the
wsbench check ``echo-content``.
"""

from __future__ import annotations

from wsbench.conform.cases._build import ECHO_THEN_CLOSE, case, close_after, kill_after, ok
from wsbench.conform.model import Blob, Case, EchoLoop, Event, SendMessage, message

__all__ = ["limits", "auto_fragmentation"]

_GROUP = "Limits/Performance"
_KIB, _MIB = 1 << 10, 1 << 20
_BIG = (64 * _KIB, 256 * _KIB, 1 * _MIB, 4 * _MIB, 8 * _MIB, 16 * _MIB)
_FRAGMENTS = (64, 256, 1 * _KIB, 4 * _KIB, 16 * _KIB, 64 * _KIB, 256 * _KIB, 1 * _MIB, 4 * _MIB)
_CHOPS = (64, 128, 256, 512, 1024, 2048)
_ROUND_TRIP_SIZES = (0, 16, 64, 256, 1024, 4096)
#: Autobahn's WAITSECS per case: 9.1.x, 9.2.x (by size); 9.3/9.4: 100; 9.5/9.6: 1000
_BIG_WAIT = {1: (10, 10, 100, 100, 100, 100), 2: (10, 10, 10, 10, 100, 100)}
_ROUND_TRIP_WAIT = (60, 60, 60, 120, 240, 480)
_TEXT_PATTERN = b"BAsd7&jh23"
_BINARY_PATTERN = b"\x00\xfe\x23\xfa\xf0"


def _size(n: int, scale: float) -> int:
    return max(1, int(n * scale)) if n else 0


def _human(n: int) -> str:
    if n >= _MIB and n % _MIB == 0:
        return f"{n // _MIB} MiB"
    if n >= _KIB and n % _KIB == 0:
        return f"{n // _KIB} KiB"
    return f"{n} bytes"


def limits(scale: float = 1.0) -> list[Case]:
    cases: list[Case] = []
    patterns = ((False, _TEXT_PATTERN), (True, _BINARY_PATTERN))  # case9_1_1.py, case9_2_1.py
    for sub, (is_binary, pattern) in enumerate(patterns, start=1):
        kind = "binary" if is_binary else "text"
        for index, size in enumerate(_BIG, start=1):
            blob = Blob(pattern, _size(size, scale))
            cases.append(_echo_case(
                f"9.{sub}.{index}", f"Send {kind} message with payload of length "
                f"{_human(blob.length)}.", blob, is_binary, _BIG_WAIT[sub][index - 1]))
    for sub, (is_binary, pattern) in enumerate(((False, b"*"), (True, b"\xfe")), start=3):
        kind = "binary" if is_binary else "text"
        blob = Blob(pattern, _size(4 * _MIB, scale))
        for index, fragment in enumerate(_FRAGMENTS, start=1):
            cases.append(_echo_case(
                f"9.{sub}.{index}", f"Send fragmented {kind} message of length "
                f"{_human(blob.length)} in fragments of {_human(fragment)}.", blob, is_binary, 100,
                fragment_size=min(fragment, blob.length)))
    for sub, (is_binary, pattern) in enumerate(patterns, start=5):
        kind = "binary" if is_binary else "text"
        blob = Blob(pattern, _size(1 * _MIB, scale))
        for index, chop in enumerate(_CHOPS, start=1):
            cases.append(_echo_case(
                f"9.{sub}.{index}", f"Send {kind} message of length {_human(blob.length)} "
                f"in chops (TCP writes) of {chop} octets.", blob, is_binary, 1000, chop=chop))
    for sub, (is_binary, pattern) in enumerate(((False, b"*"), (True, b"\xfe")), start=7):
        kind = "binary" if is_binary else "text"
        count = max(1, int(1000 * scale))
        for index, size in enumerate(_ROUND_TRIP_SIZES, start=1):
            blob = Blob(pattern, size)
            seconds = _ROUND_TRIP_WAIT[index - 1]
            cases.append(case(
                f"9.{sub}.{index}", _GROUP, f"Send {count} {kind} messages of payload size "
                f"{size}, each after the previous echo, to measure round trip time.",
                f"Receive all {count} echo'ed {kind} messages (with payload as sent) within "
                f"{seconds} s.",
                [EchoLoop(count, blob, binary=is_binary, seconds=seconds)],
                ok(Event("echoes", Blob.of(b"%d" % count))), ECHO_THEN_CLOSE, timed=True,
                src="case9_7_X.py"))
    return cases


def _echo_case(cid: str, description: str, blob: Blob, is_binary: bool, seconds: float, *,
               fragment_size: int | None = None, chop: int | None = None) -> Case:
    kind = "binary" if is_binary else "text"
    return case(
        cid, _GROUP, description,
        f"Receive echo'ed {kind} message (with payload as sent) within {seconds} s.",
        [SendMessage(blob, binary=is_binary, fragment_size=fragment_size, chop=chop),
         close_after(seconds)],
        ok(message(blob, is_binary=is_binary)), ECHO_THEN_CLOSE, timed=True, length_only=True,
        close_on_message=True, src=f"case{cid.replace('.', '_')}.py")


def auto_fragmentation() -> list[Case]:
    blob = Blob(b"*", 65536)
    return [case(
        "10.1.1", "Auto-Fragmentation",
        "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
        "Receive echo'ed text message (with payload as sent and transmitted frame counts as "
        "the server chooses).",
        [SendMessage(blob, fragment_size=1300), kill_after(10)], ok(message(blob)), ECHO_THEN_CLOSE,
        src="case10_1_1.py")]
