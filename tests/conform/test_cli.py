"""``wsbench conform`` end to end against a real websockets echo server."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from wsbench.cli import main


def run_cli(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(["conform", *args])
    return int(exit_info.value.code or 0)


def test_run_writes_json_and_junit(websockets_server: str, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "conform.xml"
    code = run_cli([websockets_server, "--cases", "1.*,7.1.*", "--exclude", "1.2.*",
                    "--out", str(tmp_path / "out"), "--junit", str(junit)])
    assert code == 0  # the suite ran, even with a FAILED case (7.1.5) and without --strict
    table = capsys.readouterr().out
    assert "1 Framing" in table and "7 Close Handling" in table and "7.1.5" in table

    doc = json.loads((tmp_path / "out" / "conform.json").read_text())
    assert doc["schema"] == "wsbench/conform@1" and doc["complete"] is True
    assert doc["url"] == websockets_server
    assert list(doc["cases"])[:2] == ["1.1.1", "1.1.2"] and len(doc["cases"]) == 14
    case = doc["cases"]["1.1.7"]
    assert {"group", "description", "verdict", "close", "reason", "wire_log"} <= set(case)
    assert case["verdict"] == "OK" and case["close"] == "OK" and case["group"] == "Framing"
    assert any("HTTP 101" in line for line in case["wire_log"])
    assert doc["summary"]["failed"] == ["7.1.5"]
    assert doc["summary"]["groups"]["1"]["OK"] == 8

    suite = ET.parse(junit).getroot().find("testsuite")
    # 14 Autobahn cases, then their 14 ``server-frames`` wsbench checks as testcases apart
    assert suite is not None and suite.get("tests") == "28" and suite.get("failures") == "1"
    failures = [tc.get("name") for tc in suite.iter("testcase") if tc.find("failure") is not None]
    assert len(failures) == 1 and failures[0].startswith("7.1.5 ")
    checks = [tc for tc in suite.iter("testcase") if tc.get("classname") == "conform.wsbench-checks"]
    assert len(checks) == 14 and checks[0].get("name") == "server-frames (1.1.1)"
    assert case["source"].endswith("autobahntestsuite/case/case1_1_7.py")
    assert case["wsbench_checks"] == {"server-frames": {"verdict": "OK",
                                                        "reason": "every frame kept RFC 6455"}}
    assert doc["summary"]["wsbench_checks"]["verdicts"] == {"OK": 14, "NON-STRICT": 0, "FAILED": 0}
    assert "wsbench checks" in table.splitlines()[1]


def test_strict_exits_1_on_failed(websockets_server: str) -> None:
    assert run_cli([websockets_server, "--cases", "7.1.5", "--strict"]) == 1
    assert run_cli([websockets_server, "--cases", "7.1.1", "--strict"]) == 0


def test_wire_log_keeps_head_and_tail(websockets_server: str, tmp_path: Path) -> None:
    # 9.3.1 at 1/20 scale: ~3300 frames of 64 bytes; the log keeps the first and last lines
    assert run_cli([websockets_server, "--cases", "9.3.1", "--scale-9", "0.05",
                    "--out", str(tmp_path)]) == 0
    case = json.loads((tmp_path / "conform.json").read_text())["cases"]["9.3.1"]
    assert case["verdict"] == "OK"
    log = case["wire_log"]
    assert len(log) == 41 and "lines not kept" in log[20]
    assert "HTTP upgrade" in log[0] and "EOF" in log[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["http://127.0.0.1:1/"], "expected a ws:// or wss:// URL"),
        (["ws://127.0.0.1:1/"], "no WebSocket at ws://127.0.0.1:1/"),
        (["{url}", "--cases", "11.*"], "matches no case"),
        (["{url}", "--timeout", "0"], "--timeout"),
        (["{url}", "--scale-9", "-1"], "--scale-9"),
        (["{url}", "--scale-12", "0"], "--scale-12"),
        (["{url}", "--cases", "ingress.idle-timeout"], "needs an idle bound (--idle-bound"),
        (["{url}", "--max-message-bound", "1x"], "--max-message-bound"),
        (["{url}", "--tls-url", "ws://x/"], "must start with wss://"),
        (["{url}", "--lab", "nginx"], "either URL or --lab"),
        ([], "either URL or --lab"),
        (["--lab", "squid"], "unknown proxy 'squid'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(websockets_server: str, args: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code = run_cli([a.format(url=websockets_server) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_list(websockets_server: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli([websockets_server, "--list", "--cases", "2.*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 11 and lines[0].startswith("2.1 ")
    assert run_cli([websockets_server, "--list", "--cases", "ingress.*,13.7.*"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 18 + 14 and lines[0].startswith("13.7.1 ")
    assert lines[18].startswith("ingress.idle-timeout") and lines[18].endswith("(needs --idle-bound)")
    assert not lines[20].endswith("(needs --idle-bound)")


def test_ingress_checks_and_deflate_cases(websockets_server: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # websockets_server runs without permessage-deflate and is not a wsbench pod
    code = run_cli([websockets_server, "--cases", "ingress.*,12.1.1", "--idle-bound", "0.3",
                    "--max-message-bound", "64KiB", "--out", str(tmp_path)])
    assert code == 0
    table = capsys.readouterr().out
    assert "12 WebSocket Compression (payloads)" in table and "ingress Ingress" in table
    doc = json.loads((tmp_path / "conform.json").read_text())
    assert len(doc["cases"]) == 15 and doc["options"]["ingress"]["idle_bound_s"] == 0.3
    assert doc["cases"]["12.1.1"]["verdict"] == "UNIMPLEMENTED"
    idle = doc["cases"]["ingress.idle-timeout"]
    assert (idle["verdict"], idle["close"], idle["observed"]["value"]) == (
        "INFORMATIONAL", "N/A", "none within 0.3 s")
    big = doc["cases"]["ingress.max-message"]
    assert big["verdict"] == "OK" and big["observed"]["bound"] == 65536
    assert doc["cases"]["ingress.origin"]["observed"]["value"] == "not a wsbench pod"
    assert doc["cases"]["ingress.header-routing"]["observed"]["value"] == "not checked"
