"""Ticks: many one-shot calls on one loop timer, in time order, cancellable, on a real loop."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from wsbench.engine.ticks import Ticks


def run(main):
    return uvloop.run(asyncio.wait_for(main(), 5))


def test_calls_come_in_time_order_and_a_cancelled_one_never():
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        ticks = Ticks(loop)
        fired: list[str] = []
        done = loop.create_future()
        ticks.call_later(0.03, lambda: fired.append("c"))
        ticks.call_later(0.01, lambda: fired.append("a"))
        dropped = ticks.call_later(0.02, lambda: fired.append("dropped"))
        ticks.call_later(0.02, lambda: fired.append("b"))
        ticks.call_later(0.04, lambda: done.set_result(None))
        dropped.cancel()
        started = loop.time()
        await done
        assert loop.time() - started >= 0.04 - 0.002  # not before its time (the loop's ms resolution)
        assert len(ticks) == 0
        return fired

    assert run(main) == ["a", "b", "c"]


def test_an_earlier_call_rearms_the_timer_and_a_late_one_waits():
    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        ticks = Ticks(loop)
        started = loop.time()
        times: list[float] = []
        done = loop.create_future()
        ticks.call_later(0.2, lambda: (times.append(loop.time() - started), done.set_result(None)))
        ticks.call_later(0.01, lambda: times.append(loop.time() - started))  # armed after a later one
        await done
        return times

    early, late = run(main)
    assert early < 0.1 <= 0.2 - 0.002 <= late


def test_a_callback_that_raises_stops_no_other(caplog):
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        ticks = Ticks(loop)
        fired: list[str] = []
        done = loop.create_future()

        def broken() -> None:
            raise RuntimeError("a bug")

        ticks.call_later(0.01, broken)
        ticks.call_later(0.01, lambda: fired.append("same time"))
        ticks.call_later(0.03, lambda: (fired.append("later"), done.set_result(None)))
        await done
        return fired

    assert run(main) == ["same time", "later"]


def test_close_drops_every_pending_call():
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        ticks = Ticks(loop)
        fired: list[str] = []
        ticks.call_later(0.01, lambda: fired.append("never"))
        ticks.close()
        await asyncio.sleep(0.05)
        assert len(ticks) == 0
        return fired

    assert run(main) == []


@pytest.mark.parametrize("delay", [0.0, -1.0])
def test_a_call_already_due_comes_at_the_next_iteration(delay):
    async def main() -> bool:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        Ticks(loop).call_later(delay, lambda: done.set_result(True))
        return await done

    assert run(main) is True


def test_ticks_at_fractions_of_a_millisecond_do_not_spin_the_loop():
    class Counted(Ticks):
        __slots__ = ("fires",)

        def _fire(self) -> None:
            self.fires += 1
            super()._fire()

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        ticks = Counted(loop)
        ticks.fires = 0
        fired: list[int] = []
        done = loop.create_future()
        for index in range(20):
            ticks.call_later(0.00137 * (index + 1), lambda index=index: fired.append(index))
        ticks.call_later(0.05, lambda: done.set_result(None))
        await done
        assert fired == list(range(20))
        return ticks.fires, len(fired)

    fires, fired = run(main)
    assert fires <= fired + 1  # one timer per due millisecond at most, no re-arm at 0 ms
