"""Cost per recorded value: wsbench's Histogram against HdrHistogram_py, in one run.

Prints ns per value (best of ``--repeat`` runs) for ``Histogram.record()`` called in a loop,
``Histogram.record_many()`` on batches of 4096 (as an array, and from a list via
``np.fromiter`` as the Recorder does), and HdrHistogram_py's ``record_value()``, with each
one's speed-up over HdrHistogram_py. Values are log-uniform from 1 µs to 1 h.

    .venv/bin/python bench/bench_histogram.py [--values 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable

import numpy as np
from hdrh.histogram import HdrHistogram

from wsbench.metrics import Histogram

HIGHEST = 3_600_000_000
BATCH = 4096


def best_ns(run: Callable[[], object], repeat: int) -> int:
    best = None
    for _ in range(repeat):
        start = time.perf_counter_ns()
        run()
        elapsed = time.perf_counter_ns() - start
        best = elapsed if best is None else min(best, elapsed)
    assert best is not None
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    values = np.exp(rng.uniform(0.0, np.log(HIGHEST), args.values)).astype(np.int64)
    as_list = values.tolist()
    batches = [values[start : start + BATCH] for start in range(0, values.size, BATCH)]
    list_batches = [batch.tolist() for batch in batches]

    def loop() -> Histogram:
        hist = Histogram()
        record = hist.record
        for value in as_list:
            record(value)
        return hist

    def batched() -> Histogram:
        hist = Histogram()
        for batch in batches:
            hist.record_many(batch)
        return hist

    def batched_from_lists() -> Histogram:
        hist = Histogram()
        for batch in list_batches:
            hist.record_many(np.fromiter(batch, dtype=np.int64, count=len(batch)))
        return hist

    def reference() -> HdrHistogram:
        ref = HdrHistogram(1, HIGHEST, 3)
        record = ref.record_value
        for value in as_list:
            record(value)
        return ref

    # Same counts from every path, or the timings mean nothing.
    expected = np.array(reference().counts, dtype=np.int64)
    for build in (loop, batched, batched_from_lists):
        indices, counts = build().to_sparse()
        dense = np.zeros(expected.size, dtype=np.int64)
        dense[indices] = counts
        assert np.array_equal(dense, expected), build.__name__

    rows = [
        ("Histogram.record() loop", best_ns(loop, args.repeat)),
        (f"Histogram.record_many() x{BATCH}", best_ns(batched, args.repeat)),
        (f"record_many(np.fromiter(list)) x{BATCH}", best_ns(batched_from_lists, args.repeat)),
        ("HdrHistogram_py record_value() loop", best_ns(reference, args.repeat)),
    ]
    reference_ns = rows[-1][1] / values.size
    print(
        f"{values.size} values, best of {args.repeat}; Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    print(f"{'path':40} {'ns/value':>10} {'vs HdrHistogram_py':>19}")
    for name, elapsed in rows:
        per_value = elapsed / values.size
        print(f"{name:40} {per_value:10.1f} {reference_ns / per_value:18.1f}x")


if __name__ == "__main__":
    main()
