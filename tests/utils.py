"""What every test shares: one timeout unit and one polling helper.

Every wait in the suite is a multiple of :data:`UNIT` seconds, scaled on slow machines with
``WSBENCH_TEST_TIMEOUT_UNIT`` (e.g. ``2``). Tests never sleep to synchronise: they poll a
condition with :func:`wait_until`, which is bounded.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["UNIT", "wait_until", "wait_until_async"]

T = TypeVar("T")

#: seconds; every test timeout is a multiple of it
UNIT = float(os.environ.get("WSBENCH_TEST_TIMEOUT_UNIT", "1"))


def wait_until(condition: Callable[[], T], timeout: float = 10.0, *, interval: float = 0.02,
               what: str = "condition") -> T:
    """Poll ``condition`` until it returns a true value; return it. ``timeout`` is in
    :data:`UNIT` s; past it, AssertionError naming ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout * UNIT
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout * UNIT:g} s (last: {value!r:.200})")
        time.sleep(interval)


async def wait_until_async(condition: Callable[[], Awaitable[T] | T], timeout: float = 10.0, *,
                           interval: float = 0.02, what: str = "condition") -> T:
    """:func:`wait_until` inside an event loop (the loop runs between polls); ``condition``
    may be a coroutine function or a plain function."""
    deadline = time.monotonic() + timeout * UNIT
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout * UNIT:g} s (last: {value!r:.200})")
        await asyncio.sleep(interval)
