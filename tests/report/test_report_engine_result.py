"""A Result written by the real engine (``wsbench run`` against its own echo server)
renders, compares and gates: the contract as the engine writes it, not only as our
fixtures imagine it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wsbench.gate import evaluate_gate
from wsbench.report.compare import compare_html
from wsbench.report.load import load_result
from wsbench.report.render import report_html
from wsbench.result import fmt


@pytest.fixture(scope="module")
def engine_result(tmp_path_factory):
    out = tmp_path_factory.mktemp("engine-run")
    command = [sys.executable, "-m", "wsbench", "run", "--duration", "2", "--sessions", "4",
               "--processes", "1", "--out", str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("wsbench run did not finish within 60 s")
    if "No such command 'run'" in done.stderr:
        pytest.skip("wsbench run is not available in this checkout")
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("*/result.json")
    return load_result(path)


def test_engine_result_renders_compares_and_gates(engine_result):
    (name,) = engine_result["targets"]
    html = report_html(engine_result)
    assert fmt.ms(engine_result["targets"][name]["rtt"]["p99"]) in html
    verdict = evaluate_gate(engine_result, thresholds=["rtt.p99 < 10s", "upgrade.total.p95 < 10s",
                                                       "messages.lost / messages.sent < 1%"])
    assert verdict.passed, [o.note for c in verdict.checks for o in c.observations]
    twin = json.loads(json.dumps(engine_result))
    assert "within noise" in compare_html([("a", engine_result), ("b", twin)], resamples=200)
