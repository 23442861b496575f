"""Group 9 (limits/performance, 9.1.1-9.8.6) and group 10 (auto-fragmentation, 10.1.1).

Sizes are Autobahn's (messages up to 16 MiB); ``scale`` multiplies every message
size and message count so a quick run can use, e.g., ``scale=1/16``. Fragment and
chop sizes stay as Autobahn has them (a fragment never exceeds the message).
"""

from __future__ import annotations

from wsbench.conform.cases._build import ECHO_THEN_CLOSE, case, ok
from wsbench.conform.model import Blob, Case, EchoLoop, Event, SendMessage, message

__all__ = ["limits", "auto_fragmentation"]

_GROUP = "Limits/Performance"
_KIB, _MIB = 1 << 10, 1 << 20
_BIG = (64 * _KIB, 256 * _KIB, 1 * _MIB, 4 * _MIB, 8 * _MIB, 16 * _MIB)
_FRAGMENTS = (64, 256, 1 * _KIB, 4 * _KIB, 16 * _KIB, 64 * _KIB, 256 * _KIB, 1 * _MIB, 4 * _MIB)
_CHOPS = (64, 128, 256, 512, 1024, 2048)
_ROUND_TRIP_SIZES = (0, 16, 64, 256, 1024, 4096)


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
    kinds = (("text", False, b"*"), ("binary", True, b"\xfe"))
    for sub, (kind, is_binary, pattern) in enumerate(kinds, start=1):
        for index, size in enumerate(_BIG, start=1):
            blob = Blob(pattern, _size(size, scale))
            cases.append(case(
                f"9.{sub}.{index}", _GROUP, f"Send {kind} message with payload of length "
                f"{_human(blob.length)}.", f"Receive echo'ed {kind} message (with payload as sent).",
                [SendMessage(blob, binary=is_binary)], ok(message(blob, is_binary=is_binary)),
                ECHO_THEN_CLOSE, timed=True))
    for sub, (kind, is_binary, pattern) in enumerate(kinds, start=3):
        blob = Blob(pattern, _size(4 * _MIB, scale))
        for index, fragment in enumerate(_FRAGMENTS, start=1):
            cases.append(case(
                f"9.{sub}.{index}", _GROUP, f"Send fragmented {kind} message of length "
                f"{_human(blob.length)} in fragments of {_human(fragment)}.",
                f"Receive echo'ed {kind} message (with payload as sent).",
                [SendMessage(blob, binary=is_binary, fragment_size=min(fragment, blob.length))],
                ok(message(blob, is_binary=is_binary)), ECHO_THEN_CLOSE, timed=True))
    for sub, (kind, is_binary, _) in enumerate(kinds, start=5):
        blob = Blob(b"BAsd7&jh23", _size(1 * _MIB, scale))
        for index, chop in enumerate(_CHOPS, start=1):
            cases.append(case(
                f"9.{sub}.{index}", _GROUP, f"Send {kind} message of length {_human(blob.length)} "
                f"in chops (TCP writes) of {chop} octets.",
                f"Receive echo'ed {kind} message (with payload as sent).",
                [SendMessage(blob, binary=is_binary, chop=chop)],
                ok(message(blob, is_binary=is_binary)), ECHO_THEN_CLOSE, timed=True))
    for sub, (kind, is_binary, pattern) in enumerate(kinds, start=7):
        count = max(1, int(1000 * scale))
        for index, size in enumerate(_ROUND_TRIP_SIZES, start=1):
            blob = Blob(pattern, size)
            cases.append(case(
                f"9.{sub}.{index}", _GROUP, f"Send {count} {kind} messages of payload size "
                f"{size}, each after the previous echo, to measure round trip time.",
                f"Receive all {count} echo'ed {kind} messages (with payload as sent).",
                [EchoLoop(count, blob, binary=is_binary)],
                ok(Event("echoes", Blob.of(b"%d" % count))), ECHO_THEN_CLOSE, timed=True))
    return cases


def auto_fragmentation() -> list[Case]:
    blob = Blob(b"*", 65536)
    return [case(
        "10.1.1", "Auto-Fragmentation",
        "Send text message with payload of length 65536 auto-fragmented with autoFragmentSize = 1300.",
        "Receive echo'ed text message (with payload as sent and transmitted frame counts as "
        "the server chooses).",
        [SendMessage(blob, fragment_size=1300)], ok(message(blob)), ECHO_THEN_CLOSE)]
