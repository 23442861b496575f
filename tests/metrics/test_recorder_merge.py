"""Shards from several processes merge into exactly what one process would record."""

from __future__ import annotations

import json
import random

from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import Recorder
from wsbench.result.shards import generator_health, merge_target

S = 1_000_000_000


def _fill(recorder: Recorder, values: list[int], second: int) -> None:
    for value in values:
        recorder.received += 1
        recorder.rtt_pending.append(value)
    recorder.tick((second + 1) * S)


def test_two_shards_merge_to_the_single_process_result():
    rng = random.Random(7)
    seconds = [[int(rng.lognormvariate(7, 1.5)) for _ in range(500)] for _ in range(3)]
    single = Recorder(start_ns=0)
    halves = [Recorder(start_ns=0), Recorder(start_ns=0)]
    for second, values in enumerate(seconds):
        _fill(single, values, second)
        _fill(halves[0], values[::2], second)
        _fill(halves[1], values[1::2], second)
    # shards cross a process boundary as JSON
    as_json = lambda r: json.loads(json.dumps(r.snapshot(complete=True, meta={})))  # noqa: E731
    merged = merge_target("ws://x/", [as_json(h) for h in halves])
    alone = merge_target("ws://x/", [as_json(single)])
    assert Histogram.decode(merged["rtt"]["hdr"]) == Histogram.decode(alone["rtt"]["hdr"])
    assert merged["rtt"] == alone["rtt"]
    assert merged["timeline"] == alone["timeline"]
    assert merged["messages"]["received"] == 1500
    assert len(merged["timeline"]["rtt_p99_ms"]) == 3


def test_generator_health_flags_saturation():
    calm = Recorder(start_ns=0)
    calm.loop_lag.record(500)
    busy = Recorder(start_ns=0)
    busy.cpu_percent = [99.0, 98.0, 97.0, 50.0]
    lagging = Recorder(start_ns=0)
    for _ in range(100):
        lagging.loop_lag.record(30_000)
    snap = lambda r: r.snapshot(complete=True, meta={})  # noqa: E731
    assert generator_health([[snap(calm)]], 1)["saturated"] is False
    verdict = generator_health([[snap(busy)]], 1)
    assert verdict["saturated"] is True and verdict["cpu_percent_max"] == 99.0
    verdict = generator_health([[snap(lagging)]], 1)
    assert verdict["saturated"] is True and "lag" in verdict["saturation_reasons"][0]
