"""The verdict rules, in one place (pure code).

:class:`Observation` is what the runner saw; :func:`judge` turns it and the case's
expectations into a verdict, a close behaviour and a one-line reason. The rules
follow Autobahn|Testsuite's ``Case.onConnectionLost`` with one deliberate change:
when the wrong endpoint ended the connection, or the server never failed a
connection it had to fail, the verdict is FAILED (Autobahn keeps the events'
verdict and only marks the close).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wsbench.conform.model import Case, CloseVerdict, Event, Verdict

__all__ = ["Observation", "Judgement", "judge", "events_match", "describe_events"]


@dataclass(frozen=True)
class Observation:
    """What happened on one connection.

    ``closed_by_client``: wsbench sent the first close frame (started the handshake).
    ``server_close_code``: the code in the server's close frame (None: no frame or no code).
    ``clean``: both close frames were exchanged and the server closed TCP first.
    ``dropped_by_client``: wsbench had to drop the TCP connection after a timeout.
    ``violation``: the server broke RFC 6455 (what the strict parser reported).
    ``declined``: the case offered permessage-deflate and the server accepted no offer
    (why, in a few words); the case then only closed the connection.
    ``ignored``: the server accepted permessage-deflate but left out parameters the
    offer requested; an otherwise OK case is then NON-STRICT.
    """

    events: tuple[Event, ...] = ()
    closed_by_client: bool = False
    server_sent_close: bool = False
    server_close_code: int | None = None
    clean: bool = False
    dropped_by_client: bool = False
    violation: str | None = None
    handshake_error: str | None = None
    declined: str | None = None
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class Judgement:
    verdict: str
    close: str
    reason: str


def events_match(observed: Sequence[Event], expected: Sequence[Event]) -> bool:
    return len(observed) == len(expected) and all(
        seen.matches(want) for seen, want in zip(observed, expected, strict=True)
    )


def describe_events(events: Sequence[Event], *, limit: int = 6) -> str:
    shown = ", ".join(e.describe() for e in events[:limit])
    if len(events) > limit:
        shown += f", … ({len(events)} events)"
    return f"[{shown}]"


def _close_behaviour(case: Case, obs: Observation) -> tuple[str, str]:
    want = case.close
    if want.by_client != obs.closed_by_client:
        if want.by_client:
            return CloseVerdict.FAILED, "the server ended the connection; wsbench should have"
        return CloseVerdict.FAILED, "the server did not fail the connection; wsbench had to close"
    if obs.dropped_by_client and not obs.server_sent_close:
        return CloseVerdict.FAILED, "the server never closed the connection; wsbench dropped it"
    if want.require_clean and not obs.clean:
        return CloseVerdict.UNCLEAN, "the closing handshake did not complete cleanly"
    if obs.server_close_code is not None and obs.server_close_code not in want.codes:
        codes = ",".join(str(c) for c in want.codes)
        return CloseVerdict.WRONG_CODE, f"close code {obs.server_close_code}, expected {codes} or none"
    return CloseVerdict.OK, "connection closed as expected"


def judge(case: Case, obs: Observation) -> Judgement:
    """Grade one case: verdict, close behaviour, and why (one line)."""
    if obs.handshake_error is not None:
        return Judgement(Verdict.FAILED, CloseVerdict.FAILED, f"upgrade failed: {obs.handshake_error}")
    close, close_reason = _close_behaviour(case, obs)
    if obs.declined is not None:
        if obs.violation is not None:
            return Judgement(Verdict.FAILED, close, f"server broke RFC 6455: {obs.violation}")
        reason = obs.declined if close == CloseVerdict.OK else f"{obs.declined}; {close_reason}"
        return Judgement(Verdict.UNIMPLEMENTED, close, reason)
    matched = next((o for o in case.outcomes if events_match(obs.events, o.events)), None)
    if case.informational:
        how = matched.reason if matched is not None and matched.reason else (
            f"observed {describe_events(obs.events)}, close code {obs.server_close_code}")
        if obs.violation is not None:
            how = f"{how}; server broke RFC 6455: {obs.violation}"
        return Judgement(Verdict.INFORMATIONAL, close, how)
    if obs.violation is not None:
        return Judgement(Verdict.FAILED, close, f"server broke RFC 6455: {obs.violation}")
    if matched is None:
        expected = describe_events(case.outcomes[0].events) if case.outcomes else "[]"
        ended = ""
        if obs.server_sent_close and not obs.closed_by_client:
            ended = f"; the server closed with code {obs.server_close_code}"
        return Judgement(Verdict.FAILED, close,
                         f"observed {describe_events(obs.events)}, expected {expected}{ended}")
    if close == CloseVerdict.FAILED:
        return Judgement(Verdict.FAILED, close, close_reason)
    if close == CloseVerdict.WRONG_CODE and case.close.wrong_code_fatal:
        return Judgement(Verdict.FAILED, close, close_reason)
    reason = matched.reason or ("events as expected" if close == CloseVerdict.OK else close_reason)
    if close != CloseVerdict.OK and matched.reason:
        reason = f"{matched.reason}; {close_reason}"
    if matched.verdict == Verdict.OK and obs.ignored:
        return Judgement(Verdict.NON_STRICT, close,
                         f"{reason}, but the server accepted permessage-deflate without the "
                         f"requested {', '.join(obs.ignored)} (RFC 7692 7.1.1-7.1.2: it must "
                         "echo a request it accepts)")
    return Judgement(matched.verdict, close, reason)
