"""``Result.from_json``/``to_json`` round-trip every Result exactly, from every producer.

Producers: ``wsbench run`` (a live run, and the runs recorded in ``data/``), ``wsbench
merge`` (shards, and plain runs), Locust (a live headless run), and the committed
baselines. ``wsbench conform`` writes ``wsbench/conform@1`` files, not Results: nothing to
round-trip here (and a conformance file is refused as a Result, in one line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wsbench.engine.runner import run_scenario
from wsbench.errors import HdrDecodeError, InputFileError
from wsbench.result.model import Result
from wsbench.result.runs import merge_results
from wsbench.scenario import parse_scenario
from wsbench.server.process import ServeOptions, start_server

ROOT = Path(__file__).resolve().parents[2]
BASELINES = sorted((ROOT / "baselines").glob("*.json"))


def _both_ways(data: dict, source: str = "result") -> Result:
    typed = Result.from_json(data, source=source)
    assert typed.to_json() == data
    assert Result.from_json(typed.to_json()) == typed
    assert Result.from_json(json.dumps(data)) == typed  # from JSON text too
    return typed


@pytest.mark.parametrize("path", BASELINES, ids=[p.name for p in BASELINES])
def test_baselines_round_trip(path):
    assert BASELINES, "no baselines/*.json"
    _both_ways(json.loads(path.read_text()), str(path))


def test_recorded_runs_and_their_merge_round_trip(real_runs):
    for run in real_runs["runs"]:
        _both_ways(run["result"])
    _both_ways(real_runs["merged"])
    plain = [run["result"] for run in real_runs["runs"] if "shard" not in run["result"]]
    other = {**plain[0], "run_id": "another-machine"}
    merged = merge_results([("a.json", plain[0]), ("b.json", other)], run_id="runs")
    assert merged.merged.merge and merged.merged.merge["kind"] == "runs"
    _both_ways(merged.result)


def test_a_live_run_round_trips_and_keeps_additions(tmp_path):
    with start_server(ServeOptions()) as server:
        scenario = parse_scenario({"targets": [f"pod={server.url}"], "sessions": 4, "messages": 3,
                                   "mode": "closed", "duration": 10, "processes": 1, "out": str(tmp_path)})
        outcome = run_scenario(scenario, sections={"lab": {"profile": "none"}})
    written = json.loads(outcome.result_path.read_text())
    assert written == outcome.result
    typed = _both_ways(written, str(outcome.result_path))
    assert typed == outcome.typed
    assert typed.targets["pod"].session_counts.opened == 4 and typed.section("lab") == {"profile": "none"}
    # keys wsbench does not know (yet) survive, at every level
    added = json.loads(json.dumps(written))
    added["infrastructure"] = {"ok": True, "events": []}
    added["targets"]["pod"]["proxy_cost"] = {"rtt_p50_ms": 0.1}
    added["targets"]["pod"]["rtt"]["p75"] = 1.0
    added["targets"]["pod"]["sessions"]["half_open"] = 0
    added["targets"]["pod"]["timeline"]["cpu_ms"] = [None] * len(added["targets"]["pod"]["timeline"]["t_s"])
    added["generator"]["note"] = None
    added["wsbench_version"] = None
    _both_ways(added)


def test_a_locust_result_round_trips(tmp_path):
    env = {**os.environ, "WSBENCH_OUT": str(tmp_path), "WSBENCH_TARGET": "pod"}
    with start_server(ServeOptions()) as server:
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "scenarios" / "locustfile.py"), "--headless",
             "--only-summary", "-u", "2", "-r", "2", "-t", "2s", "--host", server.url],
            capture_output=True, text=True, timeout=90, env=env, cwd=ROOT,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    (path,) = tmp_path.glob("*/result.json")
    typed = _both_ways(json.loads(path.read_text()), str(path))
    assert typed.extra["engine"] == "locust" and typed.targets["pod"].session_counts.opened == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema="wsbench/conform@1"),
         "r.json: not a wsbench Result (schema 'wsbench/conform@1', expected 'wsbench/result@1')"),
        (lambda d: d.update(targets=[]), "r.json: Result has no 'targets' object"),
        (lambda d: d["targets"]["t"].update(sessions=[1]), "r.json: targets.t.sessions: expected an object, got list"),
        (lambda d: d["targets"]["t"]["rtt"].update(p99="fast"),
         "r.json: targets.t.rtt.p99: expected a number, got str 'fast'"),
        (lambda d: d["targets"]["t"].update(disruptions=[{"at_s": "soon"}]),
         "r.json: targets.t.disruptions[0].at_s: expected a number, got str 'soon'"),
        (lambda d: d.update(complete="yes"), "r.json: complete: expected true or false, got str 'yes'"),
        (lambda d: d["generator"].update(workers=[3]), "r.json: generator.workers[0]: expected an object, got int"),
    ],
)
def test_malformed_results_are_refused_in_one_line_naming_the_key(real_runs, change, message):
    data = json.loads(json.dumps(real_runs["runs"][0]["result"]))
    data["targets"] = {"t": next(iter(data["targets"].values()))}
    change(data)
    with pytest.raises(InputFileError) as refused:
        Result.from_json(data, source="r.json")
    assert str(refused.value) == message
    with pytest.raises(InputFileError, match=r"^r\.json: not valid JSON"):
        Result.from_json("{", source="r.json")


def test_a_corrupt_histogram_is_an_hdr_decode_error_naming_where(real_runs):
    data = json.loads(json.dumps(real_runs["runs"][0]["result"]))
    ((name, target),) = data["targets"].items()
    target["rtt"]["hdr"] = "bm90IGEgaGlzdG9ncmFt"
    typed = Result.from_json(data)  # read lazily: the file stays readable
    with pytest.raises(HdrDecodeError, match=rf"^r\.json: targets\.{name}\.rtt\.hdr: "):
        typed.targets[name].rtt.histogram(f"r.json: targets.{name}.rtt.hdr")
