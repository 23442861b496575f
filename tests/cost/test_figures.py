"""Proxy cost figures from per-second readings and a timeline (pure, made-up numbers)."""

from __future__ import annotations

import pytest

from wsbench.cost.figures import proxy_cost
from wsbench.cost.pinning import split_cores

IDLE = 0.001  # s of CPU per s while idle
PER_UPGRADE = 200e-6
PER_MESSAGE = 20e-6
KIB_PER_SESSION = 12.0


def _run(opens_per_s: list[int], echoes_per_s: list[int]):
    """Readings a proxy with the costs above would give, and the timeline the workers count."""
    samples = [{"t_s": -0.6, "cpu_s": 5.0, "rss_kib": 10_000}, {"t_s": -0.1, "cpu_s": 5.0 + IDLE * 0.5,
                                                                  "rss_kib": 10_000}]
    cpu, open_now, opened = 5.0 + IDLE * 0.6, 0, []
    samples.append({"t_s": 0.002, "cpu_s": cpu, "rss_kib": 10_000})
    for second, (opens, echoes) in enumerate(zip(opens_per_s, echoes_per_s, strict=True), start=1):
        cpu += IDLE + opens * PER_UPGRADE + echoes * PER_MESSAGE
        open_now += opens
        opened.append(open_now)
        samples.append({"t_s": second + 0.003, "cpu_s": cpu, "rss_kib": 10_000 + KIB_PER_SESSION * open_now})
    timeline = {"t_s": [float(t) for t in range(1, len(opened) + 1)], "open": opened,
                "messages_per_s": echoes_per_s}
    return samples, {"timeline": timeline}


def test_figures_recover_the_costs_that_made_the_readings():
    samples, target = _run([100, 100, 0, 0, 0], [500, 1500, 2000, 2000, 2000])
    cost = proxy_cost(samples, target)
    assert cost["cpu_us_per_message"] == pytest.approx(PER_MESSAGE * 1e6, rel=1e-3)
    assert cost["cpu_us_per_upgrade"] == pytest.approx(PER_UPGRADE * 1e6, rel=1e-3)
    assert cost["kib_per_session"] == pytest.approx(KIB_PER_SESSION)
    assert cost["idle_cpu_percent"] == pytest.approx(IDLE * 100, rel=1e-2)
    assert cost["basis"] == {"steady_seconds": 3, "echoes": 6000, "opening_seconds": 2, "upgrades": 200,
                             "sessions_at_peak": 200}


def test_what_the_run_cannot_give_is_none():
    samples, target = _run([50, 50], [100, 200])  # no steady second: no per-message figure
    cost = proxy_cost(samples, target)
    assert cost["cpu_us_per_message"] is None and cost["cpu_us_per_upgrade"] is None
    assert cost["kib_per_session"] == pytest.approx(KIB_PER_SESSION)
    assert proxy_cost([], {"timeline": {}})["cpu_s"] is None


def test_cores_split_between_generator_and_lab():
    assert split_cores([0]) is None
    assert split_cores([1, 0]) == ([0], [1])
    assert split_cores(range(8)) == ([0, 1, 2, 3], [4, 5, 6, 7])
