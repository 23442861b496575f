"""Precise wake-ups for the echo pod's ground-truth delays (``--delay-ms``, ``--upgrade-delay-ms``).

asyncio's timers are too coarse here (uvloop keeps whole milliseconds), so deadlines run
on one CLOCK_MONOTONIC timerfd, armed a little early, with the last stretch polled.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import heapq
import itertools
import os
import time

__all__ = ["PreciseTimer"]

# --- precise wake-ups ---------------------------------------------------------------------------


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _TimerFd:
    """A CLOCK_MONOTONIC timerfd armed at absolute times (the clock of time.monotonic_ns)."""

    _ABSTIME = 1  # TFD_TIMER_ABSTIME

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._settime = libc.timerfd_settime
        fd = libc.timerfd_create(time.CLOCK_MONOTONIC, os.O_NONBLOCK | os.O_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create failed")
        self.fd: int = fd

    def arm(self, deadline_ns: int) -> None:
        spec = _Itimerspec()
        spec.it_value.tv_sec, spec.it_value.tv_nsec = divmod(max(deadline_ns, 1), 1_000_000_000)
        if self._settime(self.fd, self._ABSTIME, ctypes.byref(spec), None) != 0:
            raise OSError(ctypes.get_errno(), "timerfd_settime failed")

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)

    def close(self) -> None:
        os.close(self.fd)


class PreciseTimer:
    """``await sleep_until(deadline_ns)`` with microsecond precision on one timerfd.

    Deadlines are ``time.monotonic_ns()`` values kept in a heap. An idle process wakes up
    late after its timer expires (measured here, a VM that halts idle vCPUs: 0.1 to 0.3 ms),
    so the timerfd is armed ``lead`` early and the last stretch is spent polling the loop
    (``call_soon``: other sessions keep being served) until the deadline. ``lead`` follows
    the observed wake-up lateness like TCP's RTO (mean + 2 deviations, at most 1 ms); with
    ``spin=False`` it stays 0. Falls back to ``asyncio.sleep`` where timerfd is missing.
    """

    MAX_LEAD_NS = 1_000_000

    def __init__(self, loop: asyncio.AbstractEventLoop, *, spin: bool = True) -> None:
        self._loop = loop
        self._heap: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._spin_enabled = spin
        self._lead_ns = 0
        self._late_mean_ns = 0
        self._late_dev_ns = 0
        self._armed_ns: int | None = None  # when the timerfd will fire
        self._spinning = False
        self._timerfd: _TimerFd | None
        try:
            self._timerfd = _TimerFd()
        except (OSError, AttributeError):  # not Linux
            self._timerfd = None
        else:
            loop.add_reader(self._timerfd.fd, self._fire)

    @property
    def lead_ns(self) -> int:
        return self._lead_ns

    async def sleep_until(self, deadline_ns: int) -> None:
        now = time.monotonic_ns()
        if deadline_ns <= now:
            return
        if self._timerfd is None:
            await asyncio.sleep((deadline_ns - now) / 1e9)
            return
        waiter: asyncio.Future[None] = self._loop.create_future()
        heapq.heappush(self._heap, (deadline_ns, next(self._order), waiter))
        if self._heap[0][2] is waiter:
            self._schedule()
        await waiter

    def _schedule(self) -> None:
        """Release the waiters that are due; then spin or arm the timerfd for the next."""
        heap = self._heap
        now = time.monotonic_ns()
        while heap and heap[0][0] <= now:
            waiter = heapq.heappop(heap)[2]
            if not waiter.done():  # cancelled waiters are dropped here
                waiter.set_result(None)
        if not heap:
            return
        wake_ns = heap[0][0] - self._lead_ns
        if wake_ns <= now:
            if not self._spinning:
                self._spinning = True
                self._loop.call_soon(self._spin)
        elif self._armed_ns != wake_ns:
            assert self._timerfd is not None
            self._timerfd.arm(wake_ns)
            self._armed_ns = wake_ns

    def _spin(self) -> None:
        self._spinning = False
        self._schedule()

    def _fire(self) -> None:
        assert self._timerfd is not None
        self._timerfd.clear()
        if self._armed_ns is not None and self._spin_enabled:
            late = time.monotonic_ns() - self._armed_ns
            self._late_mean_ns += (late - self._late_mean_ns) // 8
            self._late_dev_ns += (abs(late - self._late_mean_ns) - self._late_dev_ns) // 4
            lead = self._late_mean_ns + 2 * self._late_dev_ns
            self._lead_ns = max(0, min(self.MAX_LEAD_NS, lead))
        self._armed_ns = None
        self._schedule()

    def close(self) -> None:
        if self._timerfd is not None:
            self._loop.remove_reader(self._timerfd.fd)
            self._timerfd.close()
            self._timerfd = None
