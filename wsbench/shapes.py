"""Load shapes as generators: they only yield times or delays; the caller sleeps.

Pure code (no clock reads, no I/O), in the style of ``websockets.client.backoff``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["ramp_offsets", "rate_schedule", "rate_time", "backoff", "split_evenly"]


def ramp_offsets(sessions: int, per_second: float) -> Iterator[float]:
    """Seconds after the start at which each of ``sessions`` sessions opens.

    ``per_second`` <= 0 means "all at once".
    """
    for index in range(sessions):
        yield index / per_second if per_second > 0 else 0.0


def rate_schedule(start_ns: int, per_second: float) -> Iterator[int]:
    """Scheduled send times (monotonic ns) of a fixed-rate stream starting at ``start_ns``.

    Times are computed from the start, never from the previous send, so a stall does
    not shift the schedule: the latency of a late message counts from its scheduled
    time (coordinated omission).
    """
    index = 0
    while True:
        yield rate_time(start_ns, per_second, index)
        index += 1


def rate_time(start_ns: int, per_second: float, index: int) -> int:
    """The ``index``-th (from 0) scheduled send time of :func:`rate_schedule`, on its own (a
    caller holding many idle streams keeps two integers each instead of a generator)."""
    return start_ns + int(index * (1e9 / per_second))


def backoff(
    *,
    initial: float = 0.1,
    factor: float = 2.0,
    maximum: float = 5.0,
    jitter: float = 0.1,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Reconnect delays in seconds: exponential up to ``maximum``, with ±``jitter`` share."""
    rng = rng or random.Random()
    delay = initial
    while True:
        yield delay * (1.0 + rng.uniform(-jitter, jitter))
        delay = min(delay * factor, maximum)


def split_evenly(total: int, parts: int) -> list[int]:
    """Split ``total`` into ``parts`` integers differing by at most one (larger first)."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]
