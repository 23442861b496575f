"""Conformance cases as data: what to send, what is expected, how outcomes map to verdicts.

Pure code (no I/O). A :class:`Case` is a frozen dataclass the runner executes and
:func:`wsbench.conform.judge.judge` grades. The words are Autobahn|Testsuite's:

* a case's **verdict** is the first :class:`Outcome` whose events match what the
  server did (``OK``, ``NON-STRICT``, ``INFORMATIONAL``), else ``FAILED``;
  ``UNIMPLEMENTED`` when the server does not offer what the case needs;
* its **close** behaviour is ``OK``, ``WRONG CODE``, ``UNCLEAN`` or ``FAILED``
  (the wrong endpoint closed, or nobody did), judged against :class:`CloseExpectation`.

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
    "Sync",
    "AwaitFailure",
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
    FAILED = "FAILED"
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
class Sync:
    """A barrier: send a ping and wait for its pong (which is not recorded). With a
    ``label``, records ``alive(label)`` when the pong comes back."""

    label: str = ""


@dataclass(frozen=True)
class AwaitFailure:
    """Give the server the *wait* time to fail the connection; records ``alive(label)``
    if it is still open then. Only for points where a ping cannot be sent (mid-frame)."""

    label: str


@dataclass(frozen=True)
class EchoLoop:
    """Send ``count`` messages one after another, each after the previous echo came back;
    records ``Event("echoes", count intact)``.

    With ``data_set`` (a name in :mod:`wsbench.conform.cases.testdata`), message *i* is
    the next ``payload.length`` bytes of that data, wrapping around at its end, as
    Autobahn's 12.x/13.x send; ``payload``'s pattern is then unused.
    ``fragment_size`` cuts each message's (compressed) payload into frames of that size.
    """

    count: int
    payload: Blob
    binary: bool = False
    data_set: str | None = None
    fragment_size: int | None = None


Action = SendFrames | SendBytes | SendMessage | Sync | AwaitFailure | EchoLoop


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

    ``by_client``: wsbench starts the closing handshake (with ``our_code``) once the
    events of the first outcome arrived; otherwise the server must fail the connection.
    ``codes``: acceptable codes in the server's close frame (none at all is fine too).
    ``require_clean``: both close frames exchanged and the server closed TCP.
    ``wrong_code_fatal``: a WRONG CODE makes the verdict FAILED (close-code cases).
    """

    by_client: bool
    codes: tuple[int, ...]
    require_clean: bool
    wrong_code_fatal: bool = False
    our_code: int = NORMAL


@dataclass(frozen=True)
class Case:
    """One conformance case, numbered as Autobahn|Testsuite numbers it.

    ``deflate``: permessage-deflate offers to make in the upgrade (groups 12-13);
    when the server accepts none the case is UNIMPLEMENTED, and once accepted every
    message the case sends with :class:`SendMessage` or :class:`EchoLoop` is compressed.
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
