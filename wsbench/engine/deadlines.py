"""The opening deadline of every session of a worker, kept by one timer.

``connect_timeout`` is the same for every open of a worker, so opens end their time in the
order they started: a FIFO queue is sorted by deadline, and one loop timer, armed at the
oldest deadline still pending, is enough. ``asyncio.timeout`` per open cost a loop timer
each (made, rescheduled, cancelled), the largest single item of the opening path measured
in ``bench/`` after the connect itself.

An open that runs past its deadline has its task cancelled, as ``asyncio.timeout`` would;
:meth:`Watch.timed_out` tells the opener that the cancellation was the deadline's (and
takes it back), so the opener can report a timeout rather than stop.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Deadlines", "Watch"]


class Watch:
    """One open's deadline (loop time, s): its task until the open ends."""

    __slots__ = ("task", "deadline", "expired")

    def __init__(self, task: asyncio.Task[object] | None, deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.expired = False

    def timed_out(self) -> bool:
        """After a CancelledError (before :meth:`Deadlines.done`): True if the deadline
        cancelled the open and nothing else did (the cancellation is then taken back)."""
        if not self.expired or self.task is None:
            return False
        return self.task.uncancel() == 0


class Deadlines:
    """Deadlines of the opens of one worker, ``timeout`` seconds each, one timer for all."""

    __slots__ = ("_loop", "_timeout", "_queue", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self._loop = loop
        self._timeout = timeout
        self._queue: deque[Watch] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def watch(self) -> Watch:
        """Start the current task's deadline; call :meth:`done` when its open ends."""
        watch = Watch(asyncio.current_task(self._loop), self._loop.time() + self._timeout)
        self._queue.append(watch)
        if self._timer is None:
            self._timer = self._loop.call_at(watch.deadline, self._expire)
        return watch

    def done(self, watch: Watch) -> None:
        """The open ended (any way): its deadline no longer applies."""
        watch.task = None
        watch.deadline = -1.0  # ended: dropped from the queue when it reaches the front
        queue = self._queue
        while queue and queue[0].deadline < 0:
            queue.popleft()

    def _expire(self) -> None:
        self._timer = None
        now = self._loop.time()
        queue = self._queue
        while queue:
            head = queue[0]
            if head.deadline < 0:
                queue.popleft()
            elif head.deadline <= now:
                queue.popleft()
                head.expired = True
                if head.task is not None:
                    head.task.cancel()
            else:
                self._timer = self._loop.call_at(head.deadline, self._expire)
                return

    def close(self) -> None:
        """The worker is done: no more timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
