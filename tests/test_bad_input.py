"""Bad input to every command: one line naming the problem, exit code 2, never a traceback.

Table-driven: each row is a command line (files it needs are made in ``tmp_path`` first) and
a piece of the one line it must print. Real subprocesses, as a user runs wsbench.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

WSBENCH = [sys.executable, "-m", "wsbench"]
BASELINE = Path(__file__).resolve().parent.parent / "baselines" / "lab-nginx.json"
NESTED = "(" * 1000 + "rtt.p99" + ")" * 1000 + " < 5ms"


def _binary(tmp: Path) -> str:
    (tmp / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    return str(tmp / "binary.yaml")


def _alias_bomb(tmp: Path) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    (tmp / "bomb.yaml").write_text("\n".join(lines) + "\nname: *a8\n")
    return str(tmp / "bomb.yaml")


def _deep_yaml(tmp: Path) -> str:
    (tmp / "deep.yaml").write_text("headers: " + "[" * 5000 + "]" * 5000 + "\n")
    return str(tmp / "deep.yaml")


def _deep_json(tmp: Path) -> str:
    (tmp / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    return str(tmp / "deep.json")


def _not_pem(tmp: Path) -> str:
    (tmp / "ca.pem").write_text("this is not a certificate\n")
    return str(tmp / "ca.pem")


def _result(tmp: Path) -> str:
    shutil.copy(BASELINE, tmp / "result.json")
    return str(tmp / "result.json")


#: (id, argv builder, what the one line must hold, what it must not hold)
CASES: list[tuple[str, Callable[[Path], list[str]], str, str | None]] = [
    ("run binary scenario", lambda t: ["run", _binary(t)], "not a text file", None),
    ("run alias bomb", lambda t: ["run", _alias_bomb(t)], "aliases expand past", None),
    ("run deep yaml", lambda t: ["run", _deep_yaml(t)], "nested too deeply", None),
    ("run broken ipv6 url", lambda t: ["run", "--url", "ws://[::1/ws"], "malformed URL 'ws://[::1/ws'", None),
    ("run reference-interleave without a lab",
     lambda t: ["run", "--reference-interleave", "1", "--url", "ws://127.0.0.1:9/"], "add --lab", None),
    ("run reference-interleave and interleave",
     lambda t: ["run", "--reference-interleave", "1", "--interleave", "1", "--target", "a=ws://127.0.0.1:9/",
                "--target", "b=ws://127.0.0.1:9/"], "either interleave", None),
    ("run reference-interleave uncalibrated",
     lambda t: ["run", "--lab", "nginx", "--reference-interleave", "1", "--no-calibrate"],
     "the reference windows are the calibration", None),
    ("run reference-interleave with disruptions",
     lambda t: ["run", "--lab", "nginx", "--reference-interleave", "1", "--disrupt", "pod-kill@1s:pod-0"],
     "drop --reference-interleave or the disruptions", None),
    ("conform broken ipv6 url", lambda t: ["conform", "ws://[::1/ws"], "malformed URL 'ws://[::1/ws'", None),
    ("run port 99999 with a password", lambda t: ["run", "--url", "ws://u:s3cret@127.0.0.1:99999/ws"],
     "bad port in 'ws://***@127.0.0.1:99999/ws'", "s3cret"),
    ("conform port 99999 with a password", lambda t: ["conform", "ws://u:s3cret@127.0.0.1:99999/ws"],
     "bad port", "s3cret"),
    ("run ca file not PEM", lambda t: ["run", "--url", "wss://127.0.0.1:1/ws", "--ca-file", _not_pem(t)],
     "is not a readable PEM CA bundle", None),
    ("run header typo", lambda t: ["run", "--url", "ws://127.0.0.1:1/", "--header", "Authorization=Bearer_X"],
     "headers: expected 'Name: value'", "Bearer_X"),
    ("run nested threshold", lambda t: ["run", "--url", "ws://127.0.0.1:1/", "--threshold", NESTED],
     "nested more than", None),
    ("gate nested threshold", lambda t: ["gate", _result(t), "--threshold", NESTED], "nested more than", None),
    ("gate unknown metric", lambda t: ["gate", _result(t), "--threshold", "foo.bar < 5"],
     "no metric 'foo'", None),
    ("gate deep json", lambda t: ["gate", _deep_json(t)], "nested too deeply", None),
    ("report deep json", lambda t: ["report", _deep_json(t)], "nested too deeply", None),
    ("merge deep json", lambda t: ["merge", _deep_json(t), "-o", str(t / "merged")], "nested too deeply", None),
    ("compare deep json", lambda t: ["compare", _deep_json(t), "-o", str(t / "c.html")], "nested too deeply", None),
    ("report unwritable output", lambda t: ["report", _result(t), "-o", "/proc/x/r.html"],
     "/proc/x/r.html: cannot write", None),
    ("run connect timeout 0", lambda t: ["run", "--connect-timeout", "0"], "connect_timeout: must be > 0", None),
    ("run max message size too small", lambda t: ["run", "--max-message-size", "10"],
     "max_message_size: must be >= 125", None),
    ("run max message size below message size", lambda t: ["run", "--max-message-size", "200",
                                                            "--message-size", "300"],
     "max_message_size: 200 is below message_size 300", None),
    ("run send high water negative", lambda t: ["run", "--send-high-water", "-1"], "send_high_water: must be >= 0",
     None),
]


@pytest.mark.parametrize(("argv", "line", "hidden"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, argv: Callable[[Path], list[str]], line: str,
                                          hidden: str | None) -> None:
    args = argv(tmp_path)
    if args[0] == "run":
        args += ["--out", str(tmp_path / "out")]
    process = subprocess.run([*WSBENCH, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert process.returncode == 2, (process.returncode, process.stderr[-2000:])
    lines = process.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wsbench: error: "), process.stderr[-2000:]
    assert line in lines[0], lines[0]
    assert "Traceback" not in process.stdout + process.stderr
    if hidden is not None:
        assert hidden not in process.stdout + process.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing was run


def test_a_url_with_a_query_string_is_a_url(tmp_path: Path) -> None:
    """``--url ws://host/ws?room=1`` is one URL (its ``=`` is not NAME=URL), sent as it is."""
    from wsbench.scenario import load_scenario

    scenario = load_scenario(None, {"targets": ["ws://127.0.0.1:9/ws?room=1&x=y"]})
    (target,) = scenario.targets
    assert target.url == "ws://127.0.0.1:9/ws?room=1&x=y" and target.name == "127.0.0.1:9"
    (named,) = load_scenario(None, {"targets": ["lobby=ws://127.0.0.1:9/ws?room=1"]}).targets
    assert (named.name, named.url) == ("lobby", "ws://127.0.0.1:9/ws?room=1")


def test_every_scenario_key_is_a_run_option() -> None:
    """The scenario's fields and ``wsbench run``'s options, enumerated: none is missing."""
    import dataclasses

    from wsbench.cli.run import run
    from wsbench.scenario import Scenario

    options = {name.lstrip("-").replace("-", "_") for param in run.params for name in param.opts}
    spelled = {  # keys whose option is spelled otherwise
        "targets": "url", "message_type": "binary", "headers": "header", "subprotocols": "subprotocol",
        "source_addresses": "source_address", "reconnect": "no_reconnect", "thresholds": "threshold",
    }
    keys = {f.name for f in dataclasses.fields(Scenario)} - {"extra"}
    missing = sorted(key for key in keys if spelled.get(key, key) not in options)
    assert missing == []
