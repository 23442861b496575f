"""Shorthands shared by the case modules (pure)."""

from __future__ import annotations

from wsbench.conform.model import (
    NORMAL,
    PROTOCOL_ERROR,
    Case,
    CloseExpectation,
    Event,
    Outcome,
    SendFrames,
    Verdict,
)
from wsbench.protocol.deflate import DeflateOffer
from wsbench.protocol.frames import Frame

__all__ = ["ECHO_THEN_CLOSE", "fail_with", "ok", "ok_or_nothing", "send", "case"]

#: wsbench closes with 1000 once the expected events came; the server must echo 1000 cleanly.
ECHO_THEN_CLOSE = CloseExpectation(by_client=True, codes=(NORMAL,), require_clean=True)


def fail_with(code: int = PROTOCOL_ERROR) -> CloseExpectation:
    """The server must fail the connection (close frame with ``code``, or just drop TCP)."""
    return CloseExpectation(by_client=False, codes=(code,), require_clean=False)


def ok(*events: Event) -> tuple[Outcome, ...]:
    return (Outcome(Verdict.OK, tuple(events)),)


def ok_or_nothing(*events: Event) -> tuple[Outcome, ...]:
    """OK with ``events``; NON-STRICT when the server failed before answering at all."""
    return (
        Outcome(Verdict.OK, tuple(events)),
        Outcome(Verdict.NON_STRICT, (), "the server failed the connection before echoing"),
    )


def send(*frames: Frame, chop: int | None = None, per_frame: bool = False,
         starts_close: bool = False) -> SendFrames:
    return SendFrames(tuple(frames), chop=chop, per_frame=per_frame, starts_close=starts_close)


def case(id: str, group: str, description: str, expectation: str, actions: tuple | list,
         outcomes: tuple[Outcome, ...], close: CloseExpectation, *, informational: bool = False,
         timed: bool = False, deflate: tuple[DeflateOffer, ...] = ()) -> Case:
    return Case(id, group, description, expectation, tuple(actions), outcomes, close,
                informational=informational, timed=timed, deflate=deflate)
