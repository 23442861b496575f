"""Report and comparison pages in headless Chromium, from file://.

No console errors, no network (or other file) requests, the Result's key numbers visible,
sortable tables that sort; a screenshot of each page lands in test-artifacts/.
"""

from __future__ import annotations

import json

from wsbench.gate import evaluate_gate
from wsbench.report.compare import render_compare
from wsbench.report.render import render_report


def assert_clean(visit):
    assert visit.console_errors == []
    assert visit.foreign_requests == []
    assert visit.requests == [visit.url]  # the page itself, nothing else


def test_report_page(browser, tmp_path, full_result, resultgen, artifacts):
    page = render_report(full_result, tmp_path / "report.html", verdict=evaluate_gate(full_result),
                         conformance=[("nginx", resultgen.make_conformance())])
    visit = browser.visit(page)
    assert_clean(visit)
    for name, target in full_result["targets"].items():
        assert name in visit.text and target["url"] in visit.text
        assert f"{target['rtt']['p99']:.2f} ms" in visit.text
        assert f"{target['upgrade']['total']['p50']:.2f} ms" in visit.text
    assert "Gate failed: 1 of 2 checks" in visit.text
    assert "pod-restart" in visit.text
    (artifacts / "report.png").write_bytes(visit.screenshot_png)
    assert visit.screenshot_png.startswith(b"\x89PNG")


def test_partial_report_says_so_first(browser, tmp_path, resultgen, artifacts):
    page = render_report(resultgen.make_result(complete=False, saturated=True), tmp_path / "partial.html")
    visit = browser.visit(page)
    assert_clean(visit)
    first = json.loads(browser.evaluate(page, """(() => {
      const first = document.querySelector('main').firstElementChild;
      return JSON.stringify({text: first.innerText, top: first.getBoundingClientRect().top});
    })()"""))
    assert first["text"].startswith("⚠ Partial result (complete: false)")
    assert first["top"] < 300  # visible without scrolling
    assert "Load generator saturated" in visit.text
    (artifacts / "report-partial.png").write_bytes(visit.screenshot_png)


def test_tables_sort_when_a_header_is_clicked(browser, tmp_path, full_result):
    page = render_report(full_result, tmp_path / "report.html")
    script = """(() => {
      const table = document.getElementById('rtt-table');
      const p99 = [...table.tHead.rows[0].cells].findIndex(th => th.textContent.trim().startsWith('p99'));
      const values = () => [...table.tBodies[0].rows].map(r => r.cells[0].textContent);
      const before = values();
      table.tHead.rows[0].cells[p99].click();
      const ascending = values();
      table.tHead.rows[0].cells[p99].click();
      return JSON.stringify({before, ascending, descending: values(),
                             sort: table.tHead.rows[0].cells[p99].getAttribute('aria-sort')});
    })()"""
    order = json.loads(browser.evaluate(page, script))
    assert order["before"] == ["nginx", "envoy", "haproxy"]
    assert order["ascending"] == ["envoy", "haproxy", "nginx"]
    assert order["descending"] == ["nginx", "haproxy", "envoy"]
    assert order["sort"] == "descending"


def test_compare_page(browser, tmp_path, full_result, resultgen, artifacts):
    other = resultgen.make_result(seed=9, run_id="rerun")
    page = render_compare([("baseline", full_result), ("rerun", other)], tmp_path / "compare.html", resamples=300)
    visit = browser.visit(page)
    assert_clean(visit)
    assert "nginx · baseline p99 RTT" in visit.text and "within noise" in visit.text
    assert f"{other['targets']['envoy']['rtt']['p99']:.2f} ms" in visit.text
    (artifacts / "compare.png").write_bytes(visit.screenshot_png)


#: Hover over a chart, toggle its first series off, drag to zoom: what a user does with the mouse.
INTERACT = """(() => {
  const fig = document.getElementById(%r);
  const body = fig.querySelector('.chart-body');
  const at = (fraction) => {
    const box = fig.querySelector('rect.overlay').getBoundingClientRect();
    return {clientX: box.left + box.width * fraction, clientY: box.top + box.height / 2, bubbles: true};
  };
  const fire = (type, fraction) => fig.querySelector('rect.overlay').dispatchEvent(new MouseEvent(type, at(fraction)));
  const out = {};
  const toggle = fig.querySelector('.chart-toggle');
  out.series = fig.querySelectorAll('path.series').length;
  toggle.click();
  out.pressed = toggle.getAttribute('aria-pressed');
  out.hidden = fig.querySelectorAll('path.series').length;
  toggle.click();
  fire('mousedown', 0.3); fire('mousemove', 0.45); fire('mouseup', 0.6);
  out.zoomed = !fig.querySelector('.chart-reset').hidden;
  fire('dblclick', 0.5);
  out.unzoomed = fig.querySelector('.chart-reset').hidden;
  fire('mousemove', 0.5);
  const tip = fig.querySelector('.chart-tip');
  out.tip = tip.hidden ? '' : tip.innerText;
  return JSON.stringify(out);
})()"""


def interact(browser, page, chart_id):
    visit = browser.visit(page, script=INTERACT % chart_id)  # leaves the tooltip up for the screenshot
    assert_clean(visit)
    return visit, json.loads(browser.evaluate(page, INTERACT % chart_id))


def test_report_charts_hover_toggle_and_zoom(browser, tmp_path, full_result, artifacts):
    page = render_report(full_result, tmp_path / "report.html")
    visit, seen = interact(browser, page, "rtt-cdf")
    assert seen["series"] == 3 and seen["pressed"] == "false" and seen["hidden"] == 2
    assert seen["zoomed"] and seen["unzoomed"]
    assert seen["tip"].startswith("RTT ms: ") and "nginx: " in seen["tip"]  # a value per target at that RTT
    assert "Verdict: envoy first" in visit.text  # several targets: the ranked verdict on top
    (artifacts / "report-hover.png").write_bytes(visit.screenshot_png)
    timeline = json.loads(browser.evaluate(page, INTERACT % "timeline-0-nginx"))
    assert "open sessions: " in timeline["tip"] and "RTT p99 (ms): " in timeline["tip"]
