"""tests/utils.py: the one polling helper returns what it waited for and gives up in time."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from tests.utils import UNIT, wait_until, wait_until_async


def test_wait_until_returns_the_first_true_value():
    counter = itertools.count()
    assert wait_until(lambda: next(counter) >= 3 and "done", 1, interval=0.001) == "done"


def test_wait_until_gives_up_after_its_bound_naming_what_it_waited_for():
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"the thing not met within .* \(last: 0\)"):
        wait_until(lambda: 0, 0.05, interval=0.01, what="the thing")
    assert 0.05 * UNIT <= time.monotonic() - started < 2 * UNIT


@pytest.mark.parametrize("kind", ["plain", "coroutine"])
def test_wait_until_async_polls_while_the_loop_runs(kind):
    async def main() -> str:
        seen: list[int] = []
        loop = asyncio.get_running_loop()
        for delay in (0.01, 0.02, 0.03):  # the loop must run between polls for these to land
            loop.call_later(delay, seen.append, 1)

        async def counted() -> str | None:
            return "three" if len(seen) == 3 else None

        def plain() -> str | None:
            return "three" if len(seen) == 3 else None

        return await wait_until_async(counted if kind == "coroutine" else plain, 1, interval=0.005)

    assert asyncio.run(main()) == "three"


def test_wait_until_async_gives_up_after_its_bound():
    async def main() -> None:
        await wait_until_async(lambda: None, 0.05, interval=0.01, what="nothing")

    with pytest.raises(AssertionError, match="nothing not met within"):
        asyncio.run(main())
