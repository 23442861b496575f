"""Plain ``run --lab``: the generator's workers and the lab apart on the cores, recorded in the
Result; a target measured while the machine's CPUs were >= 90 % busy is called bounded by the
machine (Result and report). The real CLI in its own process, through the lab's nginx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.utils import UNIT, wait_until
from wsbench.lab import missing_proxies
from wsbench.report.render import report_html

pytestmark = [
    pytest.mark.skipif(bool(missing_proxies(("nginx",))), reason="; ".join(missing_proxies(("nginx",)).values())),
    pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="pinning apart needs two cores"),
]


def _cmdline(process: psutil.Process) -> str:
    try:
        return " ".join(process.cmdline())
    except psutil.Error:  # gone, or a zombie
        return ""


def _burners() -> list[subprocess.Popen[bytes]]:
    """One CPU-bound process on each core: the machine is busy whatever the run does."""
    return [subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", "while True: pass"])
            for core in sorted(os.sched_getaffinity(0))]


def test_run_lab_pins_apart_records_it_and_says_when_the_machine_bounds_it(tmp_path: Path) -> None:
    burners = _burners()
    try:
        run = subprocess.Popen(
            [sys.executable, "-m", "wsbench", "run", "--lab", "nginx", "--lab-name", f"pin-{os.getpid()}",
             "--sessions", "10", "--ramp", "0", "--duration", "5", "--mode", "rate", "--rate", "5",
             "--disrupt", "pod-restart@2s:pod-0", "--out", str(tmp_path)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "WSBENCH_LAB_DIR": str(tmp_path / "labs")})
        try:  # the workers, while they run: on the generator's cores only
            parent = psutil.Process(run.pid)
            workers = wait_until(lambda: [p for p in parent.children(recursive=True) if "spawn_main" in _cmdline(p)],
                                 90, what="the run's worker processes")
            affinity = {tuple(sorted(w.cpu_affinity())) for w in workers}
            out, err = run.communicate(timeout=180 * UNIT)
        finally:
            if run.poll() is None:
                run.kill()
                run.communicate()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert run.returncode == 0, err
    result_path = next(tmp_path.glob("*/result.json"))
    result = json.loads(result_path.read_text())
    pinning = result["pinning"]
    assert pinning["pinned"] is True, pinning
    generator, lab = pinning["generator_cores"], pinning["lab_cores"]
    assert generator and lab and not set(generator) & set(lab)
    assert affinity == {tuple(generator)}, (affinity, pinning)
    assert set(pinning["lab_members"]) >= {"nginx", "pod-0"}
    target = result["targets"]["nginx"]
    cost = target["proxy_cost"]
    assert cost["pinned_cores"] == lab and set(cost["cpus_ran_on"]) <= set(lab), cost
    assert result["scenario"]["processes"] == len(generator)
    # a pod restarted by the run starts on the lab's cores, where the old one ran, not on the
    # generator's (there, beside a burner, it took over 10 s to start: the restart failed)
    (restart,) = target["disruptions"]
    assert restart["ok"] is True and restart["new_ready_s"] < 5, restart
    machine = target["machine_cpu"]
    assert machine["busy_percent"] >= 90 and machine["bounded_by_machine"] is True, machine
    html = (result_path.parent / "report.html").read_text()
    assert "nginx: bounded by the machine, not only the controller" in html
    assert f"generator workers on core(s) {generator}" in html
    # the same Result with the machine not busy: no such banner
    target["machine_cpu"] = {"busy_percent": 40.0, "bounded_by_machine": False}
    assert "bounded by the machine" not in report_html(result)
    # everything back on its cores: this process and the lab's are not left pinned
    assert len(os.sched_getaffinity(0)) >= 2
