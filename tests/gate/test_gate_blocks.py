"""The gate's regression intervals by blocks of seconds, where both Results keep them (pure).

A tail made of one slow second (the machine stalled once) is not a significant regression,
however many samples that second holds; the same slowdown spread over every second is.
"""

from __future__ import annotations

import numpy as np

from wsbench.gate import evaluate_gate, to_markdown
from wsbench.metrics.histogram import Histogram

SECONDS, PER_SECOND = 30, 400


def with_seconds(resultgen, seconds: list[np.ndarray], *, seed: int, run_id: str) -> dict:
    """A Result whose one target's rtt is these per-second samples (µs), with its blocks."""
    shapes = {"nginx": resultgen.TargetShape("ws://127.0.0.1:8080/", rtt_median_ms=1.0, messages=8000,
                                             disruption=False)}
    data = resultgen.make_result(shapes, seed=seed, run_id=run_id)
    target = data["targets"]["nginx"]
    target["rtt"] = resultgen.summary(np.concatenate(seconds))
    blocks = []
    for samples in seconds:
        histogram = Histogram()
        histogram.record_many(samples.astype(np.int64))
        blocks.append(histogram.encode())
    target["blocks"] = {"block_s": 1, "rtt": blocks, "upgrade_total": []}
    return data


def seconds(seed: int, *, scale: float = 1.0, slow: tuple[int, ...] = ()) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for second in range(SECONDS):
        samples = rng.lognormal(np.log(1000 * scale), 0.3, PER_SECOND)
        out.append(samples * 8 if second in slow else samples)
    return out


def only_note(verdict) -> str:
    return verdict.checks[0].observations[0].note


def test_one_slow_second_is_not_a_significant_tail_regression(resultgen):
    base = with_seconds(resultgen, seconds(1), seed=1, run_id="base")
    run = with_seconds(resultgen, seconds(2, slow=(17,)), seed=2, run_id="run")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p99=20%"])
    assert verdict.passed, to_markdown(verdict)
    note = only_note(verdict)
    assert note.startswith("not significant") and "blocks of seconds" in note
    # the same samples without their seconds: resampled one by one, the slow second is "significant"
    for data in (base, run):
        del data["targets"]["nginx"]["blocks"]
    assert not evaluate_gate(run, baseline=base, max_regressions=["rtt.p99=20%"]).passed


def test_every_second_slower_is_a_significant_regression_by_blocks_too(resultgen):
    base = with_seconds(resultgen, seconds(1), seed=1, run_id="base")
    run = with_seconds(resultgen, seconds(2, scale=1.5), seed=2, run_id="run")
    verdict = evaluate_gate(run, baseline=base, max_regressions=["rtt.p50=20%", "rtt.p99=20%"])
    assert not verdict.passed
    for check in verdict.checks:
        assert check.observations[0].note.startswith("significant regression"), to_markdown(verdict)
        assert "blocks of seconds" in check.observations[0].note
