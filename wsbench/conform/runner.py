"""Run conformance cases against a URL (asyncio): the library entry point.

:func:`run_conformance` is what ``wsbench conform`` and the lab integration call,
once per target URL. Each case gets its own connection; cases run a few at a
time (``concurrency``). Each case does what its Autobahn|Testsuite file does: it sends
the same bytes in the same writes, waits only where Autobahn waits (``continueLater``:
``wait``, 1 s) and keeps Autobahn's ``killAfter``/``closeAfter`` timers, which fire only
when a server has not ended the case by then; otherwise it waits for the server's
events, with ``timeout`` as the bound. The wsbench checks' own probes (close codes
1012-1014) run with the 7.7.x cases.
The ingress group's checks run through :mod:`wsbench.conform.ingress`; the two
idle checks, which mostly wait, start first and outside the concurrency limit.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from wsbench.conform.cases import AnyCase, catalogue, select
from wsbench.conform.cases.ingress import IngressCheck
from wsbench.conform.cases.testdata import window
from wsbench.conform.checks import PROBE_GROUP_PATTERN, CheckResult, case_checks, close_code_probes
from wsbench.conform.connection import Connection, HandshakeError, Target, WireLog, open_connection
from wsbench.conform.ingress import IngressOptions, IngressRun
from wsbench.conform.judge import Observation, events_match, judge
from wsbench.conform.model import (
    Blob,
    Case,
    EchoLoop,
    Event,
    SendBytes,
    SendClose,
    SendFrames,
    SendMessage,
    Timer,
    Wait,
    alive,
)
from wsbench.conform.result import CaseResult, ConformResult
from wsbench.errors import UsageError
from wsbench.protocol.frames import encode_frames

__all__ = ["RunOptions", "IngressOptions", "run_conformance", "run_cases", "run_case",
           "choose_cases"]


@dataclass(frozen=True)
class RunOptions:
    """How to run.

    ``timeout``: bound (s) on every wait for the server (upgrade, an expected echo,
    the closing handshake); Autobahn's own timers are never shorter than it. ``wait``:
    Autobahn's ``continueLater`` pause (5.19, 5.20, 6.4.x; Autobahn: 1 s; shorter is
    faster but no longer Autobahn's case). ``concurrency``: cases in flight at once.
    """

    timeout: float = 2.0
    wait: float = 1.0
    concurrency: int = 8
    wire_log_lines: int = 40
    ssl_context: ssl.SSLContext | None = None


def choose_cases(*, cases: Sequence[str] = (), exclude: Sequence[str] = (), scale: float = 1.0,
                 deflate_scale: float = 1.0, idle_bound: float | None = None) -> tuple[AnyCase, ...]:
    """The selection to run. Without ``idle_bound`` the idle checks are left out, unless
    named exactly in ``cases`` (then a UsageError says they need a bound)."""
    chosen = select(catalogue(scale=scale, deflate_scale=deflate_scale), include=cases,
                    exclude=exclude)
    if idle_bound is not None:
        return chosen
    named = [c.id for c in chosen
             if isinstance(c, IngressCheck) and c.needs_idle_bound and c.id in cases]
    if named:
        raise UsageError(f"{', '.join(named)} needs an idle bound (--idle-bound SECONDS): "
                         "it waits for the path's idle timeout")
    return tuple(c for c in chosen if not (isinstance(c, IngressCheck) and c.needs_idle_bound))


def run_conformance(
    url: str,
    *,
    cases: Sequence[str] = (),
    exclude: Sequence[str] = (),
    scale: float = 1.0,
    deflate_scale: float = 1.0,
    options: RunOptions | None = None,
    ingress: IngressOptions | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> ConformResult:
    """Run the selected cases against ``url`` and return the result (blocking).

    ``cases``/``exclude`` are patterns like ``1.*``, ``6.4.1`` or ``ingress.*``;
    ``scale`` multiplies group 9's sizes, ``deflate_scale`` the message counts of
    groups 12-13; ``ingress`` configures the ingress checks (the idle ones run only
    with ``ingress.idle_bound``). UsageError for a bad URL or pattern; an unreachable
    target still returns a result (every case FAILED with the reason) so that a lab
    run goes on.
    """
    target = Target.parse(url)
    checks = ingress or IngressOptions()
    chosen = choose_cases(cases=cases, exclude=exclude, scale=scale, deflate_scale=deflate_scale,
                          idle_bound=checks.idle_bound)
    opts = options or RunOptions()
    if opts.timeout <= 0 or opts.wait < 0 or opts.concurrency < 1:
        raise UsageError("timeout must be > 0, wait >= 0 and concurrency >= 1")
    return asyncio.run(run_cases(target, chosen, options=opts, scale=scale,
                                 deflate_scale=deflate_scale, ingress=checks, on_result=on_result))


async def run_cases(target: Target, chosen: Sequence[AnyCase], *, options: RunOptions,
                    scale: float = 1.0, deflate_scale: float = 1.0,
                    ingress: IngressOptions | None = None,
                    on_result: Callable[[CaseResult], None] | None = None) -> ConformResult:
    started = time.time()
    start_ns = time.monotonic_ns()
    limiter = asyncio.Semaphore(options.concurrency)
    results: dict[str, CaseResult] = {}
    complete = False
    checks = ingress or IngressOptions()
    probes = IngressRun(target, options=checks, timeout=options.timeout,
                        ssl_context=options.ssl_context, wire_log_lines=options.wire_log_lines)

    def done(result: CaseResult) -> None:
        results[result.id] = result
        if on_result is not None:
            on_result(result)

    async def one(case: AnyCase) -> None:
        if isinstance(case, IngressCheck):
            if case.needs_idle_bound:  # mostly waiting: no slot taken
                done(await probes.run(case))
                return
            async with limiter:
                done(await probes.run(case))
            return
        async with limiter:
            done(await run_case(target, case, options))

    probe_results: dict[str, CaseResult] = {}

    async def probe(case: Case) -> None:
        async with limiter:
            probe_results[case.id] = await run_case(target, case, options)

    wanted_probes = (close_code_probes()
                     if any(c.id.startswith(PROBE_GROUP_PATTERN) for c in chosen) else [])
    # the long idle checks first, then the cases that wait (Autobahn's continueLater), so
    # that they wait while everything else runs
    ordered_runs = sorted(chosen, key=_start_order)
    try:
        await asyncio.gather(*(one(c) for c in ordered_runs), *(probe(p) for p in wanted_probes))
        complete = True
    finally:
        ordered = {c.id: results[c.id] for c in chosen if c.id in results}
        result = ConformResult(
            url=target.url, complete=complete, started_at=started,
            duration_s=(time.monotonic_ns() - start_ns) / 1e9,
            options={"timeout_s": options.timeout, "wait_s": options.wait,
                     "concurrency": options.concurrency, "scale": scale,
                     "deflate_scale": deflate_scale, "ingress": checks.to_json()},
            cases=ordered,
            probes={p.id: probe_results[p.id] for p in wanted_probes if p.id in probe_results})
    return result


def _start_order(case: AnyCase) -> int:
    if isinstance(case, IngressCheck):
        return 0 if case.needs_idle_bound else 2
    return 1 if any(isinstance(a, Wait) for a in case.actions) else 2


async def run_case(target: Target, case: Case, options: RunOptions) -> CaseResult:
    """Run one case on its own connection and judge it (and its wsbench checks)."""
    log = WireLog(limit=options.wire_log_lines)
    start = time.monotonic_ns()
    declined: str | None = None
    deflate: dict[str, object] = {}
    checks: dict[str, CheckResult] = {}
    try:
        conn = await open_connection(target, timeout=options.timeout, log=log,
                                     ssl_context=options.ssl_context, deflate=case.deflate)
    except HandshakeError as exc:
        observation = Observation(handshake_error=str(exc))
    else:
        conn.record_pings = False  # Autobahn's fuzzing client ignores the server's pings
        conn.close_timeout = options.timeout
        conn.autobahn_close_codes = not case.id.startswith("wsbench.")  # the probes: IANA's
        content_ok: list[bool] = []
        try:
            if case.deflate and conn.agreement is None:
                declined = "the server accepted no permessage-deflate offer"
                await conn.send_close(1000)
                await _end(conn, options, 0.0)
            else:
                await _drive(conn, case, options, content_ok)
        finally:
            await conn.aclose()
        if conn.agreement is not None:
            deflate = {"agreed": conn.agreement.response, "parameters": conn.agreement.describe(),
                       **conn.deflate_stats.to_json()}
        observation = Observation(
            events=tuple(conn.events),
            closed_by_client=conn.closed_by_client,
            server_sent_close=conn.server_close is not None,
            server_close_code=conn.remote_close_code,
            clean=conn.clean,
            dropped_by_client=conn.dropped_by_client,
            violation=conn.violation,
            declined=declined,
        )
        checks = case_checks(case, problems=conn.problems,
                             ignored=conn.agreement.ignored if conn.agreement else (),
                             agreed=conn.agreement is not None,
                             content_ok=(_echo_content(case, observation.events) if case.length_only
                                         else all(content_ok) if content_ok else None))
    elapsed_ms = (time.monotonic_ns() - start) / 1e6
    verdict = judge(case, observation)
    return CaseResult(
        id=case.id, group=case.group, description=case.description,
        expectation=case.expectation, verdict=verdict.verdict, close=verdict.close,
        reason=verdict.reason, duration_ms=round(elapsed_ms, 3),
        observed={
            "events": [e.describe() for e in observation.events[:20]],
            "server_close_code": observation.server_close_code,
            "closed_by": "wsbench" if observation.closed_by_client else "server",
            "clean": observation.clean,
            "dropped_by_wsbench": observation.dropped_by_client,
            **({"deflate": deflate} if deflate else {}),
        },
        wire_log=log.export(), source=case.source, timing_dependent=case.timing_dependent,
        checks={name: c.to_json() for name, c in checks.items()})


class _Timers:
    """Autobahn's ``killAfter``/``closeAfter`` for one case: scheduled, fired only if
    the connection is still up then (each given at least ``RunOptions.timeout``)."""

    def __init__(self, conn: Connection, options: RunOptions) -> None:
        self._conn = conn
        self._options = options
        self._handles: list[asyncio.TimerHandle] = []
        self.last_fire = 0.0

    def schedule(self, timer: Timer) -> None:
        loop = asyncio.get_running_loop()
        delay = max(timer.seconds, self._options.timeout)
        self.last_fire = max(self.last_fire, loop.time() + delay)
        fire = self._kill if timer.kind == "kill" else self._close
        self._handles.append(loop.call_later(delay, fire, timer.seconds))

    def _kill(self, seconds: float) -> None:
        conn = self._conn
        if conn.finished:
            return
        conn.log.add("--", f"killAfter({seconds:g}) fired")
        if conn.client_close_sent:
            conn.drop(f"killAfter({seconds:g}) while closing")
        else:  # Autobahn's failConnection(): close 1001 (going away)
            conn.start_close(1001)

    def _close(self, seconds: float) -> None:
        conn = self._conn
        if conn.finished:
            return
        conn.log.add("--", f"closeAfter({seconds:g}) fired")
        conn.start_close(None)  # Autobahn's sendClose(): a close frame without a code

    def cancel(self) -> None:
        for handle in self._handles:
            handle.cancel()


async def _drive(conn: Connection, case: Case, options: RunOptions,
                 content_ok: list[bool]) -> None:
    timers = _Timers(conn, options)
    want = case.close
    if want.by_client and want.close_on_match:
        def finish_when_done() -> None:  # Autobahn's Case.finishWhenDone
            if all(events_match(conn.events, o.events) for o in case.outcomes):
                conn.start_close(want.codes[0])
        conn.on_event = finish_when_done
    if case.close_on_message:
        def close_on_message() -> None:  # 9.1-9.6: Autobahn's onMessage closes
            if any(e.kind == "message" for e in conn.events):
                conn.start_close(want.codes[0])
        conn.on_event = close_on_message
    try:
        for action in case.actions:
            if isinstance(action, Timer):
                timers.schedule(action)
                continue
            if not conn.can_send and not isinstance(action, SendClose):
                if isinstance(action, Wait) or conn.finished:
                    break
                continue
            await _perform(conn, action, options, content_ok, timers)
        await _end(conn, options, timers.last_fire)
    finally:
        timers.cancel()
        conn.on_event = None


async def _end(conn: Connection, options: RunOptions, last_fire: float) -> None:
    """Wait for the TCP connection to end: the server's part, bounded by the case's
    timers (and, after them, the closing handshake's ``timeout``)."""
    loop = asyncio.get_running_loop()
    bound = max(last_fire - loop.time(), 0.0) + 2 * options.timeout + 0.5
    if not await conn.wait_for(lambda: conn.finished, bound):
        conn.drop(f"the connection did not end within {bound:.1f} s")


async def _perform(conn: Connection, action: object, options: RunOptions,
                   content_ok: list[bool], timers: _Timers) -> None:
    if isinstance(action, SendFrames):
        await conn.send_frames(action.frames, chop=action.chop, per_frame=action.per_frame,
                               starts_close=action.starts_close)
    elif isinstance(action, SendBytes):
        conn.log.add("tx", f"{len(action.data)} raw bytes {action.note}".rstrip())
        await conn.write(action.data)
    elif isinstance(action, SendMessage):
        await _send_message(conn, action)
    elif isinstance(action, SendClose):
        await conn.send_close(action.code, action.reason)
    elif isinstance(action, Wait):
        await conn.wait_for(lambda: not conn.can_send, options.wait)
        if conn.can_send and action.label:
            conn.events.append(alive(action.label))
    elif isinstance(action, EchoLoop):
        await _echo_loop(conn, action, options, content_ok)
    else:  # pragma: no cover - the model's Action union is closed
        raise TypeError(f"unknown action {action!r}")


async def _send_message(conn: Connection, action: SendMessage) -> None:
    payload = action.payload.materialise()
    frames = conn.message_frames(payload, is_binary=action.binary,
                                 fragment_size=action.fragment_size)
    await conn.send_frames(frames, chop=action.chop)


def _echo_content(case: Case, events: tuple[Event, ...]) -> bool | None:
    """9.1-9.6: whether the echo of the right type and length has the content sent."""
    want = case.outcomes[0].events[0]
    for event in events:
        if event.kind == "message" and event.binary == want.binary and event.data.length == want.data.length:
            return event.data.materialise() == want.data.materialise()
    return None


async def _echo_loop(conn: Connection, action: EchoLoop, options: RunOptions,
                     content_ok: list[bool]) -> None:
    """Autobahn's 9.7/9.8 and 12/13 loop: the next message once the previous echo is back;
    close 1000 when done or at the first wrong echo; an empty close at the time limit."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(action.seconds, options.timeout)
    fixed = action.payload.materialise() if action.data_set is None else b""
    first = len(conn.events)
    intact = 0
    timed_out = False
    for index in range(action.count):
        before = len(conn.events)
        payload = fixed if action.data_set is None else window(action.data_set, index,
                                                               action.payload.length)
        frames = conn.message_frames(payload, is_binary=action.binary,
                                     fragment_size=action.fragment_size)
        if not conn.can_send or not await conn.write(encode_frames(frames)):
            break
        if not await conn.wait_for(lambda n=before: len(conn.events) > n or not conn.can_send,
                                   max(deadline - loop.time(), 0.0)):
            timed_out = True
            break
        if len(conn.events) <= before:
            break
        got = conn.events[before]
        if got.kind != "message" or got.binary != action.binary or got.data.length != len(payload):
            break
        same = got.data.materialise() == payload
        if action.compare_content and not same:
            break
        if not same:
            content_ok.append(False)
        intact += 1
    if not action.compare_content and intact:
        content_ok.append(all(content_ok) if content_ok else True)
    extra = conn.events[first + intact:]
    del conn.events[first:]
    conn.events.append(Event("echoes", Blob.of(b"%d" % intact)))
    conn.events.extend(extra)
    conn.log.add("..", f"{intact} of {action.count} round trips intact")
    if timed_out:
        conn.log.add("--", f"closeAfter({action.seconds:g}) fired")
        conn.start_close(None)
    else:
        conn.start_close(1000)
