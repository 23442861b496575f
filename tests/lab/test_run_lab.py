"""``wsbench run --lab``: the same load through each proxy, one Result, nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from wsbench.cli import cli
from wsbench.lab import REFERENCE_PATH, missing_proxies
from wsbench.lab.procs import with_argument
from wsbench.lab.state import lab_dir, state_root

PROXIES = ("nginx", "haproxy")


@pytest.mark.skipif(bool(missing_proxies(PROXIES)), reason="; ".join(missing_proxies(PROXIES).values()))
def test_run_through_two_lab_proxies_writes_one_comparative_result(tmp_path):
    import psutil

    before = {p.pid for p in psutil.process_iter()}
    result = CliRunner().invoke(
        cli,
        ["run", "--lab", ",".join(PROXIES), "--sessions", "6", "--messages", "3", "--mode", "closed",
         "--processes", "1", "--out", str(tmp_path), "-q"],
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    data = json.loads((run_dir / "result.json").read_text())
    assert list(data["targets"]) == list(PROXIES)
    for target in data["targets"].values():
        assert target["sessions"]["opened"] == 6
        assert target["messages"]["received"] == 18
    assert set(data["lab"]["proxies"]) == set(PROXIES)
    assert all(p["version"] for p in data["lab"]["proxies"].values())
    assert data["lab"]["profile"] == "shipped"
    # the calibration probe went through each proxy to the lab's reference echo
    calibration = data["generator"]["calibration"]
    for name, target in data["targets"].items():
        assert calibration["during"][name]["count"] > 0
        assert calibration["during_via"][name] == target["url"].rstrip("/") + REFERENCE_PATH
    # the lab started for the run is gone with it
    # (ours: started from this lab folder; a test on another worker may run its own proxies)
    root = str(state_root())
    leftovers = [p for p in psutil.process_iter(["pid", "name", "cmdline"])
                 if p.pid not in before and p.info["name"] in ("nginx", "haproxy")
                 and any(root in part for part in p.info["cmdline"] or ())]
    assert not leftovers, leftovers
    assert not with_argument(str(lab_dir(f"run-{os.getpid()}")))  # nor its reference echo


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--lab", "nginx", "--url", "ws://127.0.0.1:9/"], "lab: give either --lab or targets (--url/--target), not both"),
        (["--lab", "nginx,squid"], "lab: unknown proxy 'squid' (known: "),
    ],
)
def test_bad_lab_input_is_one_line_and_exit_2(args, line, tmp_path):
    process = subprocess.run([sys.executable, "-m", "wsbench", "run", *args, "--out", str(tmp_path)],
                             capture_output=True, text=True, timeout=30)
    assert process.returncode == 2
    assert process.stderr.startswith(f"wsbench: error: {line}") and process.stderr.count("\n") == 1


@pytest.mark.skipif(bool(missing_proxies(("nginx",))), reason="; ".join(missing_proxies(("nginx",)).values()))
def test_reference_interleave_runs_the_same_load_to_the_reference_path(tmp_path):
    """``--reference-interleave``: the proxy's target takes turns with the same load to the
    lab's reference echo behind it; that load is the calibration (``same_load``), not a target."""
    result = CliRunner().invoke(
        cli,
        ["run", "--lab", "nginx", "--reference-interleave", "1", "--duration", "2", "--sessions", "4",
         "--rate", "20", "--ramp", "0", "--processes", "1", "--out", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    data = json.loads((run_dir / "result.json").read_text())
    assert list(data["targets"]) == ["nginx"]
    target = data["targets"]["nginx"]
    assert target["sessions"]["opened"] == 8 and target["messages"]["lost"] == 0  # two windows of 4
    calibration = data["generator"]["calibration"]
    same = calibration["same_load"]["nginx"]
    assert set(same) == {"rtt", "rtt_service"}
    received = target["messages"]["received"]
    assert abs(same["rtt_service"]["count"] - received) <= 0.2 * received  # the same load, its own windows
    assert calibration["during_via"]["nginx"] == target["url"].rstrip("/") + REFERENCE_PATH
    assert sorted(p.name for p in (run_dir / "shards").iterdir()) == ["nginx", "nginx-2", "nginx.reference",
                                                                      "nginx.reference-2"]
    assert "the same load to the reference path" in result.output
