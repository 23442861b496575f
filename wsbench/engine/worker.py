"""A worker process: one event loop driving its share of the sessions for one target.

Each worker stays under the per-process open-file cap, measures into its own
:class:`~wsbench.metrics.recorder.Recorder`, and every second writes its shard
(atomically) and appends its events to ``events.jsonl`` — so a crash loses at most
the last second. SIGINT/SIGTERM stop it gracefully: sessions close, the shard is
written with ``complete: false``.

The worker builds its :class:`~wsbench.engine.contracts.ConnectSettings`, instantiates its
transport class once, and is the :class:`~wsbench.engine.contracts.SessionHost` of its
sessions. Time is read only through its ``clock`` (``time.monotonic_ns`` unless a test
passes another), the clock the sessions and the transport get too.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from wsbench.engine.choice import choose_transport
from wsbench.engine.contracts import (
    Cancellable,
    Clock,
    ConnectSettings,
    Phases,
    SessionHooks,
    Transport,
)
from wsbench.engine.session import Session
from wsbench.engine.spec import WorkerSpec
from wsbench.engine.ticks import Ticks
from wsbench.files import write_json_atomic
from wsbench.metrics.recorder import Recorder
from wsbench.protocol.stamp import stamp_factory
from wsbench.scenario import redact_text, redact_url, secrets_of

__all__ = ["WorkerSpec", "WorkerContext", "worker_main", "raise_fd_limit", "TICKS_FROM_S"]

_NS = 1_000_000_000
_dumps = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps without its checks per call
_EVENT_KEYS = frozenset(("t", "wall", "kind", "target", "worker"))  # every event line has these
LAG_PROBE_S = 0.1
#: Event lines kept before an early write (else once a second): the end of a run closes every
#: session at once (~220 bytes a line, ~3.6 MiB per worker of 16,667 sessions, measured).
EVENTS_BUFFERED = 1_000
#: a session's next send this far off or more waits on the worker's Ticks heap, a nearer one
#: on a loop timer (WorkerContext.call_later)
TICKS_FROM_S = 1.0
_PROBE_NS = int(LAG_PROBE_S * _NS)  # the Recorder's bucket (BUCKET_NS): one sample per bucket
_GUARD_NS = 5_000_000  # wake this long after each grid point: an early wake still closes its bucket


def raise_fd_limit() -> int:
    """Raise the soft open-file limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class WorkerContext:
    """Everything the sessions of one worker share (their SessionHost)."""

    def __init__(self, spec: WorkerSpec, loop: asyncio.AbstractEventLoop, start_ns: int, *,
                 clock: Clock = time.monotonic_ns) -> None:
        scenario = spec.scenario
        self.spec = spec
        self.scenario = scenario
        self.loop = loop
        self.start_ns = start_ns
        self.clock = clock  # tests pass a fake clock
        self.recorder = Recorder(start_ns=start_ns)
        self.make_message = stamp_factory(scenario.message_size)
        self.connect = ConnectSettings.of(scenario, spec.url, clock=clock)
        self.transport: Transport = choose_transport(scenario)(
            self.connect, loop=loop, clock=clock, on_subprotocol=self.note_subprotocol, spawn=self.spawn)
        self.rng = random.Random(spec.index)
        self.secrets = secrets_of(scenario.headers, (spec.url,))
        self.ticks = Ticks(loop)
        self.stopping = False
        self.stop_ns = 0
        self.stop_event = asyncio.Event()
        self._sleepers: set[asyncio.Future[bool]] = set()  # ctx.sleep()s that stop() wakes
        self.subprotocols: dict[str, int] = {}
        self.errors: list[str] = []  # tracebacks of failed helper tasks
        self._events: list[str] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._wall_epoch_ns = time.time_ns()
        self._mono_epoch_ns = clock()
        self._event_tail = f'"target":{_dumps(spec.target)},"worker":{_dumps(spec.index)}'

    # --- used by sessions -------------------------------------------------------------

    async def open(self, session: SessionHooks) -> Phases:
        return await self.transport.open(session)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Cancellable:
        """A session's next rate-mode send: a long wait on the worker's one :class:`Ticks` timer
        (memory: an idle session holds no loop timer), a short one on a loop timer of its own.

        Ticks round up to the loop's millisecond; a loop timer fires to the nearest one and the
        session waits out the rest, so a busy session sends on time: through the lab's nginx at
        20 messages/s per session, Ticks for every send raised the send lag p50 from 0.13-0.41 ms
        to 0.73-0.83 ms and ``rtt`` p50 by ~0.5 ms, measured.
        """
        if delay < TICKS_FROM_S:
            return self.loop.call_later(delay, callback)
        return self.ticks.call_later(delay, callback)

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless the run stops first; True if the run goes on.

        A future and a timer: every session sleeps until its turn in the ramp, and
        ``wait_for(event.wait())`` cost a Task, a coroutine and a timer each.
        """
        if self.stopping:
            return False
        if seconds <= 0:
            return True
        waiter = self.loop.create_future()
        timer = self.loop.call_later(seconds, _wake, waiter)
        self._sleepers.add(waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._sleepers.discard(waiter)
        return not self.stopping

    def request_stop(self) -> None:
        """The run stops: wake every sleeper (their ``sleep`` answers False)."""
        self.stopping = True
        self.stop_ns = self.clock()
        self.stop_event.set()
        for waiter in self._sleepers:
            _wake(waiter)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a helper task; its failure is a wsbench bug and is reported, not lost."""
        task = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append("".join(traceback.format_exception(task.exception())))

    def redact(self, text: str) -> str:
        """``text`` (a close reason, an error's detail) with the run's secrets hidden."""
        return redact_text(text, self.secrets) if self.secrets else text

    def note_subprotocol(self, name: str | None) -> None:
        key = name or "(none)"
        self.subprotocols[key] = self.subprotocols.get(key, 0) + 1

    def event(self, kind: str, /, **fields: Any) -> None:
        """One events.jsonl line: t, wall, kind, target, worker, then ``fields``.

        Written once per session opened and once per session closed: the constant part
        is made once, only ``fields`` go through the encoder (the same JSON as before).
        """
        if not _EVENT_KEYS.isdisjoint(fields):
            raise ValueError(f"event fields {sorted(fields)} would hide one of {sorted(_EVENT_KEYS)}")
        now = self.clock()
        head = (f'{{"t":{round((now - self.start_ns) / _NS, 6)!r},'
                f'"wall":{round((self._wall_epoch_ns + now - self._mono_epoch_ns) / _NS, 6)!r},'
                f'"kind":{_dumps(kind)},{self._event_tail}')
        events = self._events
        events.append(f"{head},{_dumps(fields)[1:]}" if fields else head + "}")
        if len(events) >= EVENTS_BUFFERED:
            self.flush_events()

    # --- output -----------------------------------------------------------------------

    def flush_events(self) -> None:
        """Append buffered events to events.jsonl in one write (O_APPEND: lines stay whole)."""
        if not self._events:
            return
        data = ("\n".join(self._events) + "\n").encode()
        self._events.clear()
        fd = os.open(self.spec.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def write_shard(self, *, complete: bool) -> None:
        """Append the new timeline seconds, then replace the shard (counters, histograms)."""
        path = Path(self.spec.shard_path)
        timeline_path = path.with_suffix(".timeline.jsonl")
        new = self.recorder.timeline
        if new:
            with open(timeline_path, "a", encoding="utf-8") as handle:
                handle.write("".join(json.dumps(entry, separators=(",", ":")) + "\n" for entry in new))
            new.clear()  # on disk: not kept (~5 KiB a second while opening, measured)
        meta = {
            "target": self.spec.target,
            "url": redact_url(self.spec.url),
            "worker": self.spec.index,
            "pid": os.getpid(),
            "start_ns": self.start_ns,
            "wall_epoch_ns": self._wall_epoch_ns,
            "mono_epoch_ns": self._mono_epoch_ns,
            "subprotocols": dict(self.subprotocols),
            "timeline_file": timeline_path.name,
            "transport": self.transport.name,
            "hot_path": self.transport.hot_path,
            "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
        shard = self.recorder.snapshot(complete=complete, meta=meta, timeline=False)
        write_json_atomic(path, shard, compact=True)


async def _run(spec: WorkerSpec, start_ns: int, progress: Any, *,
               clock: Clock = time.monotonic_ns) -> bool:
    """Run the worker's sessions; True if the run completed (not interrupted)."""
    loop = asyncio.get_running_loop()
    ctx = WorkerContext(spec, loop, start_ns, clock=clock)
    interrupted = False

    hurry = False  # a second signal: abort every session now, write the shard, exit

    def stop(interrupt: bool) -> None:
        nonlocal interrupted, hurry
        if interrupt and interrupted:
            hurry = True
            wake.set()
        interrupted = interrupted or interrupt
        if not ctx.stopping:
            ctx.request_stop()
            for session, task in zip(sessions, tasks, strict=True):
                if interrupt and session.opening:  # Ctrl-C: an upgrade under way is cancelled, not waited out
                    task.cancel()
                else:
                    session.finish()
            wake.set()

    # SIGTERM only: the runner forwards each Ctrl-C (SIGINT stays ignored, so a terminal's
    # Ctrl-C to the whole group counts once); a second one hurries the stop
    loop.add_signal_handler(signal.SIGTERM, stop, True)

    scenario = spec.scenario
    sessions = [Session(ctx, index) for index in spec.sessions]
    tasks = [
        loop.create_task(s.run(start_at_ns=start_ns + (int(s.index * _NS / scenario.ramp) if scenario.ramp > 0 else 0)))
        for s in sessions
    ]
    all_done = asyncio.gather(*tasks, return_exceptions=True)
    gc.freeze()  # the sessions and their tasks live as long as the run: out of the collector's view
    wake = _Wake(loop)  # a stop: the loop below looks at once
    deadline_ns = start_ns + int(scenario.duration * _NS)
    timeout_ns = int(scenario.reply_timeout * _NS)
    grace_ns = int((scenario.reply_timeout + 2.0) * _NS)  # for sessions to close after a stop
    cpu_mark = time.process_time()
    wall_mark = clock()
    next_second = start_ns + _NS
    next_probe = clock()
    ctx.event("worker_started", pid=os.getpid(), sessions=len(sessions))

    while not all_done.done():
        now = clock()
        if now >= deadline_ns and not ctx.stopping:
            stop(False)
        wake_ns = min(next_second + _GUARD_NS, next_probe + _PROBE_NS)
        expected = wake_ns
        await _until(loop, all_done, wake, max(0.0, (wake_ns - now) / _NS))
        wake.clear()
        if hurry:
            break
        now = clock()
        ctx.recorder.loop_lag.record(max(0, now - expected) // 1000)
        ctx.recorder.sample(now)  # the 100 ms buckets: what the counters gained since the last wake
        # the next wake on the 100 ms grid of the run's clock, so each sample closes one bucket
        next_probe = start_ns + ((now - start_ns) // _PROBE_NS) * _PROBE_NS + _GUARD_NS if now > start_ns else now
        if scenario.mode == "closed" and not ctx.stopping:
            for session in sessions:
                session.check_reply_timeout(now, timeout_ns)
        if now >= next_second:
            cpu_now, wall_now = time.process_time(), clock()
            cpu_percent = 100.0 * (cpu_now - cpu_mark) / max(1e-6, (wall_now - wall_mark) / _NS)
            cpu_mark, wall_mark = cpu_now, wall_now
            ctx.recorder.tick(now, cpu_percent=cpu_percent)
            next_second += _NS * max(1, (now - next_second) // _NS + 1)
            ctx.write_shard(complete=False)
            ctx.flush_events()
            if progress is not None:
                rec = ctx.recorder
                progress.put(
                    {
                        "worker": spec.index,
                        "t": (now - start_ns) / _NS,
                        "open": rec.open_now,
                        "sent": rec.sent,
                        "received": rec.received,
                        "failed": rec.failed,
                        "dropped": rec.dropped,
                        "cpu": round(cpu_percent, 1),
                    }
                )
        if ctx.stopping and now >= ctx.stop_ns + grace_ns:
            break

    if not all_done.done():
        # Sessions that would not close in time: drop them and count what was in flight.
        for session in sessions:
            session.abort()
        await asyncio.wait(tasks, timeout=0.2 if hurry else 1.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in sessions:
            session.on_disconnect(None, "aborted at end of run", "aborted")
    errors = _task_errors(tasks) + ctx.errors
    for error in errors:
        ctx.event("worker_error", error=error[-400:])
        sys.stderr.write(f"wsbench worker {spec.index}: internal error:\n{error}\n")
    ctx.transport.close()
    ctx.ticks.close()
    ctx.recorder.tick(clock(), final=True)
    ctx.event("worker_stopped", interrupted=interrupted, errors=len(errors))
    ctx.write_shard(complete=not interrupted and not errors)
    ctx.flush_events()
    return not interrupted


class _Wake:
    """A flag that also ends the worker loop's current wait (an Event, without its Task)."""

    __slots__ = ("_loop", "flag", "waiter")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.flag = False
        self.waiter: asyncio.Future[bool] | None = None

    def set(self) -> None:
        self.flag = True
        if self.waiter is not None:
            _wake(self.waiter)

    def clear(self) -> None:
        self.flag = False


async def _until(loop: asyncio.AbstractEventLoop, done: asyncio.Future[Any], wake: _Wake,
                 seconds: float) -> None:
    """Until ``done`` completes, ``wake`` is set or ``seconds`` have passed (a timer and a
    callback: no Task, no shield, unlike ``wait_for``; the worker's loop wakes 10 times a
    second)."""
    if done.done() or wake.flag:
        return
    waiter: asyncio.Future[bool] = loop.create_future()
    timer = loop.call_later(seconds, _wake, waiter)

    def on_done(_: asyncio.Future[Any]) -> None:
        _wake(waiter)

    done.add_done_callback(on_done)
    wake.waiter = waiter
    try:
        await waiter
    finally:
        timer.cancel()
        done.remove_done_callback(on_done)
        wake.waiter = None


def _wake(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


def _task_errors(tasks: list[asyncio.Task[Any]]) -> list[str]:
    """Tracebacks of session tasks that failed (a wsbench bug: never swallowed)."""
    errors = []
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            errors.append("".join(traceback.format_exception(exc)))
    return errors


def worker_main(spec: WorkerSpec, start_ns_value: Any, go: Any, progress: Any) -> None:
    """Process entry point: wait for the common start, run, write the last shard."""
    raise_fd_limit()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner forwards Ctrl-C as SIGTERM
    import uvloop

    progress.put({"worker": spec.index, "ready": True})
    if not go.wait(timeout=120):
        return
    start_ns = int(start_ns_value.value)
    # Sessions are long-lived objects: move what exists now out of the collector's view and
    # collect young objects less often (measured in bench/: GC was 1.4-2.7 s of the CPU
    # spent opening 10k sessions; this takes CPU per open from 0.42 to 0.34 ms).
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    completed = uvloop.run(_run(spec, start_ns, progress))
    progress.put({"worker": spec.index, "done": True, "complete": completed})
