"""Shorthands shared by the case modules (pure)."""

from __future__ import annotations

from typing import Any

from wsbench.conform.model import (
    NORMAL,
    PROTOCOL_ERROR,
    Case,
    CloseExpectation,
    Event,
    Outcome,
    SendFrames,
    Timer,
    Verdict,
)
from wsbench.protocol.frames import Frame

__all__ = ["ECHO_THEN_CLOSE", "fail_with", "ok", "ok_or_nothing", "send", "case", "kill_after",
           "close_after", "source"]

#: wsbench closes with 1000 once the expected events came; the server must echo 1000 cleanly.
ECHO_THEN_CLOSE = CloseExpectation(by_client=True, codes=(NORMAL,), require_clean=True)


def fail_with(code: int = PROTOCOL_ERROR, *, wrong_endpoint_fatal: bool = False) -> CloseExpectation:
    """The server must fail the connection (close frame with ``code``, or just drop TCP)."""
    return CloseExpectation(by_client=False, codes=(code,), require_clean=False,
                            wrong_endpoint_fatal=wrong_endpoint_fatal)


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
    """Frames in one write (Autobahn: ``sendFrame`` calls in one reactor turn), one write
    each (``per_frame``: ``sync=True``) or octets in writes of ``chop`` (``chopsize``).
    ``starts_close``: the first close frame among them is Autobahn's ``sendClose``."""
    return SendFrames(tuple(frames), chop=chop, per_frame=per_frame, starts_close=starts_close)


def kill_after(seconds: float) -> Timer:
    """Autobahn's ``self.p.killAfter(seconds)``."""
    return Timer("kill", seconds)


def close_after(seconds: float) -> Timer:
    """Autobahn's ``self.p.closeAfter(seconds)``."""
    return Timer("close", seconds)


def source(name: str) -> str:
    """Where Autobahn|Testsuite keeps the case ``name`` (``case3_6.py``)."""
    return f"crossbario/autobahn-testsuite autobahntestsuite/autobahntestsuite/case/{name}"


def case(id: str, group: str, description: str, expectation: str, actions: tuple | list,
         outcomes: tuple[Outcome, ...], close: CloseExpectation, *, src: str,
         **flags: Any) -> Case:
    return Case(id, group, description, expectation, tuple(actions), outcomes, close,
                source=source(src), **flags)
