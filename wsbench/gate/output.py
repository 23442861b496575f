"""Render a :class:`GateVerdict` as Markdown (stdout, ``$GITHUB_STEP_SUMMARY``) and JUnit XML.

Pure: verdicts in, strings out; the CLI writes them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wsbench.result.verdict import Check, GateVerdict

__all__ = ["to_markdown", "to_junit"]

_KIND_TITLE = {"validity": "validity", "threshold": "threshold", "regression": "regression"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(verdict: GateVerdict) -> str:
    """A GitHub-flavoured Markdown summary: a headline, warnings, one table row per observation."""
    failed = len(verdict.failed_checks)
    total = len(verdict.checks)
    run = f"run `{verdict.run_id}`" if verdict.run_id else "this run"
    if verdict.baseline_run_id is not None:
        run += f" against baseline `{verdict.baseline_run_id}`" if verdict.baseline_run_id else " against the baseline"
    rows, failed_rows = len(verdict.rows), len(verdict.failed_rows)
    if verdict.passed:
        head = f"## ✅ wsbench gate passed: {total} of {total} checks, {rows} of {rows} rows ({run})"
    else:
        head = (f"## ❌ wsbench gate failed: {failed} of {total} checks failed, {failed_rows} of {rows} rows "
                f"({run})")
    lines = [head, ""]
    for warning in verdict.warnings:
        lines.append(f"> ⚠️ {_cell(warning)}")
    if verdict.warnings:
        lines.append("")
    lines += [
        "| | Check | Kind | Subject | Observed | Limit | Note |",
        "|---|---|---|---|---|---|---|",
    ]
    for check in verdict.checks:
        rows = check.observations or ()
        if not rows:
            lines.append(f"| ❌ | `{_cell(check.name)}` | {check.kind} | – | – | – | no data: no targets |")
        for obs in rows:
            mark = "✅" if obs.passed else "❌"
            lines.append(
                f"| {mark} | `{_cell(check.name)}` | {_KIND_TITLE[check.kind]} | {_cell(obs.subject)} "
                f"| {_cell(obs.observed)} | {_cell(obs.expected)} | {_cell(obs.note)} |"
            )
    return "\n".join(lines) + "\n"


def _details(check: Check) -> str:
    return "\n".join(
        f"{'PASS' if o.passed else 'FAIL'} {o.subject}: {o.observed} (limit {o.expected})"
        + (f" - {o.note}" if o.note else "")
        for o in check.observations
    ) or "no data: no targets"


def to_junit(verdict: GateVerdict, *, suite_name: str = "wsbench gate") -> str:
    """JUnit XML: one ``testcase`` per check (threshold, regression limit, validity rule)."""
    suites = ET.Element("testsuites", name="wsbench")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=str(len(verdict.checks)),
        failures=str(len(verdict.failed_checks)),
        errors="0",
        skipped="0",
    )
    if verdict.run_id:
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="run_id", value=verdict.run_id)
        if verdict.baseline_run_id:
            ET.SubElement(properties, "property", name="baseline_run_id", value=verdict.baseline_run_id)
    for check in verdict.checks:
        case = ET.SubElement(suite, "testcase", classname=f"wsbench.gate.{check.kind}", name=check.name)
        details = _details(check)
        if not check.passed:
            first = check.failures[0] if check.failures else None
            message = (
                f"{first.subject}: {first.observed} (limit {first.expected})"
                + (f" - {first.note}" if first.note else "")
                if first
                else "no data: no targets"
            )
            failure = ET.SubElement(case, "failure", message=message, type=check.kind)
            failure.text = details
        ET.SubElement(case, "system-out").text = details
    for warning in verdict.warnings:
        ET.SubElement(suite, "system-err").text = warning
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
