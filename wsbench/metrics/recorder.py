"""Per-process, per-target measurements: histograms, counters and a per-second timeline.

Pure data: every timestamp is passed in (monotonic ns), nothing here reads a clock,
prints or writes a file. The engine calls it; :meth:`Recorder.snapshot` gives a
JSON-able *shard* that :mod:`wsbench.result.shards` merges exactly with the shards of
other processes.

Hot path: RTT samples (µs) are appended to :attr:`Recorder.rtt_pending` and recorded
into the histograms in one vectorised call per second by :meth:`Recorder.tick`; in rate
mode likewise each send's lag (:attr:`Recorder.send_lag_pending`) and each reply's time from
the actual send (:attr:`Recorder.service_pending`).

Sub-second view: :meth:`Recorder.sample`, called by the worker on a 100 ms grid, puts what
the counters gained since the last sample into that 100 ms bucket (per-bucket counters: no
per-message work); each second of the timeline carries its ten buckets (``fine``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wsbench.metrics.histogram import Histogram
from wsbench.protocol.failures import CLOSE_PROBLEMS, UPGRADE_FAILURES

__all__ = ["Recorder", "UPGRADE_PHASES", "FAILURE_KINDS", "SHARD_SCHEMA", "BUCKET_NS", "FINE_SERIES"]

SHARD_SCHEMA = "wsbench/shard@1"
UPGRADE_PHASES = ("dns", "tcp", "tls", "http", "total")
#: Classes of failed upgrades (:data:`wsbench.protocol.failures.UPGRADE_FAILURES`); HTTP
#: statuses are added as ``http_<status>``.
FAILURE_KINDS = tuple(kind for kind in UPGRADE_FAILURES if kind != "http_<status>")
_NS_PER_S = 1_000_000_000
#: The sub-second buckets: 100 ms.
BUCKET_NS = 100_000_000
_BUCKETS_PER_S = _NS_PER_S // BUCKET_NS
#: Per 100 ms bucket: counts gained in it (``open``: sessions open at its end).
FINE_SERIES = ("received", "sent", "opened", "dropped", "failed", "http_5xx", "reconnected", "open")


class _SecondEvents:
    """Drops, lost messages, close codes and failed upgrades of one second."""

    __slots__ = ("dropped", "lost", "failures", "closes")

    def __init__(self) -> None:
        self.dropped = 0
        self.lost = 0
        self.failures: dict[str, int] = {}
        self.closes: dict[str, int] = {}

    def add(self, other: _SecondEvents) -> None:
        self.dropped += other.dropped
        self.lost += other.lost
        for mine, theirs in ((self.failures, other.failures), (self.closes, other.closes)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value


class Recorder:
    """Everything one worker process measures for one target."""

    def __init__(self, *, start_ns: int) -> None:
        self.start_ns = start_ns
        self.upgrade = {phase: Histogram() for phase in UPGRADE_PHASES}
        self.rtt = Histogram()
        self.recovery = Histogram()  # drop -> next working session, µs
        self.loop_lag = Histogram()
        #: RTT samples in µs not yet in :attr:`rtt` (hot path: list.append).
        self.rtt_pending: list[int] = []
        #: rate mode: each reply's time from the *actual* send, µs (the RTT less the send's lag)
        self.rtt_service = Histogram()
        self.service_pending: list[int] = []
        #: rate mode: how late each message went out after its scheduled time, µs
        self.send_lag = Histogram()
        self.send_lag_pending: list[int] = []
        # sessions
        self.attempted = 0
        self.opened = 0
        self.failed = 0
        self.dropped = 0
        self.reconnected = 0
        self.open_now = 0
        self.peak_open = 0
        # messages
        self.sent = 0
        self.received = 0
        self.lost = 0
        self.duplicated = 0
        self.reordered = 0
        self.late_sends = 0
        self.unmatched = 0
        self.unsent = 0  # rate mode: scheduled, not sent because the peer stopped reading
        self.pushed_back = 0  # sessions whose peer stopped reading at least once
        self.drop_causes: dict[str, int] = {}
        self.protocol_errors: dict[str, int] = {}
        self.invalid_closes: dict[str, int] = {}
        self.closes_by_code: dict[str, int] = {}
        self.closes_by_side = {"client": 0, "server": 0, "abnormal": 0}
        self.upgrade_failures: dict[str, int] = {}
        self.failed_5xx = 0
        self.cpu_percent: list[float] = []
        self.timeline: list[dict[str, Any]] = []
        #: (ms since start when the session dropped, µs until it worked again)
        self.recoveries: list[tuple[int, int]] = []
        self._second = 0
        self._sent_mark = 0
        self._received_mark = 0
        # what happened in each second not yet closed (for disruptions' blast radius), by the
        # second the event happened in, not the one under way when it is closed: a worker
        # that closes its seconds late (a busy loop) must not move a drop into the second before
        self._events: dict[int, _SecondEvents] = {}
        self._second_upgrade = Histogram()  # upgrade total of the current second
        # 100 ms buckets not yet in the timeline: bucket -> counts per FINE_SERIES
        self._fine: dict[int, list[int]] = {}
        self._fine_marks = [0] * (len(FINE_SERIES) - 1)
        self._fine_open = 0

    # --- sessions -------------------------------------------------------------------

    def upgrade_ok(self, phases_ns: dict[str, int]) -> None:
        """A session opened; ``phases_ns`` maps phases (dns, tcp, tls, http, total) to ns."""
        for phase, value in phases_ns.items():
            self.upgrade[phase].record(max(0, value) // 1000)
        if "total" in phases_ns:
            self._second_upgrade.record(max(0, phases_ns["total"]) // 1000)
        self.opened += 1
        self.open_now += 1
        if self.open_now > self.peak_open:
            self.peak_open = self.open_now

    def _second_of(self, now_ns: int | None) -> _SecondEvents:
        """The events of the second ``now_ns`` falls in (None: the second under way)."""
        second = self._second if now_ns is None else max(self._second, (now_ns - self.start_ns) // _NS_PER_S)
        events = self._events.get(second)
        if events is None:
            events = self._events[second] = _SecondEvents()
        return events

    def upgrade_failed(self, kind: str, now_ns: int | None = None) -> None:
        """An upgrade failed (at ``now_ns``): ``kind`` is ``http_<status>`` or one of FAILURE_KINDS."""
        self.failed += 1
        if kind.startswith("http_5"):
            self.failed_5xx += 1
        self.upgrade_failures[kind] = self.upgrade_failures.get(kind, 0) + 1
        failures = self._second_of(now_ns).failures
        failures[kind] = failures.get(kind, 0) + 1

    def session_closed(self, *, code: int | str, side: str, dropped: bool, lost: int, cause: str = "",
                       now_ns: int | None = None) -> None:
        """An open session ended (at ``now_ns``). ``side``: client, server or abnormal; ``cause``:
        why it dropped (:data:`wsbench.protocol.failures.DROP_CAUSES`)."""
        self.open_now -= 1
        key = str(code)
        self.closes_by_code[key] = self.closes_by_code.get(key, 0) + 1
        self.closes_by_side[side] = self.closes_by_side.get(side, 0) + 1
        self.lost += lost
        second = self._second_of(now_ns)
        second.lost += lost
        if dropped:
            cause = cause or "eof"
            self.drop_causes[cause] = self.drop_causes.get(cause, 0) + 1
            kind, _, what = cause.partition(":")
            if kind == "protocol_error":
                self.protocol_errors[what] = self.protocol_errors.get(what, 0) + 1
                if what in CLOSE_PROBLEMS:
                    self.invalid_closes[what] = self.invalid_closes.get(what, 0) + 1
            self.dropped += 1
            second.dropped += 1
            second.closes[key] = second.closes.get(key, 0) + 1

    def session_recovered(self, dropped_at_ns: int, down_ns: int) -> None:
        """A session dropped at ``dropped_at_ns`` works again after ``down_ns``."""
        self.reconnected += 1
        self.recovery.record(max(0, down_ns) // 1000)
        self.recoveries.append(((dropped_at_ns - self.start_ns) // 1_000_000, max(0, down_ns) // 1000))

    # --- time -----------------------------------------------------------------------

    def sample(self, now_ns: int, *, final: bool = False) -> None:
        """Put what the counters gained since the last sample into the 100 ms bucket that
        ended last before ``now_ns`` (the worker samples a few ms after each grid point, so a
        wake a little early or late still closes the right bucket); ``final``: into the
        bucket under way (the end of the run)."""
        elapsed = now_ns - self.start_ns
        bucket = (elapsed - 1) // BUCKET_NS if final else elapsed // BUCKET_NS - 1
        if elapsed <= 0 or bucket < 0:
            return
        totals = (self.received, self.sent, self.opened, self.dropped, self.failed, self.failed_5xx, self.reconnected)
        counts = self._fine.setdefault(bucket, [0] * len(FINE_SERIES))
        for index, value in enumerate(totals):
            counts[index] += value - self._fine_marks[index]
        counts[-1] = self.open_now
        self._fine_marks = list(totals)

    def _fine_of(self, second: int) -> dict[str, list[int]]:
        """The ten 100 ms buckets of ``second`` (taken out of the pending buckets)."""
        rows = [self._fine.pop(second * _BUCKETS_PER_S + k, None) for k in range(_BUCKETS_PER_S)]
        out: dict[str, list[int]] = {name: [] for name in FINE_SERIES}
        for row in rows:
            if row is not None:
                self._fine_open = row[-1]
            for index, name in enumerate(FINE_SERIES[:-1]):
                out[name].append(row[index] if row is not None else 0)
            out["open"].append(self._fine_open)  # a bucket without a sample: as the one before
        return out

    def tick(self, now_ns: int, *, cpu_percent: float | None = None, final: bool = False) -> None:
        """Close every whole second up to ``now_ns``: flush RTTs, extend the timeline.

        ``final`` also closes the second under way (the end of the run).
        """
        second_rtt = Histogram()
        if self.rtt_pending:
            second_rtt.record_many(np.fromiter(self.rtt_pending, dtype=np.int64))
            self.rtt_pending.clear()
            self.rtt.merge(second_rtt)
        self._flush_rate()
        if cpu_percent is not None:
            self.cpu_percent.append(round(cpu_percent, 1))
        elapsed = (now_ns - self.start_ns) // _NS_PER_S
        if final:
            self.sample(now_ns, final=True)
        if final and (now_ns - self.start_ns) % _NS_PER_S:
            elapsed += 1
        if final:  # nothing comes after: an event stamped past the end goes to the last second
            late = [s for s in self._events if s >= max(elapsed, 1)]
            for second in late:
                self._events.setdefault(max(elapsed, 1) - 1, _SecondEvents()).add(self._events.pop(second))
        while self._second < elapsed:
            events = self._events.pop(self._second, None) or _SecondEvents()
            indices, counts = second_rtt.to_sparse()
            upgrade_indices, upgrade_counts = self._second_upgrade.to_sparse()
            self.timeline.append(
                {
                    "t": self._second,
                    "open": self.open_now,
                    "sent": self.sent - self._sent_mark,
                    "received": self.received - self._received_mark,
                    "dropped": events.dropped,
                    "lost": events.lost,
                    "failures": events.failures,
                    "closes": events.closes,
                    "rtt": [indices, counts],
                    "upgrade_total": [upgrade_indices, upgrade_counts],
                    "fine": self._fine_of(self._second),
                }
            )
            if final and self._second == elapsed - 1 and (now_ns - self.start_ns) % _NS_PER_S:
                # the last second was cut short: say how much of it ran, so no one draws it as a whole one
                self.timeline[-1]["partial_s"] = round(((now_ns - self.start_ns) % _NS_PER_S) / _NS_PER_S, 3)
            self._sent_mark, self._received_mark = self.sent, self.received
            self._second += 1
            second_rtt = Histogram()
            self._second_upgrade = Histogram()

    def flush(self) -> None:
        """Record pending RTT samples without closing a second (before a snapshot)."""
        if self.rtt_pending:
            self.rtt.record_many(np.fromiter(self.rtt_pending, dtype=np.int64))
            self.rtt_pending.clear()
        self._flush_rate()

    def _flush_rate(self) -> None:
        """Record the pending send lags and times from the actual send (rate mode)."""
        for pending, hist in ((self.service_pending, self.rtt_service), (self.send_lag_pending, self.send_lag)):
            if pending:
                hist.record_many(np.fromiter(pending, dtype=np.int64))
                pending.clear()

    # --- output ---------------------------------------------------------------------

    def snapshot(self, *, complete: bool, meta: dict[str, Any], timeline: bool = True) -> dict[str, Any]:
        """A JSON-able shard of everything measured so far.

        ``timeline=False`` leaves the per-second timeline out (a long run's worker appends
        it to a file as it goes instead of rewriting it every second).
        """
        self.flush()
        return {
            "schema": SHARD_SCHEMA,
            "complete": complete,
            **meta,
            "sessions": {
                "attempted": self.attempted,
                "opened": self.opened,
                "failed": self.failed,
                "dropped": self.dropped,
                "reconnected": self.reconnected,
                "peak_open": self.peak_open,
                "open_now": self.open_now,
                "pushed_back": self.pushed_back,
            },
            "messages": {
                "sent": self.sent,
                "received": self.received,
                "lost": self.lost,
                "duplicated": self.duplicated,
                "reordered": self.reordered,
                "late_sends": self.late_sends,
                "unmatched": self.unmatched,
                "unsent": self.unsent,
            },
            "closes": {"by_code": dict(self.closes_by_code), "by_side": dict(self.closes_by_side),
                       "invalid": dict(self.invalid_closes)},
            "drop_causes": dict(self.drop_causes),
            "protocol_errors": dict(self.protocol_errors),
            "upgrade_failures": dict(self.upgrade_failures),
            "upgrade": {phase: hist.encode() for phase, hist in self.upgrade.items()},
            "rtt": self.rtt.encode(),
            # no send was late by design in closed loop (each goes when its reply is in):
            # there the time from the actual send is the RTT itself
            "rtt_service": (self.rtt_service if self.rtt_service.count or not self.rtt.count else self.rtt).encode(),
            "send_lag": self.send_lag.encode(),
            "recovery": self.recovery.encode(),
            "loop_lag": self.loop_lag.encode(),
            "cpu_percent": list(self.cpu_percent),
            "timeline": list(self.timeline) if timeline else [],
            "recoveries": [list(pair) for pair in self.recoveries],
        }
