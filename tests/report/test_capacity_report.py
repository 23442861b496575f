"""The capacity page (report.html beside capacity.json): rendered from the file, checked in
headless Chromium — no console errors, no requests, the verdicts, one plot per SLO with its
SLO line and knee, the steps and the proxy cost."""

from __future__ import annotations

import json

from wsbench.capacity.result import CAPACITY_SCHEMA, target_capacity
from wsbench.capacity.search import SearchPlan, run_search
from wsbench.report.capacity import capacity_html, render_capacity_report

SLOS = ("rtt.p99 < 50ms", "sessions.dropped == 0")


class Saturated(Exception):
    """The simulated generator gave out: the driver stops the search there."""


def _target(knee: int, *, saturate_at: float | None = None) -> dict:
    """A target whose rtt rises past 50 ms above ``knee`` sessions (the generator gives out at
    ``saturate_at``)."""
    plan = SearchPlan(start=10, factor=2, maximum=400, precision=0.05)
    curve: list[dict] = []

    def judge(load: float) -> bool:
        rtt = 3.0 + load / 20 if load <= knee else 120.0 + load / 10
        readings = [
            {"slo": SLOS[0], "target": "t", "passed": rtt < 50, "observed": rtt, "limit": 50.0,
             "shown": f"{rtt:.2f} ms", "note": ""},
            {"slo": SLOS[1], "target": "t", "passed": True, "observed": 0.0, "limit": 0.0, "shown": "0", "note": ""},
        ]
        saturated = saturate_at is not None and load >= saturate_at
        curve.append({"load": load, "passed": rtt < 50, "saturated": saturated,
                      "saturation_reasons": ["event-loop lag p99 31.0 ms > 20 ms"] if saturated else [],
                      "readings": readings, "machine_cpu_percent": 55.0, "result": f"steps/s{len(curve)}/result.json",
                      "proxy_cost": {"cpu_us_per_message": 31.3, "cpu_us_per_upgrade": 198.3,
                                     "kib_per_session": 41.6, "cpu_s": 0.16}})
        if saturated:
            raise Saturated
        return rtt < 50

    try:
        _, outcome = run_search(plan, judge)
        return target_capacity(over="sessions", plan=plan, curve=curve, outcome=outcome)
    except Saturated:
        return target_capacity(over="sessions", plan=plan, curve=curve, outcome=None, stopped="generator-limit")


def capacity_doc() -> dict:
    return {"schema": CAPACITY_SCHEMA, "run_id": "20250101-120000-capacity", "started_at": "2025-01-01T12:00:00+00:00",
            "complete": True, "over": "sessions", "unit": "sessions", "slo": list(SLOS),
            "plan": {"start": 10, "factor": 2, "maximum": 400, "precision": 0.05, "max_steps": None, "bound": 11},
            "hold_s": 5, "pinning": {"pinned": True, "note": "generator workers on core(s) [0]; proxies and pods on [1]"},
            "targets": {"nginx": _target(150), "envoy": _target(90), "traefik": _target(400, saturate_at=160)}}


def test_capacity_page_in_chromium(browser, tmp_path, artifacts):
    capacity = capacity_doc()
    (tmp_path / "capacity.json").write_text(json.dumps(capacity))
    page = render_capacity_report(json.loads((tmp_path / "capacity.json").read_text()), tmp_path / "report.html")
    visit = browser.visit(page)
    assert visit.console_errors == [] and visit.requests == [visit.url]
    nginx, envoy = capacity["targets"]["nginx"], capacity["targets"]["envoy"]
    assert nginx["capacity"] <= 150 < nginx["lowest_fail"] and envoy["capacity"] <= 90 < envoy["lowest_fail"]
    for entry in (nginx, envoy):
        assert entry["summary"] in visit.text
    assert "traefik: generator limit, not the target's" in visit.text and "--shard" in visit.text
    assert "Proxy cost" in visit.text and "198.3" in visit.text
    assert "generator workers on core(s) [0]" in visit.text
    figures = json.loads(browser.evaluate(page, """JSON.stringify([...document.querySelectorAll('#curves figure')].map(f => ({
        caption: f.querySelector('figcaption').innerText,
        text: [...f.querySelectorAll('svg text')].map(t => t.textContent).join(' | '),
        width: f.querySelector('svg').getBoundingClientRect().width})))"""))
    assert [f["caption"].split(":")[0] for f in figures] == list(SLOS)
    rtt = figures[0]
    assert "SLO 50" in rtt["text"]  # the SLO line
    assert f"knee {nginx['capacity']:g}" in rtt["text"] and f"knee {envoy['capacity']:g}" in rtt["text"]
    assert "load (sessions)" in rtt["text"] and rtt["width"] > 300
    (artifacts / "capacity-report.png").write_bytes(visit.screenshot_png)


def test_capacity_page_without_readings_still_renders():
    capacity = capacity_doc()
    for entry in capacity["targets"].values():
        for point in entry["curve"]:
            point["readings"] = []
    html = capacity_html(capacity)
    assert "No SLO reading to plot." in html
