"""``wsbench run --shard I/N`` and ``wsbench merge``: real runs against a real echo server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from wsbench.cli import main
from wsbench.engine.runner import run_scenario
from wsbench.metrics.histogram import Histogram
from wsbench.scenario import parse_scenario
from wsbench.server.process import ServeOptions, start_server

WSBENCH = [sys.executable, "-m", "wsbench"]
SESSIONS, MESSAGES, N = 12, 5, 3


def _run(out: Path, url: str, **settings: Any) -> Path:
    scenario = parse_scenario({"name": "sharded", "targets": [f"t={url}"], "sessions": SESSIONS,
                               "messages": MESSAGES, "mode": "closed", "duration": 30, "processes": 2,
                               "out": str(out), **settings})
    outcome = run_scenario(scenario)
    assert outcome.result["complete"], outcome.result
    return outcome.result_path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Any]:
    """Real runs, once for the module: the N shards of a scenario, plus inputs that do not fit them."""
    out = tmp_path_factory.mktemp("runs")
    with start_server(ServeOptions(delay_ms=1)) as server:
        return {
            "shards": [_run(out / f"shard-{i}", server.url, shard=f"{i}/{N}") for i in range(N)],
            "other_n": _run(out / "other-n", server.url, shard="1/4", processes=1),
            "other_scenario": _run(out / "other-scenario", server.url, shard=f"1/{N}", messages=2, processes=1),
            "plain": [_run(out / f"plain-{i}", server.url, sessions=2, processes=1) for i in range(2)],
        }


def merge(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["merge", *argv])
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


def _only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_shards_run_their_share_and_merge_exactly(runs, tmp_path, capsys):
    shards = [_load(path) for path in runs["shards"]]
    for index, (path, shard) in enumerate(zip(runs["shards"], shards, strict=True)):
        assert shard["shard"] == {"index": index, "count": N}
        events = [json.loads(line) for line in (path.parent / "events.jsonl").read_text().splitlines()]
        opens = [e for e in events if e["kind"] == "session_opened"]
        assert sorted(e["session"] for e in opens) == [i for i in range(SESSIONS) if i % N == index]
        # the global schedule (session i at i / ramp, default ramp 100/s): each shard opens at ramp / N
        assert all(e["t"] >= e["session"] / 100 for e in opens), opens
        assert {e["worker"] for e in events if e["kind"] == "session_opened"} == {index, index + N}
        assert shard["targets"]["t"]["sessions"]["opened"] == SESSIONS // N

    code, out, err = merge([*map(str, reversed(runs["shards"])), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert "rtt p50/p99/p99.9 ms" in out and "WARNING" not in err
    run_dir = _only_run_dir(tmp_path)
    assert f"result: {run_dir / 'result.json'}" in out
    assert (run_dir / "report.html").stat().st_size > 10_000
    merged = _load(run_dir / "result.json")
    target = merged["targets"]["t"]
    assert merged["complete"] is True and target["complete"] is True
    assert target["sessions"]["opened"] == target["sessions"]["attempted"] == SESSIONS
    assert target["messages"]["sent"] == target["messages"]["received"] == SESSIONS * MESSAGES
    assert sum(target["timeline"]["messages_per_s"]) == SESSIONS * MESSAGES
    expected = Histogram()
    for shard in shards:
        expected.merge(Histogram.decode(shard["targets"]["t"]["rtt"]["hdr"]))
    assert Histogram.decode(target["rtt"]["hdr"]) == expected
    assert target["rtt"]["count"] == SESSIONS * MESSAGES
    assert target["rtt"]["p99"] == expected.summary_ms()["p99"]
    assert target["closes"]["by_code"] == {"1000": SESSIONS}
    assert merged["generator"]["processes"] == 2 * N
    assert sorted(w["worker"] for w in merged["generator"]["workers"]) == list(range(2 * N))
    assert merged["merge"]["present"] == [0, 1, 2] and merged["merge"]["missing"] == []
    assert merged["scenario"]["shard"] is None and merged["scenario"]["sessions"] == SESSIONS


def test_a_missing_shard_still_merges_as_partial(runs, tmp_path, capsys):
    code, out, err = merge([str(runs["shards"][0]), str(runs["shards"][2]), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    assert "WARNING: shard(s) 1 of 3 missing" in err
    assert "(partial: the run did not complete)" in out
    merged = _load(_only_run_dir(tmp_path) / "result.json")
    assert merged["complete"] is False
    assert merged["merge"]["missing"] == [1]
    assert merged["targets"]["t"]["sessions"]["opened"] == 2 * SESSIONS // N


def test_plain_runs_of_one_scenario_add_up(runs, tmp_path, capsys):
    code, out, err = merge([*map(str, runs["plain"]), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    merged = _load(_only_run_dir(tmp_path) / "result.json")
    assert merged["merge"]["kind"] == "runs" and merged["complete"] is True
    assert merged["targets"]["t"]["messages"]["received"] == 2 * 2 * MESSAGES


@pytest.mark.parametrize(
    ("inputs", "says"),
    [
        (lambda r, d: [r["shards"][0], r["shards"][0]], "shard 0/3 given twice: "),
        (lambda r, d: [r["shards"][0], r["other_n"]], "shard counts differ: "),
        (lambda r, d: [r["shards"][0], r["other_scenario"]], "not the same scenario as "),
        (lambda r, d: [r["shards"][0], r["plain"][0]], "cannot merge shards with plain runs: "),
        (lambda r, d: [r["shards"][0], d / "missing.json"], "missing.json: no such file"),
        (lambda r, d: [r["shards"][0], d / "broken.json"], "broken.json: not valid JSON"),
        (lambda r, d: [r["shards"][0], d / "other.json"], "other.json: not a wsbench Result"),
    ],
    ids=["same-shard", "mixed-n", "other-scenario", "shard-and-plain", "unreadable", "invalid-json",
         "not-a-result"],
)
def test_unmergeable_inputs_exit_2_in_one_line(runs, tmp_path, capsys, inputs, says):
    (tmp_path / "broken.json").write_text('{"schema": "wsbench/result@1", ')
    (tmp_path / "other.json").write_text('{"schema": "wsbench/conform@1", "cases": {}}')
    out = tmp_path / "out"
    code, stdout, err = merge([*map(str, inputs(runs, tmp_path)), "-o", str(out)], capsys)
    assert code == 2
    assert err.startswith("wsbench: error: ") and err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err + stdout
    assert not out.exists()  # refused before anything is written


def test_a_merged_result_is_not_merged_again(runs, tmp_path, capsys):
    code, _, err = merge([*map(str, runs["shards"]), "-o", str(tmp_path)], capsys)
    assert code == 0, err
    merged = _only_run_dir(tmp_path) / "result.json"
    code, _, err = merge([str(merged), str(runs["shards"][0]), "-o", str(tmp_path / "again")], capsys)
    assert code == 2 and "already a merged Result" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("3/3", "shard: I must be < N (I counts from 0, like JOB_COMPLETION_INDEX), got '3/3'"),
        ("x", "shard: expected I/N with 0 <= I < N, e.g. 0/3, got 'x'"),
        ("1/0", "shard: N must be >= 1, got '1/0'"),
        ("0/13", "shard: 13 shards for 12 sessions: every shard needs at least one session"),
    ],
)
def test_bad_shard_is_one_line_and_exit_2(value, line, tmp_path):
    process = subprocess.run([*WSBENCH, "run", "--shard", value, "--sessions", "12", "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr == f"wsbench: error: {line}\n"
    assert not any(tmp_path.iterdir())


def test_merge_refusal_through_the_real_entry_point(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    process = subprocess.run([*WSBENCH, "merge", str(tmp_path / "broken.json"), "-o", str(tmp_path / "out")],
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr.startswith("wsbench: error: ") and process.stderr.count("\n") == 1
    assert "Traceback" not in process.stderr
