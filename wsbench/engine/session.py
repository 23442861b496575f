"""One load session: open, exchange stamped messages, close or drop, reconnect.

Transport-agnostic: a transport (``wsbench.engine.transports``) opens the connection
and calls :meth:`Session.on_message` / :meth:`Session.on_disconnect` (a Session is the
:class:`~wsbench.engine.contracts.SessionHooks` of its connection); the session calls back
through the ``send`` and ``close`` functions the transport gives it. What it needs from its
worker is a :class:`~wsbench.engine.contracts.SessionHost`; it reads time only through the
host's clock.

Each reply is matched to its request by the sequence number in its stamp; the RTT
counts from the *scheduled* send time (in ``rate`` mode a late send does not hide
the stall: coordinated omission). In ``rate`` mode each send's lateness (its *send lag*:
the generator's own timer and event loop, nothing the target did) is recorded too, and each
reply's time from the actual send (``rtt_service`` = RTT − its send lag), so a verdict can
tell the generator's lateness from the target's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from wsbench.engine.contracts import Cancellable, SessionHost
from wsbench.errors import UpgradeFailure
from wsbench.protocol.failures import CLOSE_PROBLEMS, is_protocol_error
from wsbench.protocol.stamp import read_seq
from wsbench.shapes import backoff, rate_time

__all__ = ["Session", "LATE_SEND_NS", "CLOSE_ABNORMAL"]

#: A rate-mode message sent later than this after its scheduled time counts as late
#: (event-loop timers fire up to ~1 ms late by design, so the bar sits above that).
LATE_SEND_NS = 2_000_000
CLOSE_ABNORMAL = 1006


class Session:
    """The state of one session across its reconnects.

    ``__slots__``: a worker holds ~19,000 of them for a whole run (a ``__dict__`` cost ~270
    bytes more per session, measured).
    """

    __slots__ = ("ctx", "index", "recorder", "make_message", "closed_loop", "messages_left", "next_seq",
                 "max_seq", "outstanding", "send_lags", "last_send_ns", "connected", "finishing",
                 "client_closing", "_send", "_close", "_abort", "_buffered", "_sync", "pushed_back", "opening",
                 "aborting", "_closed", "_timer", "_rate_start", "_rate_index", "_next_scheduled")

    def __init__(self, ctx: SessionHost, index: int) -> None:
        self.ctx = ctx
        self.index = index
        self.recorder = ctx.recorder
        self.make_message = ctx.make_message
        self.closed_loop = ctx.scenario.mode == "closed"
        self.messages_left = -1 if ctx.scenario.messages is None else ctx.scenario.messages
        self.next_seq = 0
        self.max_seq = -1
        self.outstanding: dict[int, int] = {}
        #: rate mode: how late each outstanding message went out after its scheduled time (ns);
        #: its reply's time from the actual send (``rtt_service``) is its RTT minus this
        self.send_lags: dict[int, int] | None = None if self.closed_loop else {}
        self.last_send_ns = 0
        self.connected = False
        self.finishing = False
        self.client_closing = False
        self._send: Callable[[bytes], None] | None = None
        self._close: Callable[[int], None] | None = None
        self._abort: Callable[[], None] | None = None
        self._buffered: Callable[[], int] | None = None  # bytes not yet taken by the kernel
        self._sync: Callable[[], None] | None = None  # the transport writes back state it holds
        self.pushed_back = False  # the peer stopped reading: sends held back at least once
        self.opening = False  # an upgrade is under way (a stop cancels it rather than wait)
        self.aborting = False  # the run ends: the connection is dropped on purpose
        self._closed: asyncio.Future[bool] | None = None
        self._timer: Cancellable | None = None
        self._rate_start = 0  # rate mode: the schedule's start (ns) and the next send's index in it
        self._rate_index = 0
        self._next_scheduled = 0

    # --- hot path -------------------------------------------------------------------

    def send_next(self, scheduled_ns: int) -> None:
        """Send the next stamped message, stamped with its scheduled send time."""
        seq = self.next_seq
        self.next_seq = seq + 1
        self.outstanding[seq] = scheduled_ns
        self._send(self.make_message(seq, scheduled_ns))  # type: ignore[misc]
        self.recorder.sent += 1
        if self.messages_left > 0:
            self.messages_left -= 1

    def on_message(self, data: bytes, now_ns: int) -> None:
        """A data message arrived (called by the transport)."""
        seq = read_seq(data)
        scheduled = self.outstanding.pop(seq, None)
        recorder = self.recorder
        if scheduled is None:
            if 0 <= seq < self.next_seq:
                recorder.duplicated += 1
            else:
                recorder.unmatched += 1
            return
        recorder.received += 1
        recorder.rtt_pending.append((now_ns - scheduled) // 1000)
        lags = self.send_lags
        if lags is not None:
            recorder.service_pending.append((now_ns - scheduled - lags.pop(seq, 0)) // 1000)
            if not lags and not self.outstanding:  # rate mode, every reply in: an idle session
                lags.clear()  # frees the emptied tables (~150 bytes each, kept by pop)
                self.outstanding.clear()
        if seq < self.max_seq:
            recorder.reordered += 1
        else:
            self.max_seq = seq
        if self.finishing:
            if not self.outstanding:
                self.close()
        elif self.closed_loop:
            if self.messages_left:
                self.last_send_ns = now_ns
                self.send_next(now_ns)
            else:
                self.finish()

    # --- rate mode ------------------------------------------------------------------

    def _start_rate(self, now_ns: int) -> None:
        # the schedule as its start and an index (rate_time), not a rate_schedule generator:
        # ~240 bytes less per idle session
        self._rate_start, self._rate_index = now_ns, 1
        self._next_scheduled = now_ns
        self._rate_tick()

    def _rate_tick(self) -> None:
        if self.finishing or not self.connected:
            return
        now = self.ctx.clock()
        buffered = self._buffered
        high_water = self.ctx.scenario.send_high_water
        while self._next_scheduled <= now:
            scheduled = self._next_scheduled
            if buffered is not None and buffered() > high_water:
                self._hold_back()  # the peer does not read: this message is not sent
            else:
                lag = now - scheduled
                if lag > LATE_SEND_NS:
                    self.recorder.late_sends += 1
                self.recorder.send_lag_pending.append(lag // 1000)
                self.send_lags[self.next_seq] = lag  # type: ignore[index]
                self.send_next(scheduled)
            self._next_scheduled = rate_time(self._rate_start, self.ctx.scenario.rate, self._rate_index)
            self._rate_index += 1
            if self.messages_left == 0:
                self.finish()
                return
        delay = (self._next_scheduled - now) / 1e9
        self._timer = self.ctx.call_later(delay, self._rate_tick)

    def _hold_back(self) -> None:
        """A scheduled message not sent: the peer stopped reading (its send buffer is full)."""
        recorder = self.recorder
        recorder.unsent += 1
        if not self.pushed_back:
            self.pushed_back = True
            recorder.pushed_back += 1
            self.ctx.event("session_pushed_back", session=self.index, buffered=self._buffered())  # type: ignore[misc]
        if self.messages_left > 0:
            self.messages_left -= 1
        self.next_seq += 1  # its sequence number stays unused: the echo stream shows the gap

    # --- lifecycle ------------------------------------------------------------------

    def check_reply_timeout(self, now_ns: int, timeout_ns: int) -> None:
        """Closed loop: a reply that did not come within the timeout; send the next one."""
        if self._sync is not None:
            self._sync()
        if (
            self.connected
            and not self.finishing
            and self.outstanding
            and now_ns - self.last_send_ns > timeout_ns
        ):
            if self.messages_left:
                self.last_send_ns = now_ns
                self.send_next(now_ns)
            else:
                self.finish()

    def finish(self) -> None:
        """Stop sending; close once every reply is in or the reply timeout passed."""
        if self.finishing:
            return
        if self._sync is not None:
            self._sync()
        self.finishing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.connected:
            return
        if not self.outstanding:
            self.close()
        else:
            self._timer = self.ctx.loop.call_later(self.ctx.scenario.reply_timeout, self.close)

    def close(self) -> None:
        """Start the closing handshake from the client side (code 1000)."""
        if self.connected and not self.client_closing and self._close is not None:
            self.client_closing = True
            self._close(1000)

    def abort(self) -> None:
        """Drop the connection at once (end of a run that would not close in time)."""
        if self.connected and self._abort is not None:
            self.aborting = True
            self._abort()

    def on_open(
        self,
        send: Callable[[bytes], None],
        close: Callable[[int], None],
        abort: Callable[[], None],
        buffered: Callable[[], int] | None = None,
        sync: Callable[[], None] | None = None,
    ) -> None:
        """The transport opened the connection; ``buffered()``: bytes written but not yet sent;
        ``sync()``: the transport writes back the closed-loop state it may hold (the compiled
        listener's lease: ``next_seq``, ``max_seq``, ``messages_left``, ``last_send_ns``,
        ``outstanding``), called before this session reads that state outside ``on_message``."""
        self._send, self._close, self._abort = send, close, abort
        self._buffered = buffered
        self._sync = sync
        self.connected = True
        self.client_closing = False
        self._closed = self.ctx.loop.create_future()
        now = self.ctx.clock()
        if self.finishing or self.ctx.stopping:
            self.finishing = True
            self.close()
        elif self.messages_left == 0:
            self.finish()
        elif self.closed_loop:
            self.last_send_ns = now
            self.send_next(now)
        else:
            self._start_rate(now)

    def on_disconnect(self, code: int | None, reason: str, cause: str = "") -> None:
        """The connection ended. ``code``: the server's close code if it sent a close frame
        (None: it did not, or the frame had no readable code); ``cause``: a drop cause of
        :mod:`wsbench.protocol.failures` (``server_close`` when empty and a code came, else ``eof``)."""
        if self._sync is not None:
            self._sync()
            self._sync = None
        if not self.connected:
            return
        self.connected = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.aborting:
            cause = "aborted"
        what = cause.partition(":")[2]
        shown: int | str
        if what in CLOSE_PROBLEMS:  # an invalid close frame: the code as sent, flagged
            shown = code if what == "bad_close_code" and code is not None else "invalid"
            side, dropped = "server", True
        elif self.client_closing and not (is_protocol_error(cause) or cause == "message_too_big"):
            side, dropped, shown, cause = "client", False, code if code is not None else 1000, ""
        elif code is not None and (not cause or cause == "server_close"):
            side, dropped, shown, cause = "server", True, code, "server_close"
        else:
            side, dropped, shown, cause = "abnormal", True, CLOSE_ABNORMAL, cause or "eof"
        lost = len(self.outstanding)
        self.outstanding.clear()
        if self.send_lags is not None:
            self.send_lags.clear()
        self.recorder.session_closed(code=shown, side=side, dropped=dropped, lost=lost, cause=cause,
                                     now_ns=self.ctx.clock())
        self.ctx.event("session_dropped" if dropped else "session_closed", session=self.index,
                       code=shown, side=side, reason=self.ctx.redact(reason[:120]), lost=lost,
                       **({"cause": cause} if cause else {}))
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(dropped)

    # --- the session's life ---------------------------------------------------------

    async def run(self, start_delay: float = 0.0, *, start_at_ns: int | None = None) -> None:
        """Open (after ``start_delay`` s, or at ``start_at_ns`` on the host's clock), run until
        the end, reconnect after drops.

        ``start_at_ns``: the ramp's time for this session, counted when the task first runs
        (a worker makes all its tasks at once; a delay counted from then shifted a whole
        100k-session ramp by the ~0.2 s it took to make them, measured).
        """
        ctx = self.ctx
        if start_at_ns is not None:
            start_delay = (start_at_ns - ctx.clock()) / 1e9
        if not await ctx.sleep(start_delay):
            return
        down_since = 0
        delays = None
        while not ctx.stopping and not self.finishing:
            self.recorder.attempted += 1
            self.opening = True
            try:
                phases = await ctx.open(self)
            except asyncio.CancelledError:  # the run stops (Ctrl-C) while the upgrade is pending
                self.recorder.upgrade_failed("cancelled", ctx.clock())
                ctx.event("upgrade_failed", session=self.index, failure="cancelled", detail="the run stopped")
                return
            except UpgradeFailure as failure:
                self.opening = False
                self.recorder.upgrade_failed(failure.kind, ctx.clock())
                ctx.event("upgrade_failed", session=self.index, failure=failure.kind,
                          detail=ctx.redact(failure.detail[:160]))
                if not ctx.scenario.reconnect:
                    return
                delays = delays or backoff(rng=ctx.rng)
                if not await ctx.sleep(next(delays)):
                    return
                continue
            self.opening = False
            delays = None
            self.recorder.upgrade_ok(phases)
            ctx.event("session_opened", session=self.index,
                      upgrade_ms={k: round(v / 1e6, 3) for k, v in phases.items()})
            del phases  # not held by this frame for the session's life (~100 bytes per session)
            if down_since:
                self.recorder.session_recovered(down_since, ctx.clock() - down_since)
                down_since = 0
            closed = self._closed
            assert closed is not None
            if ctx.stopping:
                self.finish()
            dropped = await closed
            if not dropped or not ctx.scenario.reconnect or ctx.stopping:
                return
            down_since = ctx.clock()
            delays = backoff(rng=ctx.rng)
            if not await ctx.sleep(next(delays)):
                return
