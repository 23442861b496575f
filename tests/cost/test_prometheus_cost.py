"""``--cost-from-prometheus URL QUERY``: a controller's cost from Prometheus' HTTP API.

A real HTTP server on 127.0.0.1 (tests/cost/prometheus_server.py) serves, for exactly the
documented queries, the CPU counter and working set a controller with known costs gives;
the figures wsbench computes from it must be those costs.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cost.prometheus_server import serving_prometheus
from wsbench.cost.prometheus import PrometheusCostObserver, PrometheusSource, cost_queries

SELECTOR = '{namespace="ingress-nginx",container="controller"}'
CPU_QUERY = 'sum(container_cpu_usage_seconds_total{namespace="ingress-nginx",container="controller"})'
MEMORY_QUERY = 'sum(container_memory_working_set_bytes{namespace="ingress-nginx",container="controller"})'

IDLE = 0.002  # CPU s per s
PER_UPGRADE = 300e-6
PER_MESSAGE = 25e-6
KIB_PER_SESSION = 40.0
BASE_KIB = 80_000.0


def _controller(t0: float, opens: list[int], echoes: list[int]):  # type: ignore[no-untyped-def]
    """The counter and working set of a controller with the costs above, as functions of Unix
    time (second k of the run: [t0 + k - 1, t0 + k)), and the run's timeline."""
    rates = [IDLE + o * PER_UPGRADE + e * PER_MESSAGE for o, e in zip(opens, echoes, strict=True)]
    open_at = [sum(opens[:k]) for k in range(len(opens) + 1)]

    def cpu(t: float) -> float:
        x = t - t0
        if x <= 0:
            return 1000.0 + IDLE * x
        whole = min(int(x), len(rates))
        return 1000.0 + sum(rates[:whole]) + (x - whole) * (rates[whole] if whole < len(rates) else IDLE)

    def memory(t: float) -> float:
        x = max(0, min(math.floor(t - t0 + 1e-9), len(opens)))
        return (BASE_KIB + KIB_PER_SESSION * open_at[x]) * 1024

    timeline = {"t_s": [float(k) for k in range(1, len(opens) + 1)], "open": open_at[1:], "messages_per_s": echoes}
    return {CPU_QUERY: cpu, MEMORY_QUERY: memory}, timeline


def test_the_queries_are_the_documented_ones() -> None:
    assert cost_queries(SELECTOR) == {"cpu_s": CPU_QUERY, "memory_bytes": MEMORY_QUERY}


def test_figures_from_prometheus_are_the_controllers_known_costs() -> None:
    t0 = math.floor(time.time()) - 12.0  # the run's t = 0, 12 s ago
    opens, echoes = [50, 50, 0, 0, 0, 0, 0, 0], [400, 1200, 1600, 1600, 1600, 1600, 1600, 1600]
    series, timeline = _controller(t0, opens, echoes)
    with serving_prometheus(series) as (url, asked):
        source = PrometheusSource(url, SELECTOR)
        assert source.instant()["memory_bytes"] == (BASE_KIB + KIB_PER_SESSION * 100) * 1024
        observer = PrometheusCostObserver("ingress-nginx", source)
        observer.begin()
        cost = observer.finish({"t0_unix_s": t0, "timeline": timeline})["proxy_cost"]
    assert cost["source"] == "prometheus" and cost["queries"] == {"cpu_s": CPU_QUERY, "memory_bytes": MEMORY_QUERY}
    assert cost["cpu_us_per_message"] == pytest.approx(PER_MESSAGE * 1e6, rel=1e-6)
    assert cost["cpu_us_per_upgrade"] == pytest.approx(PER_UPGRADE * 1e6, rel=1e-6)
    assert cost["kib_per_session"] == pytest.approx(KIB_PER_SESSION, rel=1e-6)
    assert cost["idle_cpu_percent"] == pytest.approx(IDLE * 100, rel=1e-3)
    assert cost["basis"]["echoes"] == 1600 * 6 and cost["basis"]["upgrades"] == 100
    assert f"/api/v1/query {CPU_QUERY}" in asked and f"/api/v1/query_range {MEMORY_QUERY}" in asked


def _wsbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wsbench", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd, check=False)


def test_run_records_proxy_cost_from_prometheus_and_the_report_shows_it(tmp_path: Path) -> None:
    """The whole CLI: the embedded echo server as the target, the controller's readings from
    the local Prometheus (a constant 5 % CPU and 64 MiB: nothing per message or session)."""
    series = {CPU_QUERY: lambda t: 0.05 * (t - 1.7e9), MEMORY_QUERY: lambda t: 64 * 1024 * 1024.0}
    with serving_prometheus(series) as (url, asked):
        run = _wsbench("run", "--sessions", "4", "--ramp", "0", "--duration", "4", "--mode", "rate", "--rate", "5",
                       "--processes", "1", "--out", str(tmp_path), "-q",
                       "--cost-from-prometheus", url, SELECTOR, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    result_path = next(tmp_path.glob("*/result.json"))
    [target] = json.loads(result_path.read_text())["targets"].values()
    cost = target["proxy_cost"]
    assert cost["source"] == "prometheus" and cost["samples"]["t_s"][0] < 0 < cost["samples"]["t_s"][-1]
    assert cost["cpu_us_per_message"] == pytest.approx(0.0, abs=1e-6)
    assert cost["kib_per_session"] == pytest.approx(0.0, abs=1e-6)
    assert cost["rss_kib"]["peak"] == 64 * 1024
    assert any(line.startswith("/api/v1/query_range ") for line in asked)
    assert "(Prometheus)" in (result_path.parent / "report.html").read_text()


@pytest.mark.parametrize(("selector", "line"), [
    ("container_cpu_usage_seconds_total", "--cost-from-prometheus: QUERY must be a label selector"),
    ('{namespace="elsewhere"}', "matched no series"),
])
def test_a_bad_query_is_one_line_and_exit_2_before_the_run(tmp_path: Path, selector: str, line: str) -> None:
    with serving_prometheus({CPU_QUERY: lambda t: 1.0, MEMORY_QUERY: lambda t: 1.0}) as (url, _):
        run = _wsbench("run", "--duration", "1", "--out", str(tmp_path), "--cost-from-prometheus", url, selector,
                       cwd=tmp_path)
    assert run.returncode == 2, run.stderr
    assert line in run.stderr and run.stderr.count("\n") == 1, run.stderr
    assert not list(tmp_path.glob("*/result.json"))
