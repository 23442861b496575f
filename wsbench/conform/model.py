"""Conformance cases as data: what to send, what is expected, how outcomes map to verdicts.

Pure code (no I/O). A :class:`Case` is a frozen dataclass the runner executes and
:func:`wsbench.conform.judge.judge` grades. The words are Autobahn|Testsuite's:

* a case's **verdict** is the first :class:`Outcome` whose events match what the
  server did (``OK``, ``NON-STRICT``, ``INFORMATIONAL``), else ``FAILED``;
  ``UNIMPLEMENTED`` when the server does not offer what the case needs;
* its **close** behaviour is ``OK``, ``WRONG CODE``, ``UNCLEAN``, ``FAILED BY CLIENT``
  (wsbench had to drop the TCP connection) or ``FAILED`` (the wrong endpoint started
  the close), judged against :class:`CloseExpectation` as Autobahn's ``Case`` does;
* a **wsbench check** is a named, stricter check of wsbench's own next to a case
  (:mod:`wsbench.conform.checks`); it never changes the case's verdict.

Every Autobahn case cites the file of Autobahn|Testsuite it mirrors (``source``), sends
what that file sends and keeps its timers (``killAfter``/``closeAfter``/``continueLater``).

Payloads are :class:`Blob` (a pattern repeated to a length) so that the 16 MiB cases
of group 9 cost nothing until the runner sends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from wsbench.protocol.deflate import DeflateOffer
from wsbench.protocol.frames import Frame, Opcode, close_payload

__all__ = [
    "Verdict",
    "CloseVerdict",
    "Blob",
    "Event",
    "SendFrames",
    "SendBytes",
    "SendMessage",
    "SendClose",
    "Wait",
    "Timer",
    "EchoLoop",
    "Action",
    "Outcome",
    "CloseExpectation",
    "Case",
    "case_sort_key",
    "message",
    "pong",
    "alive",
    "text",
    "binary",
    "ping",
    "pong_frame",
    "close_frame",
    "NORMAL",
    "PROTOCOL_ERROR",
    "INVALID_PAYLOAD",
]

NORMAL = 1000
PROTOCOL_ERROR = 1002
INVALID_PAYLOAD = 1007


class Verdict(StrEnum):
    OK = "OK"
    NON_STRICT = "NON-STRICT"
    INFORMATIONAL = "INFORMATIONAL"
    UNIMPLEMENTED = "UNIMPLEMENTED"
    FAILED = "FAILED"


class CloseVerdict(StrEnum):
    OK = "OK"
    WRONG_CODE = "WRONG CODE"
    UNCLEAN = "UNCLEAN"
    FAILED_BY_CLIENT = "FAILED BY CLIENT"
    FAILED = "FAILED"
    INFORMATIONAL = "INFORMATIONAL"
    #: a check that expects no particular close (the ingress group)
    NOT_JUDGED = "N/A"


@dataclass(frozen=True)
class Blob:
    """``pattern`` repeated (and cut) to ``length`` bytes."""

    pattern: bytes
    length: int

    @classmethod
    def of(cls, data: bytes) -> Blob:
        return cls(data, len(data))

    def materialise(self) -> bytes:
        if self.length == 0:
            return b""
        if len(self.pattern) == self.length:
            return self.pattern
        return (self.pattern * (self.length // len(self.pattern) + 1))[: self.length]

    def describe(self) -> str:
        if len(self.pattern) == self.length and self.length <= 40:
            shown = self.pattern
            return repr(shown)[2:-1] if shown.isascii() else "0x" + shown.hex()
        return f"{self.length} bytes of {self.pattern[:8]!r}…"


@dataclass(frozen=True)
class Event:
    """Something observed: ``message`` (data, binary), ``pong``, ``ping``, ``alive``
    (the connection was still open at a checkpoint named by ``data``) or ``echoes``
    (``data`` is how many round trips of an :class:`EchoLoop` came back intact)."""

    kind: str
    data: Blob = field(default_factory=lambda: Blob(b"", 0))
    binary: bool = False

    def matches(self, other: Event) -> bool:
        if self.kind != other.kind or self.binary != other.binary:
            return False
        if self.data.length != other.data.length:
            return False
        return self.data == other.data or self.data.materialise() == other.data.materialise()

    def describe(self) -> str:
        kind = "binary" if self.kind == "message" and self.binary else self.kind
        return f"{kind}({self.data.describe()})"


def message(payload: bytes | Blob, *, is_binary: bool = False) -> Event:
    data = payload if isinstance(payload, Blob) else Blob.of(payload)
    return Event("message", data, is_binary)


def pong(payload: bytes = b"") -> Event:
    return Event("pong", Blob.of(payload))


def alive(label: str) -> Event:
    return Event("alive", Blob.of(label.encode()))


# -- actions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendFrames:
    """Write frames: all in one write, one write per frame (``per_frame``), or the
    whole byte stream cut into writes of ``chop`` bytes. ``starts_close`` marks a
    close frame among them as the start of *our* closing handshake."""

    frames: tuple[Frame, ...]
    chop: int | None = None
    per_frame: bool = False
    starts_close: bool = False


@dataclass(frozen=True)
class SendBytes:
    """Write raw bytes as one write (a piece of a frame, a broken stream)."""

    data: bytes
    note: str = ""


@dataclass(frozen=True)
class SendMessage:
    """Send a (possibly large) message, in frames of ``fragment_size`` and writes of ``chop``."""

    payload: Blob
    binary: bool = False
    fragment_size: int | None = None
    chop: int | None = None


@dataclass(frozen=True)
class SendClose:
    """Start the closing handshake as Autobahn's ``sendClose``/``sendCloseFrame`` do:
    a close frame with ``code`` (None: an empty payload) and raw ``reason`` bytes."""

    code: int | None = NORMAL
    reason: bytes = b""


@dataclass(frozen=True)
class Wait:
    """Autobahn's ``continueLater(seconds, part, label)``: wait (``RunOptions.wait``,
    Autobahn: 1 s); the rest of the case runs only if the connection is still open
    then, and with a ``label`` records ``alive(label)`` (Autobahn's ``("timeout", label)``)."""

    label: str = ""


@dataclass(frozen=True)
class Timer:
    """Autobahn's ``killAfter(seconds)`` (``kind="kill"``: wsbench fails the connection,
    close 1001, then drops it) or ``closeAfter(seconds)`` (``kind="close"``: wsbench
    sends an empty close frame). Scheduled, not waited for; it fires only when the
    server has not ended the case by then (never given less than ``RunOptions.timeout``)."""

    kind: str
    seconds: float


@dataclass(frozen=True)
class EchoLoop:
    """Send ``count`` messages one after another, each after the previous echo came back;
    records ``Event("echoes", count intact)``.

    With ``data_set`` (a name in :mod:`wsbench.conform.cases.testdata`), message *i* is
    the next ``payload.length`` bytes of that data, wrapping around at its end, as
    Autobahn's 12.x/13.x send; ``payload``'s pattern is then unused.
    ``fragment_size`` cuts each message's (compressed) payload into frames of that size.
    ``seconds``: Autobahn's limit for the whole loop (its ``closeAfter``). Like Autobahn,
    an echo is judged by type and length (9.7/9.8) or by its content too (12/13,
    ``compare_content``); once done wsbench sends close 1000.
    """

    count: int
    payload: Blob
    binary: bool = False
    data_set: str | None = None
    fragment_size: int | None = None
    seconds: float = 60.0
    compare_content: bool = False


Action = SendFrames | SendBytes | SendMessage | SendClose | Wait | Timer | EchoLoop


# -- expectations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """If the observed events equal ``events``, the case gets ``verdict`` (with ``reason``)."""

    verdict: Verdict
    events: tuple[Event, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class CloseExpectation:
    """How the connection should end.

    Autobahn's ``expectedClose``. ``by_client`` (``closedByMe``): wsbench starts the
    closing handshake, otherwise the server must fail the connection. ``codes``
    (``closeCode``): acceptable codes in the server's close frame (none at all is fine
    too); wsbench closes with the first. ``require_clean`` (``requireClean``): both
    close frames exchanged and the server closed TCP. ``wrong_endpoint_fatal``
    (``closedByWrongEndpointIsFatal``): the wrong endpoint closing makes the verdict
    FAILED. ``wrong_code_fatal``: a WRONG CODE makes the verdict FAILED (the group-7
    cases' ``onConnectionLost``). ``close_on_match`` (not ``suppressClose``): wsbench
    sends its close as soon as the events equal every outcome (``finishWhenDone``).
    """

    by_client: bool
    codes: tuple[int, ...]
    require_clean: bool
    wrong_code_fatal: bool = False
    wrong_endpoint_fatal: bool = False
    close_on_match: bool = True


@dataclass(frozen=True)
class Case:
    """One conformance case, numbered as Autobahn|Testsuite numbers it.

    ``deflate``: permessage-deflate offers to make in the upgrade (groups 12-13);
    when the server accepts none the case is UNIMPLEMENTED, and once accepted every
    message the case sends with :class:`SendMessage` or :class:`EchoLoop` is compressed.
    ``source``: the Autobahn|Testsuite file the case mirrors. ``length_only``: as
    Autobahn's 9.1-9.6, an echo of the right type and length is OK (the content is a
    wsbench check). ``close_on_message``: wsbench closes on the first message (9.1-9.6).
    ``close_informational``: the close behaviour is INFORMATIONAL (7.1.6, 7.13.x).
    ``timing_dependent``: which of the allowed outcomes a correct server gives depends
    on when its reads happen relative to wsbench's writes (see the README).
    """

    id: str
    group: str
    description: str
    expectation: str
    actions: tuple[Action, ...]
    outcomes: tuple[Outcome, ...]
    close: CloseExpectation
    informational: bool = False
    timed: bool = False
    deflate: tuple[DeflateOffer, ...] = ()
    source: str = ""
    length_only: bool = False
    close_on_message: bool = False
    close_informational: bool = False
    timing_dependent: bool = False

    @property
    def group_number(self) -> str:
        return self.id.split(".")[0]

    @property
    def sort_key(self) -> tuple[tuple[int, str], ...]:
        return case_sort_key(self.id)


def case_sort_key(case_id: str) -> tuple[tuple[int, str], ...]:
    """Autobahn's numeric order; named parts (``ingress.idle-timeout``) after all numbers."""
    return tuple((int(p), "") if p.isdigit() else (1 << 30, p) for p in case_id.split("."))


# -- frame shorthands (client frames: masked) ---------------------------------------------


def text(payload: bytes = b"", *, fin: bool = True, rsv: int = 0, opcode: int = Opcode.TEXT) -> Frame:
    return Frame(opcode, payload, fin=fin, rsv=rsv)


def binary(payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    return Frame(Opcode.BINARY, payload, fin=fin, rsv=rsv)


def ping(payload: bytes = b"", *, fin: bool = True, rsv: int = 0) -> Frame:
    return Frame(Opcode.PING, payload, fin=fin, rsv=rsv)


def pong_frame(payload: bytes = b"", *, fin: bool = True) -> Frame:
    return Frame(Opcode.PONG, payload, fin=fin)


def close_frame(code: int | None = NORMAL, reason: bytes = b"", *, rsv: int = 0) -> Frame:
    return Frame(Opcode.CLOSE, close_payload(code, reason), rsv=rsv)
