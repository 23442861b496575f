"""The per-message Python cost of the engine's session, without sockets: current vs proposed.

    .venv/bin/python bench/bench_hotpath.py

Feeds each session its own echo, in one process, with no network: one call is one
closed-loop round trip through ``Session.on_message`` -> ``send_next`` -> stamp -> send
(a no-op sink). It isolates the Python work wsbench adds on top of a bare client (the
socket and picows costs are the same for both and are left out). Implementations
alternate within one run; the table shows the best of many repetitions (least noise on a
shared machine) and the median.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from wsbench.engine import session as session_current
from wsbench.metrics.recorder import Recorder
from wsbench.protocol.stamp import stamp_factory
from wsbench.scenario import Scenario

try:  # bench/proposed/ holds local prototypes (ignored by git); bench/ is on sys.path
    from proposed import session as session_tuned
except ImportError:
    session_tuned = None

__all__ = ["main"]

CALLS = 200_000
REPEATS = 15


class _Ctx:
    """The few WorkerContext fields a Session reads."""

    def __init__(self, make_message: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.recorder = Recorder(start_ns=0)
        self.make_message = make_message
        self.scenario = Scenario(mode="closed", messages=None)
        self.loop = loop
        self.stopping = False
        self.clock = time.monotonic_ns


def _session(module: Any, make_message: Any, loop: asyncio.AbstractEventLoop) -> tuple[Any, list[bytes]]:
    ctx = _Ctx(make_message, loop)
    session = module.Session(ctx, 0)
    box = [b""]

    def sink(data: bytes) -> None:
        box[0] = data

    session.on_open(sink, lambda code: None, lambda: None)
    return session, box


def _time(session: Any, box: list[bytes]) -> float:
    on_message, clock = session.on_message, time.monotonic_ns
    start = time.perf_counter()
    for _ in range(CALLS):
        on_message(box[0], clock())
    elapsed = time.perf_counter() - start
    session.recorder.rtt_pending.clear()
    return elapsed / CALLS * 1e9


def _baseline(box: list[bytes]) -> float:
    clock = time.monotonic_ns

    def sink(data: bytes) -> None:
        box[0] = data

    start = time.perf_counter()
    for _ in range(CALLS):
        sink(box[0]); clock()  # noqa: E702
    return (time.perf_counter() - start) / CALLS * 1e9


def main() -> None:
    loop = asyncio.new_event_loop()
    variants = {"current (session.py + stamp.py)": _session(session_current, stamp_factory(32), loop)}
    if session_tuned is not None:
        variants["proposed session (bytes-keyed match)"] = _session(session_tuned, stamp_factory(32), loop)
        variants["  + hexlify(pack) stamp"] = _session(session_tuned, session_tuned.make_factory(32), loop)
    else:
        print("bench/proposed/ not found: measuring the current session only")
    times: dict[str, list[float]] = {name: [] for name in variants}
    base: list[float] = []
    for _ in range(REPEATS):
        for name, (session, box) in variants.items():
            times[name].append(_time(session, box))
        base.append(_baseline([b"x" * 32]))
    for session, _ in variants.values():  # every reply matched, nothing lost
        rec = session.recorder
        assert rec.received == CALLS * REPEATS and rec.unmatched == rec.duplicated == 0
    print(f"one closed-loop round trip through Session (ns), {CALLS} calls x {REPEATS} repeats")
    print(f"{'':36}{'best':>8}{'median':>8}{'× current':>11}")
    ref = min(times["current (session.py + stamp.py)"])
    for name, values in times.items():
        print(f"{name:36}{min(values):8.0f}{statistics.median(values):8.0f}{min(values) / ref:11.2f}")
    print(f"{'(loop + clock + sink alone)':36}{min(base):8.0f}{statistics.median(base):8.0f}")
    loop.close()


if __name__ == "__main__":
    main()
