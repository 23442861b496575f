"""``wsbench run`` as a user meets it: CliRunner and real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.utils import wait_until
from wsbench.cli import cli
from wsbench.server.process import ServeOptions, start_server

WSBENCH = [sys.executable, "-m", "wsbench"]


@pytest.fixture(scope="module")
def echo():
    with start_server(ServeOptions()) as server:
        yield server


def _only_run_dir(out: Path) -> Path:
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def test_run_against_a_url_prints_a_summary_and_writes_the_result(echo, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["run", "--url", echo.url, "--sessions", "3", "--messages", "4", "--mode", "closed",
         "--duration", "10", "--processes", "1", "--out", str(tmp_path), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "rtt p50/p99/p99.9 ms" in result.output
    run_dir = _only_run_dir(tmp_path)
    data = json.loads((run_dir / "result.json").read_text())
    assert data["schema"] == "wsbench/result@1" and data["complete"] is True
    (target,) = data["targets"].values()
    assert target["messages"]["received"] == 12
    assert f"result: {run_dir / 'result.json'}" in result.output
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert sum(1 for e in events if e["kind"] == "session_opened") == 3


def test_several_targets_in_one_result(echo, tmp_path):
    result = CliRunner().invoke(
        cli,
        ["run", "--target", f"a={echo.url}", "--target", f"b={echo.url}", "--sessions", "2",
         "--messages", "2", "--mode", "closed", "--processes", "1", "--out", str(tmp_path), "-q"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((_only_run_dir(tmp_path) / "result.json").read_text())
    assert list(data["targets"]) == ["a", "b"]
    assert all(t["messages"]["received"] == 4 for t in data["targets"].values())


def test_scenario_file_with_cli_override(echo, tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(f"name: filed\ntargets: ['e={echo.url}']\nsessions: 5\nmessages: 1\nmode: closed\n")
    result = CliRunner().invoke(cli, ["run", str(scenario), "--sessions", "2", "--processes", "1",
                                      "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads((_only_run_dir(tmp_path / "out") / "result.json").read_text())
    assert data["scenario"]["name"] == "filed"
    assert data["targets"]["e"]["sessions"]["opened"] == 2


def test_no_target_starts_an_embedded_echo_server(tmp_path):
    process = subprocess.run(
        [*WSBENCH, "run", "--duration", "1.5", "--sessions", "4", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert process.returncode == 0, process.stderr
    assert "embedded echo server" in process.stderr
    data = json.loads((_only_run_dir(tmp_path) / "result.json").read_text())
    assert data["targets"]["local-echo"]["sessions"]["opened"] == 4
    assert data["targets"]["local-echo"]["messages"]["received"] > 0


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--duration", "-5"], "duration: must be > 0, got '-5'"),
        (["--url", "http://127.0.0.1:1/"], "target: expected a ws:// or wss:// URL, got 'http://127.0.0.1:1/'"),
        (["--url", "ws://127.0.0.1:notaport/"], "target: bad port in 'ws://127.0.0.1:notaport/'"),
        (["--ca-file", "/nonexistent/ca.pem"], "ca_file: cannot read '/nonexistent/ca.pem'"),
        (["--sessions", "0"], "sessions: must be >= 1, got 0"),
        (["--message-size", "4"], "message_size: must be >= 32, got 4"),
        (["--sessions", "lots"], "wsbench run: Invalid value for '--sessions': 'lots' is not a valid integer."),
        (["--sessionz", "3"], "wsbench run: No such option '--sessionz'. (Did you mean one of: '--baseline', '--max-regression', '--sessions'?)"),
        (["/nonexistent/scenario.yaml"], "/nonexistent/scenario.yaml: cannot read scenario (No such file or directory)"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, line, tmp_path):
    process = subprocess.run([*WSBENCH, "run", *args, "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr == f"wsbench: error: {line}\n"
    assert "Traceback" not in process.stdout


def test_unknown_scenario_key_is_named(tmp_path):
    scenario = tmp_path / "s.yaml"
    scenario.write_text("sesions: 4\n")
    process = subprocess.run([*WSBENCH, "run", str(scenario)], capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr == "wsbench: error: sesions: unknown scenario key\n"


def test_secrets_never_reach_files_or_the_terminal(echo, tmp_path):
    url = echo.url.replace("ws://", "ws://alice:pa55word@")
    process = subprocess.run(
        [*WSBENCH, "run", "--url", url, "--header", "Authorization: Bearer s3cr3t-t0ken",
         "--sessions", "2", "--messages", "1", "--mode", "closed", "--processes", "1",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert process.returncode == 0, process.stderr
    texts = [process.stdout, process.stderr]
    texts += [p.read_text() for p in tmp_path.rglob("*") if p.is_file()]
    for text in texts:
        assert "s3cr3t-t0ken" not in text and "pa55word" not in text and "alice" not in text


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupt_writes_a_partial_result(echo, tmp_path, how):
    process = subprocess.Popen(
        [*WSBENCH, "run", "--url", echo.url, "--sessions", "4", "--duration", "60", "--rate", "50",
         "--processes", "2", "--out", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )
    try:
        def progressed():
            runs = [p for p in tmp_path.iterdir() if p.is_dir()]
            shards = list(runs[0].glob("shards/*/worker-*.json")) if runs else []
            return len(shards) == 2 and all(json.loads(s.read_text())["messages"]["received"] for s in shards)

        wait_until(progressed, 30, what="both shards measured")
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)  # what a terminal does: the whole group
        else:
            os.kill(process.pid, signal.SIGTERM)  # only the runner; it stops its workers
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    data = json.loads((_only_run_dir(tmp_path) / "result.json").read_text())
    assert data["complete"] is False
    (target,) = data["targets"].values()
    assert target["sessions"]["opened"] == 4
    assert target["messages"]["received"] > 0
    assert target["closes"]["by_side"]["client"] == 4  # the sessions were closed properly


def test_run_gate_fails_with_exit_1_and_writes_junit(echo, tmp_path):
    junit = tmp_path / "junit.xml"
    result = CliRunner().invoke(
        cli,
        ["run", "--url", echo.url, "--sessions", "2", "--messages", "3", "--mode", "closed",
         "--processes", "1", "--out", str(tmp_path / "out"), "-q", "--gate",
         "--threshold", "rtt.p99 < 0.001ms", "--threshold", "sessions.dropped == 0",
         "--junit", str(junit)],
    )
    assert result.exit_code == 1, result.output
    assert "wsbench gate failed: 1 of 2 checks failed" in result.output
    assert junit.read_text().count("<testcase") == 2
    run_dir = _only_run_dir(tmp_path / "out")
    assert (run_dir / "report.html").stat().st_size > 10_000
    data = json.loads((run_dir / "result.json").read_text())
    assert data["scenario"]["thresholds"] == ["rtt.p99 < 0.001ms", "sessions.dropped == 0"]


def test_run_rejects_a_bad_threshold_before_any_load(tmp_path):
    process = subprocess.run([*WSBENCH, "run", "--gate", "--threshold", "rtt.p99 <<< 5ms",
                              "--out", str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr.startswith("wsbench: error: ") and process.stderr.count("\n") == 1
    assert not any(tmp_path.iterdir())


def _gate_rows(html: str) -> list[str]:
    """The rows of the gate table in a report page, as text."""
    import re

    table = html.split('id="gate-checks"', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"<[^>]+>", "", row).strip() for row in table.split("<tr>")[2:]]


def test_run_gate_saves_its_verdict_and_report_renders_it_from_the_file(echo, tmp_path):
    args = ["--url", echo.url, "--sessions", "2", "--messages", "20", "--mode", "closed", "--processes", "1", "-q"]
    first = CliRunner().invoke(cli, ["run", *args, "--out", str(tmp_path / "base")])
    assert first.exit_code == 0, first.output
    baseline = _only_run_dir(tmp_path / "base") / "result.json"
    result = CliRunner().invoke(
        cli, ["run", *args, "--out", str(tmp_path / "out"), "--gate", "--threshold", "sessions.dropped == 0",
              "--baseline", str(baseline), "--max-regression", "rtt.p50=100000%"])
    # 1 only when this busy machine saturated the generator (a validity check): the rows still count
    assert result.exit_code in (0, 1), result.output
    run_dir = _only_run_dir(tmp_path / "out")
    saved = json.loads((run_dir / "gate.json").read_text())
    assert saved["schema"] == "wsbench/gate@1" and saved["passed"] is (result.exit_code == 0)
    assert [c["kind"] for c in saved["checks"] if c["kind"] != "validity"] == ["threshold", "regression"]
    assert f"gate: {run_dir / 'gate.json'}" in result.output
    rows_of_run = _gate_rows((run_dir / "report.html").read_text())
    assert any("regression" in row for row in rows_of_run)
    again = CliRunner().invoke(cli, ["report", str(run_dir / "result.json"), "-o", str(tmp_path / "again.html")])
    assert again.exit_code == 0, again.output
    assert _gate_rows((tmp_path / "again.html").read_text()) == rows_of_run


def test_gate_writes_gate_json_and_lists_metrics(echo, tmp_path):
    run = CliRunner().invoke(cli, ["run", "--url", echo.url, "--sessions", "2", "--messages", "3", "--mode", "closed",
                                   "--processes", "1", "-q", "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    path = _only_run_dir(tmp_path) / "result.json"
    judged = CliRunner().invoke(cli, ["gate", str(path), "--threshold", "upgrade_failures.total == 0"])
    assert judged.exit_code == 0, judged.output
    assert json.loads(path.with_name("gate.json").read_text())["checks"][0]["name"] == "upgrade_failures.total == 0"
    typo = subprocess.run([*WSBENCH, "gate", str(path), "--threshold", "sessions.droped == 0"],
                          capture_output=True, text=True, timeout=60)
    assert typo.returncode == 2 and typo.stderr.count("\n") == 1
    assert "did you mean sessions.dropped" in typo.stderr
    listed = CliRunner().invoke(cli, ["gate", "--list-metrics", str(path)])
    assert listed.exit_code == 0
    paths = {line.split()[0] for line in listed.output.splitlines()}
    data = json.loads(path.read_text())

    def leaves(node, prefix):
        if isinstance(node, int | float):
            yield prefix
        elif isinstance(node, dict):
            for key, value in node.items():
                yield from leaves(value, f"{prefix}.{key}" if prefix else key)
        elif isinstance(node, list) and not prefix.startswith("timeline"):
            for item in node:
                yield from leaves(item, prefix + "[*]")

    (target,) = data["targets"].values()
    numeric = {leaf for leaf in leaves(target, "") if not leaf.startswith("timeline")}
    numeric |= {f"generator.{k}" for k, v in data["generator"].items() if isinstance(v, int | float)}
    assert numeric and numeric <= paths, sorted(numeric - paths)
    assert {"upgrade_failures.total", "closes.total", "rtt.p99"} <= paths
