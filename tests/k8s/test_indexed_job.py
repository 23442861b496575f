"""The Indexed Job, run here: N processes with JOB_COMPLETION_INDEX set, each with the args of the
rendered Job's pod (expanded as the kubelet does), their logs collected as `kubectl logs --prefix`
prints them, then `wsbench merge` on those logs: one exact Result."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.utils import UNIT
from wsbench.cli import main
from wsbench.k8s.render import RenderOptions, render_yaml
from wsbench.k8s.result_log import load_results
from wsbench.metrics.histogram import Histogram
from wsbench.server.process import ServeOptions, start_server

SHARDS, SESSIONS, MESSAGES = 3, 9, 20
SCENARIO = f"""# a small closed-loop scenario for the test
name: job-test
sessions: {SESSIONS}
messages: {MESSAGES}
mode: closed
duration: 30
"""


def _expand(arg: str, env: dict[str, str]) -> str:
    """$(VAR) as the kubelet expands it in container args."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def _pod_args(url: str) -> list[str]:
    manifests = list(yaml.safe_load_all(render_yaml(RenderOptions(
        controller="ingress-nginx", scenario_name="job-test", scenario_text=SCENARIO, shards=SHARDS,
        url=url, parts=("load",)))))
    (job,) = [m for m in manifests if m and m["kind"] == "Job"]
    (config,) = [m for m in manifests if m and m["kind"] == "ConfigMap"]
    assert config["data"]["scenario.yaml"] == SCENARIO
    assert job["spec"]["completions"] == SHARDS
    return job["spec"]["template"]["spec"]["containers"][0]["args"]


def test_indexed_job_pods_merge_into_one_exact_result(tmp_path, capsys):
    (tmp_path / "etc").mkdir()
    scenario_file = tmp_path / "etc" / "scenario.yaml"
    scenario_file.write_text(SCENARIO)  # the ConfigMap, mounted
    with start_server(ServeOptions(delay_ms=1)) as server:
        args = _pod_args(server.url)
        pods = []
        for index in range(SHARDS):
            env = {**os.environ, "JOB_COMPLETION_INDEX": str(index)}
            argv = [_expand(a, env) for a in args]
            argv = [str(scenario_file) if a == "/etc/wsbench/scenario.yaml" else a for a in argv]
            argv[argv.index("--out") + 1] = str(tmp_path / f"pod-{index}")  # the pod's emptyDir
            argv[argv.index("--metrics-port") + 1] = "0"  # a pod each has its own network; here: any port
            argv += ["--metrics-addr", "127.0.0.1"]
            log = open(tmp_path / f"pod-{index}.log", "w")
            pods.append((index, log, subprocess.Popen([sys.executable, "-m", "wsbench", *argv], env=env,
                                                      stdout=log, stderr=subprocess.STDOUT)))
        for index, log, pod in pods:
            assert pod.wait(timeout=120 * UNIT) == 0, (tmp_path / f"pod-{index}.log").read_text()[-2000:]
            log.close()
    # kubectl logs -l job-name=wsbench-load --prefix --tail=-1 > load.log
    combined = tmp_path / "load.log"
    combined.write_text("".join(
        f"[pod/wsbench-load-{i}-x{i}k2p/wsbench] {line}\n"
        for i in range(SHARDS) for line in (tmp_path / f"pod-{i}.log").read_text().splitlines()))
    shards = load_results(combined)
    assert [r["shard"] for _, r in shards] == [{"index": i, "count": SHARDS} for i in range(SHARDS)]
    assert all(label.startswith(f"{combined} [pod/wsbench-load-") for label, _ in shards)

    with pytest.raises(SystemExit) as exited:
        main(["merge", str(combined), "-o", str(tmp_path / "merged")])
    captured = capsys.readouterr()
    assert exited.value.code == 0, captured.err
    (run_dir,) = (tmp_path / "merged").iterdir()
    merged = json.loads((run_dir / "result.json").read_text())
    (name,) = merged["targets"]
    assert name == "ingress-nginx"
    target = merged["targets"][name]
    assert merged["complete"] is True and merged["merge"]["missing"] == []
    assert target["sessions"]["opened"] == SESSIONS
    assert target["messages"]["sent"] == target["messages"]["received"] == SESSIONS * MESSAGES
    expected = Histogram()
    for _, shard in shards:
        expected.merge(Histogram.decode(shard["targets"][name]["rtt"]["hdr"]))
    assert Histogram.decode(target["rtt"]["hdr"]) == expected
    assert target["rtt"]["count"] == sum(s["targets"][name]["rtt"]["count"] for _, s in shards) == SESSIONS * MESSAGES
    for phase in ("tcp", "http", "total"):
        assert target["upgrade"][phase]["count"] == SESSIONS
    # the pods' own folders: no colon in any name (artifact uploaders reject it)
    assert not [p for p in tmp_path.rglob("*") if ":" in p.name]


def test_merge_says_what_is_wrong_with_a_log(tmp_path, capsys):
    cut = tmp_path / "cut.log"
    cut.write_text('[pod/a/wsbench] wsbench-result@1 {"schema": "wsbench/res\n')
    empty = tmp_path / "empty.log"
    empty.write_text("some output\nno results\n")
    for path, message in ((cut, "the Result line is cut short"), (empty, "no 'wsbench-result@1' lines")):
        with pytest.raises(SystemExit) as exited:
            main(["merge", str(path), "-o", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and message in err and "Traceback" not in err, err
