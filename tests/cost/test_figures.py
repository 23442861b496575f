"""Proxy cost figures from per-second readings and a timeline (pure, made-up numbers)."""

from __future__ import annotations

import pytest

from wsbench.cost.figures import proxy_cost
from wsbench.cost.pinning import split_cores

IDLE = 0.001  # s of CPU per s while idle
PER_UPGRADE = 200e-6
PER_MESSAGE = 20e-6
KIB_PER_SESSION = 12.0


def _run(opens_per_s: list[int], echoes_per_s: list[int], *, late: dict[int, float] | None = None):
    """Readings a proxy with the costs above would give (at whole seconds, or ``late`` by that
    much), and the timeline the workers count."""
    rates, rss_at, open_now, opened = [], [10_000.0], 0, []
    for opens, echoes in zip(opens_per_s, echoes_per_s, strict=True):
        rates.append(IDLE + opens * PER_UPGRADE + echoes * PER_MESSAGE)
        open_now += opens
        opened.append(open_now)
        rss_at.append(10_000 + KIB_PER_SESSION * open_now)

    def cpu(t: float) -> float:  # cumulative CPU: idle before 0, each second at its own rate
        if t <= 0:
            return 5.0 + IDLE * t
        whole = min(int(t), len(rates))
        return 5.0 + sum(rates[:whole]) + (t - whole) * (rates[whole] if whole < len(rates) else IDLE)

    times = [-0.6, -0.1] + [second + (late or {}).get(second, 0.0) for second in range(len(rates) + 1)]
    samples = [{"t_s": t, "cpu_s": cpu(t), "rss_kib": rss_at[max(0, min(int(t), len(rates)))]} for t in times]
    timeline = {"t_s": [float(t) for t in range(1, len(opened) + 1)], "open": opened,
                "messages_per_s": echoes_per_s}
    return samples, {"timeline": timeline}


def test_figures_recover_the_costs_that_made_the_readings():
    samples, target = _run([100, 100, 0, 0, 0], [500, 1500, 2000, 2000, 2000], late={3: 0.3})
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
