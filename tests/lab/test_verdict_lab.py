"""The ranked verdict on a disruption whose outcome differs by controller (real proxies).

A pod restart behind the lab's nginx and Traefik (as shipped): nginx retries the next peer,
Traefik answers some new sessions with 502 while the pod is gone (LAB-FACTS.md). The
verdict must name nginx first and Traefik last, quoting the 502s; a second run of nginx
must compare as the same as the first. compare.html is then checked in Chromium.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from wsbench.lab import missing_proxies

PROXIES = ("nginx", "traefik")
RUN = [sys.executable, "-m", "wsbench", "run", "-q", "--processes", "1", "--sessions", "90", "--duration", "10",
       "--rate", "2", "--disrupt", "pod-restart@4s:pod-1"]
pytestmark = pytest.mark.skipif(bool(missing_proxies(PROXIES)), reason="; ".join(missing_proxies(PROXIES).values()))


def _run(tmp_path, name, proxies):
    done = subprocess.run([*RUN, "--lab", proxies, "--out", str(tmp_path / name)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = (tmp_path / name).glob("*/result.json")
    return path, done.stdout


@pytest.mark.xfail(strict=False, reason="two runs of one controller can differ in RTT p99 beyond the "
                   "noise model on this 2-core machine (issue 12 follow-up)")
def test_traefiks_502s_rank_it_last_and_two_nginx_runs_are_the_same(tmp_path):
    first, out = _run(tmp_path, "a", ",".join(PROXIES))
    data = json.loads(first.read_text())
    failures = data["targets"]["traefik"]["disruptions"][0]["upgrade_failures"]
    assert failures.get("http_502", 0) >= 5, failures  # the ground truth this test stands on
    assert data["targets"]["nginx"]["disruptions"][0]["upgrade_failures"] == {}
    verdict = out[out.index("verdict: "):]
    assert verdict.startswith("verdict: nginx first; traefik last")
    assert re.search(rf"2\. traefik: {failures['http_502']} × HTTP 502 during pod-restart@4s:pod-1 \(nginx: none\)",
                     verdict), verdict
    assert "pod-restart@4s:pod-1: " in out and "× HTTP 502" in out  # the disruption line of the summary
    window = data["targets"]["traefik"]["disruptions"][0]["timeline_100ms"]
    assert sum(window["http_5xx"]) == failures["http_502"]  # the 100 ms view holds every one of them
    assert min(t for t, n in zip(window["t_s"], window["http_5xx"], strict=True) if n) >= 0.0

    second, _ = _run(tmp_path, "b", "nginx")
    compared = subprocess.run([sys.executable, "-m", "wsbench", "compare", str(first), str(second),
                               "-o", str(tmp_path / "compare.html")], capture_output=True, text=True, timeout=120)
    assert compared.returncode == 0, compared.stderr
    lines = compared.stdout.splitlines()
    ranks = {line.split(". ", 1)[1].split(":", 1)[0]: line.split(".", 1)[0].strip() for line in lines[1:4]}
    nginx_a, nginx_b = (label for label in ranks if label.startswith("nginx"))
    assert ranks[nginx_a] == ranks[nginx_b] == "1", compared.stdout  # the same controller twice: the same
    assert ranks["traefik"] == "3"
    _check_pages_in_chromium(tmp_path / "compare.html", first.with_name("report.html"))


def _check_pages_in_chromium(compare_page, report_page):
    """Scripted hover, toggle and zoom on the aligned disruption chart; no console errors."""
    from tests.report.browser import Browser, chromium_path
    from tests.report.conftest import ARTIFACTS
    from tests.report.test_report_browser import INTERACT, assert_clean

    binary = chromium_path()
    if binary is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); CI installs it")
    ARTIFACTS.mkdir(exist_ok=True)
    chart = "disruption-0-pod-restart-4s-pod-1"
    with Browser(binary) as browser:
        for page, shot in ((compare_page, "compare-lab-disruption.png"), (report_page, "report-lab-disruption.png")):
            visit = browser.visit(page, script=INTERACT % chart)
            assert_clean(visit)
            assert "Verdict: nginx" in visit.text and "traefik last" in visit.text
            seen = json.loads(browser.evaluate(page, INTERACT % chart))
            assert seen["tip"].startswith("s from it: ") and "echoes/s: " in seen["tip"], seen
            assert seen["zoomed"] and seen["unzoomed"] and seen["pressed"] == "false"
            (ARTIFACTS / shot).write_bytes(visit.screenshot_png)
