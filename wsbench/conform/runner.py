"""Run conformance cases against a URL (asyncio): the library entry point.

:func:`run_conformance` is what ``wsbench conform`` and the lab integration call,
once per target URL. Each case gets its own connection; cases run a few at a
time (``concurrency``); a case never sleeps to synchronise: it waits for the
server's events, with ``timeout`` as the bound, and uses a ping as a barrier.
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
from wsbench.conform.connection import Connection, HandshakeError, Target, WireLog, open_connection
from wsbench.conform.ingress import IngressOptions, IngressRun
from wsbench.conform.judge import Observation, events_match, judge
from wsbench.conform.model import (
    AwaitFailure,
    Blob,
    Case,
    EchoLoop,
    Event,
    SendBytes,
    SendFrames,
    SendMessage,
    Sync,
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
    the server failing a connection). ``wait``: how long to give the server at the
    few points where only time can tell that nothing happens (mid-frame fail-fast
    checks, 6.4.3/6.4.4). ``concurrency``: cases in flight at once.
    """

    timeout: float = 2.0
    wait: float = 0.5
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

    # the long idle checks first, so that they wait while everything else runs
    ordered_runs = sorted(chosen, key=lambda c: not (isinstance(c, IngressCheck) and c.needs_idle_bound))
    try:
        await asyncio.gather(*(one(c) for c in ordered_runs))
        complete = True
    finally:
        ordered = {c.id: results[c.id] for c in chosen if c.id in results}
        result = ConformResult(
            url=target.url, complete=complete, started_at=started,
            duration_s=(time.monotonic_ns() - start_ns) / 1e9,
            options={"timeout_s": options.timeout, "wait_s": options.wait,
                     "concurrency": options.concurrency, "scale": scale,
                     "deflate_scale": deflate_scale, "ingress": checks.to_json()},
            cases=ordered)
    return result


async def run_case(target: Target, case: Case, options: RunOptions) -> CaseResult:
    """Run one case on its own connection and judge it."""
    log = WireLog(limit=options.wire_log_lines)
    start = time.monotonic_ns()
    declined: str | None = None
    deflate: dict[str, object] = {}
    try:
        conn = await open_connection(target, timeout=options.timeout, log=log,
                                     ssl_context=options.ssl_context, deflate=case.deflate)
    except HandshakeError as exc:
        observation = Observation(handshake_error=str(exc))
    else:
        try:
            if case.deflate and conn.agreement is None:
                declined = "the server accepted no permessage-deflate offer"
                await _close_normally(conn, options)
            else:
                await _drive(conn, case, options)
        finally:
            await conn.aclose()
        if conn.agreement is not None:
            deflate = {"agreed": conn.agreement.response, "parameters": conn.agreement.describe(),
                       **conn.deflate_stats.to_json()}
        server_code = conn.server_close.code if conn.server_close is not None else None
        observation = Observation(
            events=tuple(conn.events),
            closed_by_client=conn.closed_by_client,
            server_sent_close=conn.server_close is not None,
            server_close_code=server_code,
            clean=(conn.client_close_sent and conn.server_close is not None and conn.eof
                   and not conn.dropped_by_client and not conn.reset),
            dropped_by_client=conn.dropped_by_client,
            violation=conn.violation,
            declined=declined,
            ignored=conn.agreement.ignored if conn.agreement is not None else (),
        )
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
            **({"deflate": deflate} if deflate else {}),
        },
        wire_log=log.export())


async def _close_normally(conn: Connection, options: RunOptions) -> None:
    await conn.send_close(1000)
    if not await conn.wait_for(lambda: conn.finished, options.timeout):
        conn.drop(f"no TCP close from the server within {options.timeout:g} s")


async def _drive(conn: Connection, case: Case, options: RunOptions) -> None:
    for action in case.actions:
        if not conn.can_send:
            break
        await _perform(conn, action, options)
    want = case.close
    if want.by_client and not conn.client_close_sent:
        expected = case.outcomes[0].events if case.outcomes else ()
        await conn.wait_for(
            lambda: events_match(conn.events, expected) or not conn.can_send, options.timeout)
        if conn.can_send:
            await conn.sync(options.timeout)
        if conn.can_send:
            await conn.send_close(want.our_code)
    # the end of the connection: the server closes TCP (after the closing handshake)
    ended = await conn.wait_for(lambda: conn.finished, options.timeout)
    if not ended:
        conn.drop(f"no TCP close from the server within {options.timeout:g} s")


async def _perform(conn: Connection, action: object, options: RunOptions) -> None:
    if isinstance(action, SendFrames):
        await conn.send_frames(action.frames, chop=action.chop, per_frame=action.per_frame,
                               starts_close=action.starts_close)
    elif isinstance(action, SendBytes):
        conn.log.add("tx", f"{len(action.data)} raw bytes {action.note}".rstrip())
        await conn.write(action.data)
    elif isinstance(action, SendMessage):
        await _send_message(conn, action)
    elif isinstance(action, Sync):
        if await conn.sync(options.timeout) and action.label:
            conn.events.append(alive(action.label))
    elif isinstance(action, AwaitFailure):
        failed = await conn.wait_for(lambda: not conn.can_send, options.wait)
        if not failed:
            conn.events.append(alive(action.label))
    elif isinstance(action, EchoLoop):
        await _echo_loop(conn, action, options)
    else:  # pragma: no cover - the model's Action union is closed
        raise TypeError(f"unknown action {action!r}")


async def _send_message(conn: Connection, action: SendMessage) -> None:
    payload = action.payload.materialise()
    frames = conn.message_frames(payload, is_binary=action.binary,
                                 fragment_size=action.fragment_size)
    await conn.send_frames(frames, chop=action.chop)


async def _echo_loop(conn: Connection, action: EchoLoop, options: RunOptions) -> None:
    fixed = action.payload.materialise() if action.data_set is None else b""
    first = len(conn.events)
    intact = 0
    for index in range(action.count):
        before = len(conn.events)
        payload = fixed if action.data_set is None else window(action.data_set, index,
                                                               action.payload.length)
        frames = conn.message_frames(payload, is_binary=action.binary,
                                     fragment_size=action.fragment_size)
        if not conn.can_send or not await conn.write(encode_frames(frames)):
            break
        if not await conn.wait_for(lambda n=before: len(conn.events) > n or not conn.can_send,
                                   options.timeout):
            break
        got = conn.events[before]
        if got.kind != "message" or got.binary != action.binary or got.data.materialise() != payload:
            break
        intact += 1
    extra = conn.events[first + intact:]
    del conn.events[first:]
    conn.events.append(Event("echoes", Blob.of(b"%d" % intact)))
    conn.events.extend(extra)
    conn.log.add("..", f"{intact} of {action.count} round trips intact")
