"""One timer for every opening deadline of a worker (wsbench/engine/deadlines.py), on a real loop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from wsbench.engine.deadlines import Deadlines

UNIT = 0.05  # seconds


async def _open(deadlines: Deadlines, hang: asyncio.Future[None]) -> str:
    """An open that waits on ``hang``: 'ok', 'timeout' or (re-raised) cancelled."""
    watch = deadlines.watch()
    try:
        await hang
    except asyncio.CancelledError:
        if watch.timed_out():
            return "timeout"
        raise
    finally:
        deadlines.done(watch)
    return "ok"


@pytest.mark.parametrize("loop_factory", [asyncio.new_event_loop, uvloop.new_event_loop])
def test_only_the_opens_past_their_deadline_are_cancelled_as_timeouts(loop_factory):
    async def main() -> None:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop, 4 * UNIT)
        hangs = [loop.create_future() for _ in range(6)]
        tasks = [loop.create_task(_open(deadlines, hang)) for hang in hangs]
        await asyncio.sleep(UNIT)
        for hang in hangs[::2]:  # half of them answer in time
            hang.set_result(None)
        async with asyncio.timeout(40 * UNIT):
            results = await asyncio.gather(*tasks)
        assert results == ["ok", "timeout"] * 3
        assert len(deadlines) == 0  # every open ended: nothing left to watch
        deadlines.close()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def test_a_stop_is_not_taken_for_a_timeout_and_a_late_deadline_cancels_nothing():
    async def main() -> None:
        loop = asyncio.get_running_loop()
        deadlines = Deadlines(loop, 3 * UNIT)
        stopped = loop.create_task(_open(deadlines, loop.create_future()))
        quick = loop.create_future()
        answered = loop.create_task(_open(deadlines, quick))
        await asyncio.sleep(UNIT)
        stopped.cancel()  # the run stops: the open must see a cancellation, not a timeout
        quick.set_result(None)
        with pytest.raises(asyncio.CancelledError):
            await stopped
        assert await answered == "ok"
        await asyncio.sleep(4 * UNIT)  # past both deadlines: the timer finds nothing to cancel
        assert len(deadlines) == 0
        later = loop.create_task(_open(deadlines, loop.create_future()))  # the timer is armed again
        async with asyncio.timeout(40 * UNIT):
            assert await later == "timeout"
        deadlines.close()

    asyncio.run(main())
