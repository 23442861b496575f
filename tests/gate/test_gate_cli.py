"""``wsbench gate`` end to end: exit codes, Markdown, $GITHUB_STEP_SUMMARY, JUnit."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from wsbench.cli import main


def run(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    out = capsys.readouterr()
    return exited.value.code, out.out, out.err


@pytest.fixture
def files(tmp_path, resultgen, result):
    (tmp_path / "run").mkdir()
    current = resultgen.write_result(tmp_path / "run" / "result.json", result)
    baseline = resultgen.write_result(tmp_path / "baseline.json", resultgen.make_result(seed=8, run_id="baseline"))
    slower = dict(resultgen.DEFAULT_TARGETS)
    slower["nginx"] = resultgen.TargetShape(slower["nginx"].url, rtt_median_ms=2.4)
    regressed = resultgen.write_result(tmp_path / "regressed.json", resultgen.make_result(slower, seed=9, run_id="regressed"))
    return current, baseline, regressed


def test_pass_exit_0_with_markdown_and_step_summary(files, tmp_path, capsys, monkeypatch):
    current, baseline, _ = files
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, err = run(["gate", str(current), "--threshold", "rtt.p99 < 50ms", "--baseline", str(baseline),
                          "--max-regression", "rtt.p99=10%"], capsys)
    assert code == 0, err
    assert out.startswith("## ✅ wsbench gate passed: 2 of 2 checks")
    assert summary.read_text() == "earlier step\n" + out + "\n"


def test_fail_exit_1_and_junit(files, tmp_path, capsys, monkeypatch):
    _, baseline, regressed = files
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    junit = tmp_path / "out" / "gate.xml"
    code, out, _ = run(["gate", str(regressed), "--baseline", str(baseline), "--max-regression", "rtt.p99=10%",
                        "--threshold", "rtt.p99 < 50ms", "--threshold", "sessions.dropped == 0", "--junit", str(junit)], capsys)
    assert code == 1
    assert out.startswith("## ❌ wsbench gate failed: 2 of 3 checks failed")
    suite = ET.parse(junit).getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["rtt.p99 < 50ms", "sessions.dropped == 0", "rtt.p99 regression ≤ 10%"]
    assert [c.find("failure") is not None for c in cases] == [False, True, True]
    assert suite.get("tests") == "3" and suite.get("failures") == "2"


@pytest.mark.parametrize(
    ("argv_tail", "says"),
    [
        (["--threshold", "rtt.p99 <"], "bad threshold 'rtt.p99 <'"),
        (["--threshold", "sessions.dropped < 3ms"], "is not a duration"),
        (["--max-regression", "rtt.p99=10%"], "needs --baseline"),
        (["--max-regression", "rtt=10"], "bad max-regression"),
        ([], "nothing to check"),
        (["--threshold", "rtt.p99 < 1s", "--target", "istio"], "--target 'istio'"),
        (["--threshold", "rtt.p99 < 1s", "--baseline", "/nonexistent/base.json"], "/nonexistent/base.json: no such file"),
        (["--threshold", "rtt.p99 < 1s", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_exit_2_in_one_line(files, capsys, argv_tail, says):
    current, _, _ = files
    code, out, err = run(["gate", str(current), *argv_tail], capsys)
    assert code == 2
    assert says in err
    assert err.count("\n") == 1 and err.startswith("wsbench: error:")
    assert out == ""


def test_unreadable_inputs_exit_2(tmp_path, capsys):
    missing = tmp_path / "missing.json"
    assert run(["gate", str(missing), "--threshold", "rtt.p99 < 1s"], capsys)[2].strip().endswith("no such file")
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "wsbench/result@1", "targets": ')
    code, _, err = run(["gate", str(broken), "--threshold", "rtt.p99 < 1s"], capsys)
    assert code == 2 and "not valid JSON" in err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"schema": "wsbench/conform@1", "cases": {}}))
    code, _, err = run(["gate", str(other), "--threshold", "rtt.p99 < 1s"], capsys)
    assert code == 2 and "not a wsbench Result" in err
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({"schema": "wsbench/result@2", "targets": {}}))
    code, _, err = run(["gate", str(newer), "--threshold", "rtt.p99 < 1s"], capsys)
    assert code == 2 and "'wsbench/result@2' is not supported" in err
    code, _, err = run(["gate", str(tmp_path), "--threshold", "rtt.p99 < 1s"], capsys)
    assert code == 2


def test_partial_run_fails_unless_allowed(tmp_path, resultgen, capsys):
    partial = resultgen.write_result(tmp_path / "partial.json", resultgen.make_result(complete=False))
    code, out, _ = run(["gate", str(partial), "--threshold", "rtt.p99 < 1s"], capsys)
    assert code == 1 and "run complete" in out
    code, out, _ = run(["gate", str(partial), "--threshold", "rtt.p99 < 1s", "--allow-partial"], capsys)
    assert code == 0 and "> ⚠️ partial Result" in out
