"""The one merge reproduces, number for number, what the two merges before it made of real shards."""

from __future__ import annotations

import copy

from wsbench.result.merge import TargetPart, merge_targets
from wsbench.result.model import Result, TargetResult, Timeline
from wsbench.result.runs import merge_results
from wsbench.result.shards import generator_from_shards, target_from_shards
from wsbench.result.timeline import TimelinePart, merge_timelines

IMPACT_KEYS = {"sessions_dropped", "messages_lost", "closes_by_code", "upgrade_failures", "recovered", "recovery"}


def test_worker_shards_merge_into_the_targets_the_runner_wrote(real_runs):
    for run in real_runs["runs"]:
        written = run["result"]
        ((name, before),) = written["targets"].items()
        records = [{k: v for k, v in d.items() if k not in IMPACT_KEYS} for d in before["disruptions"]]
        target = target_from_shards(before["url"], run["shards"], records=records,
                                    t0_unix_s=before["t0_unix_s"], name=name).to_json()
        # additions newer than the fixture: time blocks (block bootstrap), the cut-short last second
        assert target.pop("blocks")["block_s"] == 1
        target["timeline"].pop("last_second_s", None)
        assert target == before
        assert list(target) == list(before)  # same keys, same order in the file
        machine = written["generator"]["machine"]
        generator = generator_from_shards([run["shards"]], written["generator"]["processes"], machine)
        assert generator.to_json() == written["generator"]


def test_wsbench_merge_reproduces_the_previous_merged_result(real_runs):
    shard_runs = [run["result"] for run in real_runs["runs"] if "shard" in run["result"]]
    merged = merge_results([(f"shard-{i}.json", r) for i, r in enumerate(shard_runs)], run_id="merged-fixture")
    assert merged.result == real_runs["merged"]
    assert list(merged.warnings) == real_runs["merge_warnings"]
    assert Result.from_json(real_runs["merged"]) == merged.merged


def test_per_second_p99_is_exact_from_histograms_and_an_upper_bound_from_numbers(real_runs):
    shards = real_runs["runs"][0]["shards"]
    exact = target_from_shards("ws://x/", shards).timeline
    # the same seconds, but each worker brings only its own p99 (as a Result does)
    alone = [target_from_shards("ws://x/", [shard]).timeline for shard in shards]
    bound = merge_timelines(TimelinePart(timeline) for timeline in alone)
    for second, (p99, upper) in enumerate(zip(exact.get("rtt_p99_ms"), bound.get("rtt_p99_ms"), strict=True)):
        if p99 is not None:
            assert p99 <= upper, second
            assert upper == max(t.get("rtt_p99_ms")[second] or 0.0 for t in alone if second < len(t.seconds))
    assert exact.get("open") == bound.get("open")


def test_parts_shift_by_whole_seconds_and_tag_their_disruptions():
    one = TargetResult(timeline=Timeline(t_s=(1.0, 2.0), series={"open": (1, 2), "rtt_p99_ms": (3.0, None)}),
                       disruptions=(), complete=True)
    two = copy.deepcopy(one)
    merged = merge_targets([TargetPart(one), TargetPart(two, shift_s=1.4, tag={"shard": 1})])
    assert merged.timeline.get("open") == (1, 3, 2)
    assert merged.timeline.get("rtt_p99_ms") == (3.0, 3.0, None)
    assert merged.session_counts.peak_open == 3 and merged.complete is True
