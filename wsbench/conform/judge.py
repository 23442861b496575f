"""The verdict rules, in one place (pure code): Autobahn|Testsuite's, exactly.

:class:`Observation` is what the runner saw; :func:`judge` turns it and the case's
expectations into a verdict, a close behaviour and a one-line reason, as Autobahn's
``Case.onConnectionLost`` (``case/case.py``) and the cases' own overrides do:

* the verdict is the first outcome whose events equal what was received, else FAILED
  (9.1-9.6: an echo of the right type and length is OK);
* the close behaviour: FAILED when the wrong endpoint started the close, else UNCLEAN
  when a clean close was required and did not happen, else WRONG CODE when the
  server's code is not one of those expected, else FAILED BY CLIENT when wsbench had
  to drop the TCP connection, else OK;
* the close behaviour changes the verdict only where Autobahn says so: the wrong
  endpoint with ``closedByWrongEndpointIsFatal`` (6.3.x, 6.4.x, invalid 6.x.y) and a
  WRONG CODE in group 7; 7.1.6 and 7.13.x are INFORMATIONAL, close behaviour included.

wsbench's own, stricter checks are judged apart (:mod:`wsbench.conform.checks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from wsbench.conform.model import Case, CloseVerdict, Event, Verdict

__all__ = ["Observation", "Judgement", "judge", "events_match", "describe_events"]


@dataclass(frozen=True)
class Observation:
    """What happened on one connection, in the words of Autobahn's client.

    ``closed_by_client`` (``closedByMe``): wsbench sent the first close frame.
    ``server_close_code`` (``remoteCloseCode``): the code in the server's close frame
    as Autobahn takes it (None: no frame or no code). ``clean`` (``wasClean``): both
    close frames went and the server closed TCP. ``dropped_by_client``
    (``droppedByMe``): wsbench dropped the TCP connection. ``violation``: the first
    RFC 6455 rule the server broke (wsbench then failed the connection, as Autobahn).
    ``declined``: the case offered permessage-deflate and the server accepted no offer.
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
    """Autobahn's close check, in its order."""
    want = case.close
    if want.by_client != obs.closed_by_client:
        if want.by_client:
            return CloseVerdict.FAILED, "the server started the close; wsbench should have"
        return CloseVerdict.FAILED, "wsbench had to start the close; the server should have"
    if want.require_clean and not obs.clean:
        return CloseVerdict.UNCLEAN, "the closing handshake did not complete cleanly"
    if obs.server_close_code is not None and obs.server_close_code not in want.codes:
        codes = ",".join(str(c) for c in want.codes)
        return CloseVerdict.WRONG_CODE, f"close code {obs.server_close_code}, expected {codes} or none"
    if obs.dropped_by_client:
        return CloseVerdict.FAILED_BY_CLIENT, "wsbench had to drop the TCP connection"
    return CloseVerdict.OK, "connection closed as expected"


def _matched(case: Case, events: Sequence[Event]):  # noqa: ANN202 - Outcome | None
    if case.length_only:  # 9.1-9.6: any echo of the right type and length
        want = case.outcomes[0].events[0]
        hit = any(e.kind == "message" and e.binary == want.binary
                  and e.data.length == want.data.length for e in events)
        return case.outcomes[0] if hit else None
    return next((o for o in case.outcomes if events_match(events, o.events)), None)


def judge(case: Case, obs: Observation) -> Judgement:
    """Grade one case: verdict, close behaviour, and why (one line)."""
    if obs.handshake_error is not None:
        return Judgement(Verdict.FAILED, CloseVerdict.FAILED, f"upgrade failed: {obs.handshake_error}")
    close, close_reason = _close_behaviour(case, obs)
    if case.close_informational:
        close = CloseVerdict.INFORMATIONAL
    if obs.declined is not None:
        reason = obs.declined if close == CloseVerdict.OK else f"{obs.declined}; {close_reason}"
        return Judgement(Verdict.UNIMPLEMENTED, close, reason)
    matched = _matched(case, obs.events)
    broke = f"; the server broke RFC 6455 ({obs.violation}), wsbench failed the connection" \
        if obs.violation is not None else ""
    if case.informational:
        how = matched.reason if matched is not None and matched.reason else (
            f"observed {describe_events(obs.events)}, close code {obs.server_close_code}")
        return Judgement(Verdict.INFORMATIONAL, close, how + broke)
    if matched is None:
        expected = describe_events(case.outcomes[0].events) if case.outcomes else "[]"
        ended = ""
        if obs.server_sent_close and not obs.closed_by_client:
            ended = f"; the server closed with code {obs.server_close_code}"
        return Judgement(Verdict.FAILED, close,
                         f"observed {describe_events(obs.events)}, expected {expected}{ended}{broke}")
    if case.close.wrong_endpoint_fatal and close == CloseVerdict.FAILED:
        return Judgement(Verdict.FAILED, close, close_reason + broke)
    if case.close.wrong_code_fatal and close == CloseVerdict.WRONG_CODE:
        return Judgement(Verdict.FAILED, close, close_reason + broke)
    reason = matched.reason or "events as expected"
    if close != CloseVerdict.OK:
        reason = f"{reason}; close {close}: {close_reason}"
    return Judgement(matched.verdict, close, reason + broke)
