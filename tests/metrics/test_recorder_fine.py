"""The 100 ms buckets: what the counters gained between two samples lands in one bucket."""

from __future__ import annotations

from wsbench.metrics.recorder import BUCKET_NS, Recorder
from wsbench.result.shards import disruption_window

MS = 1_000_000


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
