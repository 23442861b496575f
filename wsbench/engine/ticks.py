"""Many sessions' one-shot timers on one loop timer: the next rate-mode send of each session.

A worker holds ~16,700 idle sessions in the 100k-session scale check, each waiting ~100 s
for its next send. A loop timer each (uvloop's ``TimerHandle``, its libuv timer and the
bound method) cost ~390 bytes a session, measured; here each waits as one :class:`Tick` (a
3-item list) in a heap, and one loop timer is armed at the earliest. A tick fires in the
loop iteration its own timer would have (the loop's timers have ms resolution either way).
"""

from __future__ import annotations

import asyncio
import heapq
import math
from collections.abc import Callable

__all__ = ["Ticks", "Tick"]

_SLACK = 1e-6  # s: a tick this close to the loop's time is due (float rounding of ms times)


class Tick(list):  # type: ignore[type-arg]  # [when, order, callback]: ordered by when, then order
    """A pending call: ``cancel()`` it like a loop timer."""

    __slots__ = ()

    def cancel(self) -> None:
        self[2] = None


class Ticks:
    """One-shot calls at loop times, in a heap, on one loop timer."""

    __slots__ = ("_loop", "_heap", "_timer", "_armed_at", "_order")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._heap: list[Tick] = []
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = math.inf
        self._order = 0  # breaks ties between equal times: the callbacks are never compared

    def __len__(self) -> int:
        """Calls pending (cancelled ones included until their time)."""
        return len(self._heap)

    def call_later(self, delay: float, callback: Callable[[], object]) -> Tick:
        """Call ``callback`` in ``delay`` seconds (loop time), unless the Tick is cancelled.

        The time is rounded up to the loop's millisecond: uvloop's clock and timers count
        whole ms, and a tick due a fraction of a ms after its timer fired would re-arm a 0 ms
        timer until the clock turned (a spin measured at ~3 % of a core per worker holding
        16,667 sessions).
        """
        when = math.ceil((self._loop.time() + delay) * 1000) / 1000
        tick = Tick((when, self._order, callback))
        self._order += 1
        heapq.heappush(self._heap, tick)
        if when < self._armed_at:
            self._arm(when)
        return tick

    def close(self) -> None:
        """Drop every pending call and the loop timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed_at = math.inf
        self._heap.clear()

    def _arm(self, when: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._armed_at = when
        self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._armed_at = math.inf
        now = self._loop.time() + _SLACK
        heap = self._heap
        try:
            while heap and heap[0][0] <= now:
                callback = heapq.heappop(heap)[2]
                if callback is not None:
                    callback()
        finally:  # a callback that raised (the loop reports it) stops no other
            if heap and heap[0][0] < self._armed_at:
                self._arm(heap[0][0])
