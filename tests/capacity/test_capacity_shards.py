"""``wsbench capacity --shard I/N``: two shards run their halves of every step together and
judge the merged Result, so both find the same knee (the pod counts both halves' sessions)."""

from __future__ import annotations

import json
import subprocess
import sys

K = 12


def test_two_shards_find_the_same_knee(echo_server, tmp_path):
    server = echo_server(degrade_after=K, degrade_ms=100)
    shards = [
        subprocess.Popen(
            [sys.executable, "-m", "wsbench", "capacity", "--target", f"echo={server.url}",
             "--slo", "rtt.p99 < 50ms", "--start", "4", "--max", "32", "--precision", "0.05", "--hold", "1.5",
             "--ramp", "200", "--rate", "5", "--processes", "1", "--shard", f"{index}/2",
             "--shard-dir", str(tmp_path / "meet"), "--out", str(tmp_path / f"shard-{index}"), "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for index in range(2)
    ]
    outputs = [shard.communicate(timeout=300) for shard in shards]
    assert [shard.returncode for shard in shards] == [0, 0], outputs
    entries = []
    for index in range(2):
        (capacity_json,) = (tmp_path / f"shard-{index}").glob("*/capacity.json")
        capacity = json.loads(capacity_json.read_text())
        assert capacity["shard"] == {"index": index, "count": 2}
        entries.append(capacity["targets"]["echo"])
    assert entries[0]["capacity"] == entries[1]["capacity"]
    assert [p["load"] for p in entries[0]["curve"]] == [p["load"] for p in entries[1]["curve"]]
    assert entries[0]["capacity"] <= K < entries[0]["lowest_fail"]
    assert entries[0]["steps"] <= entries[0]["bound"]
    # each shard ran only its half of each step
    for index in range(2):
        (run_dir,) = (tmp_path / f"shard-{index}").iterdir()
        step = json.loads((run_dir / entries[index]["curve"][0]["result"]).read_text())
        assert step["targets"]["echo"]["sessions"]["attempted"] == entries[index]["curve"][0]["load"] // 2
