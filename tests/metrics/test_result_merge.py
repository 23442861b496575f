"""Results of several machines merge into one (pure: no sockets, no files, no clock)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from wsbench.errors import UsageError
from wsbench.metrics.histogram import Histogram
from wsbench.metrics.recorder import Recorder
from wsbench.result.model import RESULT_SCHEMA
from wsbench.result.runs import merge_results
from wsbench.result.shards import generator_health, merge_target

S = 1_000_000_000
MACHINE = {"host": "m", "cpu_model": "cpu", "cpus": 4, "kernel": "6"}


def _worker(seconds: list[list[int]], *, opened: int = 2, worker: int = 0) -> dict[str, Any]:
    """A worker shard (as JSON) that opened ``opened`` sessions and then echoed ``seconds``."""
    recorder = Recorder(start_ns=0)
    for _ in range(opened):
        recorder.attempted += 1
        recorder.upgrade_ok({"tcp": 300_000, "http": 700_000, "total": 1_000_000})
    for second, values in enumerate(seconds):
        recorder.sent += len(values)
        recorder.received += len(values)
        recorder.rtt_pending.extend(values)
        recorder.tick((second + 1) * S)
    for _ in range(opened):
        recorder.session_closed(code=1000, side="client", dropped=False, lost=0)
    recorder.tick(len(seconds) * S + S // 2, final=True)
    return json.loads(json.dumps(recorder.snapshot(complete=True, meta={"worker": worker, "pid": 1})))


def _result(workers: list[dict[str, Any]], *, shard: tuple[int, int] | None = None, t0: float | None = 1000.0,
            started_at: str = "2025-01-01T00:00:00+00:00", run_id: str = "run", **scenario: Any) -> dict[str, Any]:
    target = merge_target("ws://x/", workers)
    if t0 is not None:
        target["t0_unix_s"] = t0
    result = {
        "schema": RESULT_SCHEMA, "run_id": run_id, "started_at": started_at, "duration_s": 3.0,
        "complete": True, "wsbench_version": "0", "python": "3",
        "scenario": {"name": "s", "sessions": 8, "processes": 0, "out": "reports",
                     "shard": f"{shard[0]}/{shard[1]}" if shard else None, **scenario},
        "generator": {**generator_health([workers], len(workers)), "machine": MACHINE},
        "targets": {"t": target},
    }
    if shard:
        result["shard"] = {"index": shard[0], "count": shard[1]}
    return json.loads(json.dumps(result))


def _values(rng: random.Random, n: int) -> list[int]:
    return [int(rng.lognormvariate(7, 1.2)) for _ in range(n)]


def test_shards_merge_into_what_one_run_of_all_the_workers_gives():
    rng = random.Random(3)
    workers = [_worker([_values(rng, 200), _values(rng, 150)], worker=w) for w in range(4)]
    shards = [_result(workers[i::2], shard=(i, 2), run_id=f"r{i}") for i in range(2)]
    merged = merge_results([("a", shards[1]), ("b", shards[0])], run_id="merged")
    assert merged.warnings == ()
    target = merged.result["targets"]["t"]
    alone = merge_target("ws://x/", workers)
    for key in ("sessions", "upgrade", "rtt", "recovery", "messages", "closes", "upgrade_failures"):
        assert target[key] == alone[key], key
    assert Histogram.decode(target["rtt"]["hdr"]) == Histogram.decode(alone["rtt"]["hdr"])
    same_clock = {k: v for k, v in alone["timeline"].items() if k not in ("rtt_p99_ms", "last_second_s")}
    assert {k: v for k, v in target["timeline"].items() if k != "rtt_p99_ms"} == same_clock
    assert merged.result["complete"] is True
    assert merged.result["merge"]["kind"] == "shards" and merged.result["merge"]["missing"] == []
    assert [i["shard"]["index"] for i in merged.result["merge"]["inputs"]] == [0, 1]
    assert merged.result["scenario"]["shard"] is None
    assert "shard" not in merged.result


def test_timelines_line_up_by_the_wall_clock_of_t0():
    early = _result([_worker([[1000] * 10, [2000] * 10, [3000] * 10])], shard=(0, 2), t0=1000.0)
    late = _result([_worker([[5000] * 4, [6000] * 4])], shard=(1, 2), t0=1002.4)  # 2.4 s later
    merged = merge_results([("a", early), ("b", late)], run_id="m").result
    timeline = merged["targets"]["t"]["timeline"]
    assert merged["merge"]["alignment"] == {"t": "t0_unix_s"}
    assert merged["merge"]["offsets_s"]["t"] == {"shard 0": 0.0, "shard 1": 2.4}
    assert timeline["messages_per_s"][:5] == [10, 10, 14, 4, 0]  # the late one starts in second 3
    assert timeline["t_s"][:5] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert timeline["rtt_p99_ms"][2] == pytest.approx(5.0, rel=0.01)  # the higher p99 of that second
    assert merged["targets"]["t"]["t0_unix_s"] == 1000.0


def test_without_t0_the_inputs_are_placed_by_started_at():
    a = _result([_worker([[1000]])], shard=(0, 2), t0=None, started_at="2025-01-01T00:00:00+00:00")
    b = _result([_worker([[1000]])], shard=(1, 2), t0=None, started_at="2025-01-01T00:00:03+00:00")
    merged = merge_results([("a", a), ("b", b)], run_id="m").result
    assert merged["merge"]["alignment"] == {"t": "started_at"}
    assert merged["targets"]["t"]["timeline"]["messages_per_s"][:4] == [1, 0, 0, 1]
    assert merged["duration_s"] == 6.0


def test_peak_open_from_the_aligned_timeline_and_its_upper_bound():
    a = _result([_worker([[1000], [1000], [1000]], opened=3)], shard=(0, 2), t0=1000.0)
    b = _result([_worker([[1000], [1000], [1000]], opened=2)], shard=(1, 2), t0=1001.0)
    merged = merge_results([("a", a), ("b", b)], run_id="m").result
    assert merged["targets"]["t"]["timeline"]["open"][:4] == [3, 5, 5, 2]
    assert merged["targets"]["t"]["sessions"]["peak_open"] == 5
    assert merged["merge"]["peak_open_upper_bound"] == {"t": 5}


def test_missing_shards_give_a_partial_result_and_a_warning():
    shard = _result([_worker([[1000]])], shard=(1, 4))
    merged = merge_results([("only.json", shard)], run_id="m")
    assert merged.result["complete"] is False
    assert merged.result["merge"]["missing"] == [0, 2, 3]
    assert merged.warnings == ("shard(s) 0, 2, 3 of 4 missing (I counts from 0): the merged Result is "
                               "partial (complete: false)",)


def test_generator_sums_processes_and_names_the_saturated_shard():
    calm = _result([_worker([[1000]])], shard=(0, 2))
    busy = _result([_worker([[1000]], worker=1)], shard=(1, 2))
    busy["generator"].update(saturated=True, saturation_reasons=["event-loop lag p99 30.0 ms > 20 ms"],
                             loop_lag_ms_p99=30.0)
    busy["generator"]["machine"] = {**MACHINE, "host": "n"}
    generator = merge_results([("a", calm), ("b", busy)], run_id="m").result["generator"]
    assert generator["processes"] == 2
    assert generator["saturated"] is True
    assert generator["saturation_reasons"] == ["shard 1: event-loop lag p99 30.0 ms > 20 ms"]
    assert generator["loop_lag_ms_p99"] == 30.0
    assert [(w["worker"], w["shard"]) for w in generator["workers"]] == [(0, 0), (1, 1)]
    assert generator["machine"] == {**MACHINE, "host": "m / n"}


def test_disruptions_are_concatenated_on_the_merged_clock():
    a = _result([_worker([[1000]])], shard=(0, 2), t0=1000.0)
    b = _result([_worker([[1000]])], shard=(1, 2), t0=1001.5)
    for data, dropped in ((a, 2), (b, 3)):
        data["targets"]["t"]["disruptions"] = [{"kind": "exec", "at_s": 10.0, "sessions_dropped": dropped}]
    disruptions = merge_results([("a", a), ("b", b)], run_id="m").result["targets"]["t"]["disruptions"]
    assert disruptions == [{"kind": "exec", "at_s": 10.0, "sessions_dropped": 2, "shard": 0},
                           {"kind": "exec", "at_s": 11.5, "sessions_dropped": 3, "shard": 1}]


def test_plain_runs_of_one_scenario_add_up():
    runs = [_result([_worker([[1000] * 5])], run_id=f"r{i}", processes=i) for i in range(2)]  # processes may differ
    merged = merge_results([("a", runs[0]), ("b", runs[1])], run_id="m").result
    assert merged["merge"]["kind"] == "runs" and merged["merge"]["count"] == 2
    assert merged["targets"]["t"]["messages"]["sent"] == 10
    assert merged["targets"]["t"]["sessions"]["opened"] == 4
    assert merged["complete"] is True


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (lambda: [("a", _result([_worker([[1]])], shard=(0, 2))), ("b", _result([_worker([[1]])], shard=(0, 2)))],
         "shard 0/2 given twice: a and b"),
        (lambda: [("a", _result([_worker([[1]])], shard=(0, 2))), ("b", _result([_worker([[1]])], shard=(1, 3)))],
         "shard counts differ: a is shard 0/2, b is shard 1/3"),
        (lambda: [("a", _result([_worker([[1]])], shard=(0, 2))), ("b", _result([_worker([[1]])]))],
         "cannot merge shards with plain runs: a is shard 0/2, b has no shard"),
        (lambda: [("a", _result([_worker([[1]])], shard=(0, 2))),
                  ("b", _result([_worker([[1]])], shard=(1, 2), sessions=9))],
         "b: not the same scenario as a (sessions: 8 vs 9)"),
        (lambda: [("a", _result([_worker([[1]])], run_id="x")), ("b", _result([_worker([[1]])], run_id="x"))],
         "the same run given twice: a and b (run_id x)"),
        (lambda: [("a", {"schema": "other"})], "a: not a wsbench Result (schema 'wsbench/result@1' expected)"),
        (lambda: [("a", {**_result([_worker([[1]])]), "started_at": "yesterday"})],
         "a: no valid 'started_at' (ISO 8601 expected, got 'yesterday')"),
    ],
    ids=["shard-twice", "mixed-n", "mixed-plain", "other-scenario", "run-twice", "not-a-result", "no-start"],
)
def test_unmergeable_inputs_are_refused_in_one_line(inputs, message):
    with pytest.raises(UsageError) as refused:
        merge_results(inputs(), run_id="m")
    assert str(refused.value) == message


def test_a_broken_histogram_names_its_input():
    good = _result([_worker([[1000]])], shard=(0, 2))
    bad = _result([_worker([[1000]])], shard=(1, 2))
    bad["targets"]["t"]["rtt"]["hdr"] = "bm90IGEgaGlzdG9ncmFt"
    with pytest.raises(UsageError, match=r"^bad\.json: targets\.t\.rtt\.hdr: "):
        merge_results([("good.json", good), ("bad.json", bad)], run_id="m")
