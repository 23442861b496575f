"""Proxy cost measured in a real lab run: every must-work proxy in one run, nginx by hand too."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import pytest

from tests.lab.conftest import installed
from wsbench.cost.observe import ProxyCostObserver
from wsbench.cost.proc import CLOCK_TICKS, read_group, read_stat, session_members
from wsbench.engine.runner import run_scenario
from wsbench.lab import Lab, LabOptions
from wsbench.scenario import Scenario, Target


def hand_cpu_s(pids: list[int]) -> float:
    """utime + stime + cutime + cstime of each process, read from /proc/PID/stat by hand."""
    total = 0
    for pid in pids:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # fields 14-17 of stat(5)
    return total / CLOCK_TICKS


def ps_rss_kib(pids: list[int]) -> int:
    out = subprocess.run(["ps", "-o", "rss=", "-p", ",".join(map(str, pids))], capture_output=True,
                         text=True, check=True).stdout
    return sum(int(line) for line in out.split())


@pytest.fixture(scope="module")
def cost_run(tmp_path_factory):
    names = installed()
    if len(names) < 7:
        pytest.skip(f"needs all seven must-work proxies, has {', '.join(names)} (wsbench lab install)")
    out = tmp_path_factory.mktemp("cost")
    with Lab.up(LabOptions(proxies=names, pods=2, tls=False, name="cost-tests",
                           state_dir=str(out / "lab"))) as lab:
        nginx = session_members(lab.proxy("nginx").pid)
        before = hand_cpu_s(nginx)
        scenario = Scenario(targets=tuple(Target(n, u) for n, u in lab.targets().items()), sessions=100,
                            ramp=100, rate=10, duration=5, processes=1, out=str(out))
        outcome = run_scenario(scenario, run_id="cost",
                               observer_for=lambda t: ProxyCostObserver(t.name, lab.proxy(t.name).pid))
        after = hand_cpu_s(nginx)
        # the sampler's reading and ps, side by side
        reading, rss_by_ps = read_group(nginx), ps_rss_kib(nginx)
        yield outcome.result, names, after - before, reading, rss_by_ps


def test_every_proxy_has_its_cost_in_one_run(cost_run):
    result, names, _, _, _ = cost_run
    assert list(result["targets"]) == list(names)
    for name in names:
        cost = result["targets"][name]["proxy_cost"]
        assert cost["proxy"] == name and cost["processes"]
        assert cost["cpu_s"] > 0
        assert cost["cpu_us_per_message"] is not None and cost["cpu_us_per_message"] > 0, (name, cost)
        assert cost["cpu_us_per_upgrade"] is not None, (name, cost)
        assert cost["kib_per_session"] is not None and cost["kib_per_session"] > 0, (name, cost)
        assert cost["basis"]["upgrades"] >= 90 and cost["basis"]["echoes"] > 1000
        assert cost["samples"]["t_s"][0] < 0 <= cost["samples"]["t_s"][2]  # baseline, then the run's clock
    print(json.dumps({n: {k: result["targets"][n]["proxy_cost"][k] for k in
                          ("cpu_us_per_message", "cpu_us_per_upgrade", "kib_per_session", "cpu_s")}
                      for n in names}, indent=1))


def test_nginx_cost_agrees_with_a_hand_measurement(cost_run):
    result, _, hand_s, reading, rss_by_ps = cost_run
    measured = result["targets"]["nginx"]["proxy_cost"]["cpu_s"]
    # hand: whole ticks per process over the whole run (nginx idles while the others run)
    assert measured == pytest.approx(hand_s, abs=0.03 + 0.1 * hand_s)
    assert reading.rss_kib == pytest.approx(rss_by_ps, rel=0.05)


def test_a_pid_that_is_gone_is_skipped():
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert read_stat(gone.pid) is None and read_group([gone.pid]).pids == ()
    assert replace(read_group([]), cpu_s=0.0).rss_kib == 0


def test_the_report_shows_the_cost_table(cost_run, tmp_path):
    from wsbench.report.render import report_html

    result, names, _, _, _ = cost_run
    html = report_html(result)
    section = html[html.index('<section id="cost">'):]
    section = section[: section.index("</section>")]
    for name in names:
        cost = result["targets"][name]["proxy_cost"]
        assert f"<td>{name}</td>" in section
        assert f"{cost['cpu_us_per_message']:,.1f}" in section and f"{cost['kib_per_session']:,.1f}" in section


def test_a_worker_that_exits_keeps_counting_what_it_spent():
    """A proxy retires a worker: the group's CPU must not drop when it goes."""
    import sys
    import time

    from tests.utils import wait_until
    from wsbench.cost.sampler import CostSampler

    worker = subprocess.Popen([sys.executable, "-c",
                               "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"])
    sampler = CostSampler(lambda: [worker.pid], interval_s=0.1)
    sampler.begin()
    sampler.start(time.monotonic_ns())
    wait_until(lambda: worker.poll() is not None, 10, what="the worker's exit")
    wait_until(lambda: read_stat(worker.pid) is None or worker.wait() is not None, 5)
    cpu = [s.cpu_s for s in sampler.stop().samples]
    assert cpu == sorted(cpu) and cpu[-1] >= 0.25, cpu
