"""Readers take the typed Result or the dict of its file and say the same thing."""

from __future__ import annotations

import re

from tests.report.resultgen import make_result
from wsbench.cli.summary import summary_table
from wsbench.gate import evaluate_gate, to_markdown
from wsbench.report.compare import compare_html
from wsbench.report.render import report_html
from wsbench.result.model import Result


def _page(html: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "", html)


def test_report_gate_compare_and_summary_read_typed_and_dict_alike(real_runs):
    data = make_result(thresholds=["rtt.p99 < 2ms"])
    typed = Result.from_json(data)
    assert _page(report_html(data)) == _page(report_html(typed))
    assert summary_table(data) == summary_table(typed)
    gate = {"thresholds": ["sessions.dropped == 0"], "baseline": real_runs["runs"][2]["result"], "resamples": 200}
    assert to_markdown(evaluate_gate(data, **gate)) == to_markdown(evaluate_gate(typed, **gate))
    merged = real_runs["merged"]
    assert _page(compare_html([("a", data), ("m", merged)], resamples=200)) == _page(
        compare_html([("a", typed), ("m", Result.from_json(merged))], resamples=200))
