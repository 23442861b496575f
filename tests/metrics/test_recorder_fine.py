"""The 100 ms buckets: what the counters gained between two samples lands in one bucket."""

from __future__ import annotations

from wsbench.metrics.recorder import BUCKET_NS, Recorder
from wsbench.result.shards import disruption_window

MS = 1_000_000
S = 1_000_000_000


def test_samples_on_the_grid_fill_one_bucket_each_and_the_cut_short_second_says_so():
    rec = Recorder(start_ns=0)
    rec.upgrade_ok({"total": 2 * MS})
    rec.sample(1 * BUCKET_NS)  # bucket 0: one opened
    rec.received += 7
    rec.sample(2 * BUCKET_NS)  # bucket 1: 7 echoes
    rec.upgrade_failed("http_502")
    rec.upgrade_failed("refused")
    rec.session_closed(code=1001, side="server", dropped=True, lost=0)
    rec.sample(5 * BUCKET_NS)  # buckets 2-3 not sampled (a stalled loop): all of it lands in 4
    rec.session_recovered(450 * MS, 30 * MS)
    rec.sample(1_000 * MS)  # the worker samples, then closes the second
    rec.tick(1_000 * MS)
    rec.received += 3
    rec.tick(1_250 * MS, final=True)  # the run ends 0.25 s into its second second
    first, last = rec.timeline
    fine = first["fine"]
    assert fine["opened"][:2] == [1, 0] and fine["received"][:3] == [0, 7, 0]
    assert fine["failed"][4] == 2 and fine["http_5xx"][4] == 1 and fine["dropped"][4] == 1
    assert fine["reconnected"][9] == 1  # counted in the bucket its sample closed
    assert fine["open"] == [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]  # unsampled buckets: as the one before
    assert first["upgrade_total"][1] == [1]
    assert "partial_s" not in first and last["partial_s"] == 0.25
    assert last["fine"]["received"][2] == 3


def test_a_disruption_window_sums_the_workers_buckets_around_it():
    shards = []
    for worker in range(2):
        rec = Recorder(start_ns=0)
        for bucket in range(1, 41):
            rec.received += 10
            if bucket == 22:
                rec.upgrade_failed("http_502")
            rec.sample(bucket * BUCKET_NS)
        rec.tick(4_000 * MS, final=True)
        shards.append({"timeline": rec.timeline, "worker": worker})
    window = disruption_window(shards, 2.05, None)
    assert window["bucket_ms"] == 100
    assert window["t_s"][0] == -2.0 and window["t_s"][-1] == 1.9  # until the run's end
    assert window["received"] == [20] * len(window["t_s"])
    assert window["http_5xx"][window["t_s"].index(0.1)] == 2


def test_a_drop_counts_in_the_second_it_happened_even_when_that_second_is_closed_late():
    """A busy worker closes second 1 only at 2.3 s: a drop at 2.05 s and a failed upgrade at
    2.2 s belong to second 2 (where a disruption at 2.0 s looks for them), not to second 1."""
    rec = Recorder(start_ns=0)
    rec.upgrade_ok({"total": 1_000_000})
    rec.upgrade_ok({"total": 1_000_000})
    rec.tick(1 * S + 5_000_000)  # second 0 closed on time
    rec.session_closed(code=1006, side="abnormal", dropped=True, lost=3, cause="eof", now_ns=2 * S + 50_000_000)
    rec.upgrade_failed("refused", 2 * S + 200_000_000)
    rec.tick(2 * S + 300_000_000)  # second 1 closed late, after both events
    rec.session_closed(code=1000, side="client", dropped=False, lost=0, now_ns=3 * S + 400_000_000)
    rec.tick(3 * S + 500_000_000, final=True)
    by_second = {entry["t"]: entry for entry in rec.timeline}
    assert by_second[1]["dropped"] == 0 and by_second[1]["failures"] == {} and by_second[1]["lost"] == 0
    assert by_second[2]["dropped"] == 1 and by_second[2]["lost"] == 3
    assert by_second[2]["closes"] == {"1006": 1} and by_second[2]["failures"] == {"refused": 1}
    assert sum(entry["dropped"] for entry in rec.timeline) == rec.dropped == 1
    assert by_second[3]["closes"] == {}  # a client close is not a drop
