"""Self-calibration: the generator against the reference echo, before and during the load.

Real processes and sockets: the reference echo is a subprocess, the client is picows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wsbench.cli import cli
from wsbench.engine.calibrate import RunProbe, calibrate
from wsbench.engine.runner import turns
from wsbench.result import Result
from wsbench.scenario import Target, parse_scenario


def test_calibration_is_cheap_and_measures_every_figure():
    figures = calibrate()
    assert figures["took_s"] < 3.0  # ~0.6 s on an idle machine; bounded on a shared one
    for name, count in (("rtt", 300), ("rtt_closed", 500), ("open", 20)):
        summary = figures[name]
        assert summary["count"] == count and 0 < summary["p50"] <= summary["p99"]
    assert figures["cpu_us_per_round_trip"] > 0
    assert figures["rtt_closed"]["p50"] < 5.0  # a loopback round trip, not a timeout


def test_probe_measures_while_running_and_stops():
    probe = RunProbe(max_s=30)
    probe.start()
    try:
        calibrate()  # something to run beside it for a moment (~0.5 s)
    finally:
        summary = probe.stop()
    assert summary is not None and summary["count"] > 20


def _only_result(out: Path) -> dict:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return json.loads((run_dir / "result.json").read_text())


def test_run_records_calibration_and_no_calibrate_skips_it(echo_server, tmp_path):
    server = echo_server()
    common = ["run", "--url", server.url, "--sessions", "2", "--duration", "1", "--rate", "20",
              "--processes", "1", "-q"]
    on = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "on")])
    assert on.exit_code == 0, on.output
    data = _only_result(tmp_path / "on")
    calibration = Result.from_json(data).generator.calibration
    assert calibration is not None and calibration.rtt.count == 300 and calibration.open.count == 20
    (target,) = data["targets"]
    assert calibration.during[target].count > 50  # the probe ran while the target was measured
    assert data["scenario"]["calibrate"] is True
    off = CliRunner().invoke(cli, [*common, "--no-calibrate", "--out", str(tmp_path / "off")])
    assert off.exit_code == 0, off.output
    assert "calibration" not in _only_result(tmp_path / "off")["generator"]


def test_interleaved_turns_alternate_abba_and_cover_the_duration():
    scenario = parse_scenario({"duration": 10, "interleave": 4})
    a, b = Target("a", "ws://127.0.0.1:1/"), Target("b", "ws://127.0.0.1:2/")
    plan = turns(scenario, (a, b))
    assert [(t.name, w.duration, offset) for t, w, offset in plan] == [
        ("a", 4, 0), ("b", 4, 0), ("b", 4, 4), ("a", 4, 4), ("a", 2, 8), ("b", 2, 8)]
    assert [t.name for t, _, _ in turns(parse_scenario({"duration": 10}), (a, b))] == ["a", "b"]


@pytest.mark.parametrize("value", [0, "-1", "x"])
def test_bad_interleave_is_a_scenario_error(value):
    from wsbench.errors import ScenarioError

    with pytest.raises(ScenarioError, match="interleave"):
        parse_scenario({"interleave": value})
