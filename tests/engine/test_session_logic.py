"""Session logic with a fake clock and a fake loop (no sockets): exact expectations.

The sockets are exercised in test_ground_truth.py; here the clock is ours, so the
coordinated-omission rule can be checked to the nanosecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wsbench.engine.session import Session
from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import Recorder
from wsbench.protocol.stamp import read_stamp, stamp_factory
from wsbench.scenario import parse_scenario

MS = 1_000_000


@dataclass
class FakeLoop:
    timers: list[tuple[float, Any]] = field(default_factory=list)

    def call_later(self, delay: float, callback: Any) -> Any:
        self.timers.append((delay, callback))
        return self

    def cancel(self) -> None:
        pass

    def create_future(self) -> Any:
        import asyncio

        return asyncio.get_event_loop_policy().new_event_loop().create_future()


class FakeContext:
    def __init__(self, **settings: Any) -> None:
        self.scenario = parse_scenario(settings)
        self.recorder = Recorder(start_ns=0)
        self.make_message = stamp_factory(32)
        self.loop = FakeLoop()
        self.now = 0
        self.stopping = False
        self.events: list[dict[str, Any]] = []

    def clock(self) -> int:
        return self.now

    def redact(self, text: str) -> str:
        return text

    def call_later(self, delay: float, callback: Any) -> Any:
        return self.loop.call_later(delay, callback)

    def event(self, kind: str, **fields: Any) -> None:
        self.events.append({"kind": kind, **fields})


def open_session(ctx: FakeContext) -> tuple[Session, list[bytes]]:
    sent: list[bytes] = []
    session = Session(ctx, 0)  # type: ignore[arg-type]
    session.on_open(sent.append, lambda code: None, lambda: None)
    return session, sent


def test_rate_mode_counts_latency_from_the_scheduled_time():
    ctx = FakeContext(mode="rate", rate=100)  # one message every 10 ms
    session, sent = open_session(ctx)
    assert len(sent) == 1  # seq 0 at t=0
    ctx.now = 200 * MS  # the generator stalled for 200 ms
    session._rate_tick()
    assert len(sent) == 21  # it catches up: seq 1..20, each stamped with its scheduled time
    assert [read_stamp(m)[1] for m in sent[:4]] == [0, 10 * MS, 20 * MS, 30 * MS]
    assert ctx.recorder.late_sends == 20 - 1  # seq 20 was due at 200 ms: on time
    ctx.now = 205 * MS
    session.on_message(sent[0], ctx.now)
    session.on_message(sent[20], ctx.now)
    assert ctx.recorder.rtt_pending == [205_000, 5_000]  # µs, from the schedule


def test_closed_loop_sends_after_each_matched_echo_and_classifies_the_odd_ones():
    ctx = FakeContext(mode="closed", messages=3)
    session, sent = open_session(ctx)
    ctx.now = 1 * MS
    session.on_message(sent[0], ctx.now)
    assert len(sent) == 2
    session.on_message(sent[0], ctx.now)  # an echo we already had
    assert ctx.recorder.duplicated == 1
    session.on_message(b"not a stamp, just text....................", ctx.now)
    assert ctx.recorder.unmatched == 1
    session.on_message(sent[1], 3 * MS)
    assert ctx.recorder.rtt_pending == [1000, 2000]


def test_reordered_and_lost():
    ctx = FakeContext(mode="rate", rate=1000)
    session, sent = open_session(ctx)
    ctx.now = 3 * MS
    session._rate_tick()
    assert len(sent) == 4
    for index in (0, 2, 1):  # 1 arrives after 2; 3 never arrives
        session.on_message(sent[index], ctx.now)
    assert ctx.recorder.reordered == 1
    session.on_disconnect(None, "cut")
    assert ctx.recorder.lost == 1
    assert ctx.recorder.closes_by_side["abnormal"] == 1 and ctx.recorder.dropped == 1
    assert ctx.recorder.closes_by_code == {"1006": 1}


def test_closed_loop_reply_timeout_moves_on():
    ctx = FakeContext(mode="closed", reply_timeout=0.1)
    session, sent = open_session(ctx)
    session.check_reply_timeout(50 * MS, 100 * MS)
    assert len(sent) == 1
    session.check_reply_timeout(150 * MS, 100 * MS)
    assert len(sent) == 2


def test_server_close_and_client_close_are_told_apart():
    ctx = FakeContext(mode="closed")
    session, _ = open_session(ctx)
    session.on_disconnect(4000, "bye")
    assert ctx.recorder.closes_by_side["server"] == 1 and ctx.recorder.dropped == 1
    session2, _ = open_session(ctx)
    session2.close()
    session2.on_disconnect(1000, "")
    assert ctx.recorder.closes_by_side["client"] == 1 and ctx.recorder.dropped == 1


def test_rate_mode_records_each_send_lag_and_the_time_from_the_actual_send():
    ctx = FakeContext(mode="rate", rate=100)  # one message every 10 ms
    session, sent = open_session(ctx)  # seq 0 sent on time at t=0
    ctx.now = 200 * MS  # the generator stalled: seq 1..20 go out now, 190 ms .. 0 ms late
    session._rate_tick()
    assert ctx.recorder.send_lag_pending == [0] + [(200 - 10 * k) * 1000 for k in range(1, 21)]
    ctx.now = 205 * MS
    session.on_message(sent[1], ctx.now)  # scheduled at 10 ms, sent at 200 ms
    session.on_message(sent[0], ctx.now)  # scheduled and sent at 0
    assert ctx.recorder.rtt_pending == [195_000, 205_000]  # from the schedule (coordinated omission)
    assert ctx.recorder.service_pending == [5_000, 205_000]  # from the actual send
    session.on_disconnect(1006, "")  # the 19 unanswered: lost, and their lags forgotten with them
    assert ctx.recorder.lost == 19 and session.send_lags == {}


def test_closed_loop_has_no_send_lag_and_its_service_time_is_the_rtt():
    ctx = FakeContext(mode="closed", messages=3)
    session, sent = open_session(ctx)
    ctx.now = 2 * MS
    session.on_message(sent[0], ctx.now)
    assert session.send_lags is None
    assert ctx.recorder.send_lag_pending == [] and ctx.recorder.service_pending == []
    shard = ctx.recorder.snapshot(complete=True, meta={})
    assert shard["rtt_service"] == shard["rtt"]  # each send went at once: nothing to take out
    assert Histogram.decode(shard["send_lag"]).count == 0
