"""The public API of ``wsbench`` (``wsbench/__init__.py``): its names, kept on purpose, and
the four things it does — run, load a Result, gate, report — against a real echo server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wsbench
from wsbench.server.process import ServeOptions, start_server

#: Adding or removing a public name is a decision: change this list with it.
PUBLIC = {
    "__version__", "run", "load_result", "evaluate_gate", "render_report", "load_scenario", "Scenario",
    "RunOutcome", "Result", "TargetResult", "Summary", "GateVerdict", "WsbenchError",
    "UsageError", "ScenarioError", "InputFileError", "LocalError", "LabError", "PeerError",
}
BASELINE = Path(__file__).resolve().parents[1] / "baselines" / "lab-nginx.json"


def test_the_public_names_are_exactly_the_documented_ones():
    assert set(wsbench.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(wsbench, name) is not None, name
    with pytest.raises(AttributeError):
        wsbench.no_such_name  # noqa: B018


def test_the_functions_survive_importing_the_subpackages():
    import wsbench.gate
    import wsbench.report  # noqa: F401

    assert callable(wsbench.evaluate_gate) and callable(wsbench.render_report)
    assert wsbench.evaluate_gate.__module__ == "wsbench"


def test_importing_wsbench_loads_no_engine_or_plotting():
    code = ("import sys, wsbench; wsbench.Result; wsbench.UsageError; "
            "print(sorted(m for m in ('asyncio', 'socket', 'matplotlib', 'picows', 'locust') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_errors_are_the_tree_of_wsbench_errors():
    assert issubclass(wsbench.ScenarioError, wsbench.UsageError)
    assert issubclass(wsbench.InputFileError, wsbench.UsageError)
    assert {wsbench.UsageError.fault, wsbench.PeerError.fault, wsbench.LabError.fault,
            wsbench.LocalError.fault} == {"user", "peer", "lab", "wsbench"}


def test_run_load_gate_report_end_to_end(tmp_path):
    lines: list[str] = []
    with start_server(ServeOptions(delay_ms=5)) as server:
        outcome = wsbench.run(None, url=server.url, sessions=3, messages=10, mode="closed",
                              duration=10, processes=1, out=str(tmp_path), progress=lines.append)
    assert not outcome.interrupted
    result = wsbench.load_result(outcome.result_path)
    assert isinstance(result, wsbench.Result)
    assert result == outcome.typed
    (target,) = result.targets.values()
    assert target.messages.received == 30
    assert 5.0 <= target.rtt.p50 < 10.0  # the server delays each echo by 5 ms
    assert any("sessions" in line for line in lines)

    passing = wsbench.evaluate_gate(result, thresholds=["rtt.p50 < 100ms"])
    failing = wsbench.evaluate_gate(outcome.result_path, thresholds=["rtt.p50 < 1ms"])
    assert isinstance(passing, wsbench.GateVerdict)
    assert passing.passed and not failing.passed

    page = wsbench.render_report(outcome.result_path, tmp_path / "r.html", verdict=failing)
    assert page.exists() and "<html" in page.read_text()[:500].lower()


def test_bad_input_raises_the_users_error_not_a_traceback(tmp_path):
    with pytest.raises(wsbench.ScenarioError, match="sessions"):
        wsbench.run(None, url="ws://127.0.0.1:9/x", sessions=0, out=str(tmp_path))
    with pytest.raises(wsbench.InputFileError):
        wsbench.load_result(tmp_path / "missing.json")
    with pytest.raises(wsbench.UsageError):
        wsbench.run(wsbench.load_scenario(None), sessions=3)


def test_a_committed_baseline_loads_and_gates():
    result = wsbench.load_result(BASELINE)
    assert result.targets
    assert wsbench.evaluate_gate(result, thresholds=["rtt.p99 < 10s"]).passed
