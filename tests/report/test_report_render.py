"""Report and comparison pages from Result dicts, without a browser."""

from __future__ import annotations

import copy
import re

import pytest

from wsbench.errors import UsageError
from wsbench.gate import evaluate_gate
from wsbench.report.compare import compare_entries, compare_html, entries_of, verdict_text
from wsbench.report.render import render_report, report_html


def text_of(html):
    """Visible-ish text: tags, styles and scripts removed."""
    html = re.sub(r"<(style|script|svg)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_full_report_has_every_section_and_key_numbers(full_result, resultgen):
    verdict = evaluate_gate(full_result)
    html = report_html(full_result, verdict=verdict, conformance=[("nginx", resultgen.make_conformance())])
    text = text_of(html)
    for heading in ("Summary per target", "Upgrade: DNS, TCP, TLS, HTTP", "Message round-trip time", "Timeline",
                    "Closes and upgrade failures", "Disruptions: blast radius", "Conformance",
                    "Load generator health", "Fingerprint"):
        assert heading in text
    nginx = full_result["targets"]["nginx"]
    assert f"{nginx['rtt']['p99']:.2f} ms" in text
    assert f"{nginx['upgrade']['total']['p50']:.2f} ms" in text
    assert "gate ✗ failed" in text and "Gate failed: 1 of 2 checks" in text
    assert "2 FAILED" not in text and "1 FAILED" in text  # the conformance matrix
    assert html.count("<svg") == 1  # upgrade phases; the others are interactive charts drawn from JSON
    assert html.count('<figure class="chart wide"') == 2 + 3  # spectrum, CDF, a timeline per target (no 100 ms windows here)
    urls = set(re.findall(r"(?:https?|wss?|ftp)://[^\s\"'<>)&]+", html))
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    targets = {t["url"] for t in full_result["targets"].values()} | set(full_result["scenario"]["targets"].values())
    assert urls - namespaces - targets - {"wss://nginx.lab/echo"} == set()  # nothing to fetch


def test_svg_ids_are_unique_across_the_page(full_result):
    html = report_html(full_result)
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_partial_result_says_so_at_the_top(resultgen):
    html = report_html(resultgen.make_result(complete=False))
    main = html.index("<main>")
    banner = html.index("Partial result (complete: false)")
    assert main < banner < html.index('id="summary"')
    assert "interrupted after 15 s" in text_of(html)


def test_saturated_generator_is_a_visible_warning(resultgen):
    text = text_of(report_html(resultgen.make_result(saturated=True)))
    assert "Load generator saturated" in text and "event-loop lag p99 45.0 ms" in text


@pytest.mark.parametrize(
    "strip",
    [
        ("generator", "scenario", "versions", "lab", "run_id", "started_at", "duration_s", "complete"),
        (),
    ],
)
def test_minimal_results_render(full_result, strip):
    data = copy.deepcopy(full_result)
    for key in strip:
        data.pop(key, None)
    for target in data["targets"].values():
        for key in ("disruptions", "timeline", "closes", "upgrade_failures", "messages"):
            target.pop(key)
        target["upgrade"].pop("dns")
    html = report_html(data)
    assert "No disruptions in this run." in html and "No timeline in this Result." in html
    bare = report_html({"schema": "wsbench/result@1", "targets": {"x": {"url": "ws://x"}}})
    assert "No RTT samples in this Result." in bare
    assert "This Result has no targets." in report_html({"schema": "wsbench/result@1", "targets": {}})


def test_render_report_writes_the_file_atomically(tmp_path, full_result):
    out = render_report(full_result, tmp_path / "deep" / "report.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_compare_labels_references_and_verdicts(full_result, resultgen):
    other = resultgen.make_result(seed=9, run_id="b")
    entries = entries_of([("a", full_result), ("b", other)])
    assert [e.label for e in entries][:3] == ["nginx · a", "envoy · a", "haproxy · a"]
    assert [e.label for e in entries_of([("a", full_result)])] == ["nginx", "envoy", "haproxy"]
    comparisons = compare_entries(entries_of([("a", full_result)]), reference="envoy", resamples=300)
    nginx_p99 = next(c for c in comparisons if c.entry == "nginx" and c.metric == "RTT" and c.statistic == "p99")
    assert re.fullmatch(r"nginx p99 RTT 1\.\d\d× envoy \[1\.\d\d–1\.\d\d\]", nginx_p99.verdict)
    with pytest.raises(UsageError, match="--reference 'istio'"):
        compare_entries(entries, reference="istio")
    rerun = compare_entries(entries_of([("a", full_result), ("b", other)]), resamples=300)
    same = next(c for c in rerun if c.entry == "nginx · b" and c.metric == "RTT" and c.statistic == "p50")
    assert same.verdict.startswith("same: under the practical floor")
    with pytest.raises(UsageError, match="at least two targets"):
        compare_html([("a", resultgen.make_result({"nginx": resultgen.DEFAULT_TARGETS["nginx"]}))])


def test_verdict_text_for_a_faster_entry(full_result):
    comparisons = compare_entries(entries_of([("a", full_result)]), resamples=300)
    envoy = next(c for c in comparisons if c.entry == "envoy" and c.statistic == "p50" and c.metric == "RTT")
    assert envoy.verdict.startswith("nginx p50 RTT ") and envoy.verdict.endswith("]")
    assert verdict_text("x", "y", "RTT", envoy.estimate).startswith("y p50 RTT")
