"""The conformance result: JSON (``wsbench/conform@1``), JUnit XML and a terminal table.

Pure code: renders only from the result data, so a saved ``conform.json`` can be
rendered again later. JSON keys are a contract like the load Result's: add freely,
rename or remove only with a new schema.

    {"schema": "wsbench/conform@1", "complete": true, "url": "ws://...",
     "target": "nginx",                      # only in a lab run: the target's label
     "started_at": "ISO-8601", "duration_s": 1.5, "options": {...},
     "cases": {"1.1.1": {"group": "Framing", "description": "...", "expectation": "...",
                         "verdict": "OK", "close": "OK", "reason": "...",
                         "duration_ms": 1.2, "observed": {...}, "wire_log": ["..."],
                         "source": "crossbario/autobahn-testsuite .../case1_1_1.py",
                         "timing_dependent": false,
                         "wsbench_checks": {"server-frames": {"verdict": "OK", "reason": "..."}}}},
     "wsbench_probes": {"wsbench.close-1012": {...as a case...}},
     "summary": {"total": 301, "verdicts": {"OK": 290, ...}, "close": {...},
                 "groups": {"1": {"name": "Framing", "total": 16, "OK": 16, ...,
                                  "wsbench_checks": {"OK": 16, "NON-STRICT": 0, "FAILED": 0}}},
                 "failed": ["3.1", ...],
                 "wsbench_checks": {"total": 530, "verdicts": {...}, "failed": ["7.9.1 server-frames"]}}}

``verdict`` and ``close`` are Autobahn|Testsuite's judgement of the case; the
``wsbench_checks`` (and ``wsbench_probes``) are wsbench's own stricter checks
(:mod:`wsbench.conform.checks`) and never change it.

``INVALID`` (not one of Autobahn's words) is a case of a ``conform --lab`` target whose lab
broke while it ran (:mod:`wsbench.conform.lab_failure`): not the controller's verdict. Such
a target's JSON has ``infrastructure`` (``{"ok": false, "events": [...]}``).

``close`` is ``N/A`` for the ingress checks (no close behaviour is judged there);
their ``observed`` starts with ``value``, the measurement in a few words.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET

from wsbench.conform.model import Verdict
from wsbench.result.infrastructure import LAB_FAILURE, lab_failure_lines

__all__ = ["SCHEMA", "INVALID", "CaseResult", "ConformResult", "render_table", "to_junit_xml",
           "lab_failure_text"]

SCHEMA = "wsbench/conform@1"
#: a case measured while the lab itself was broken: not the controller's verdict
INVALID = "INVALID"
_VERDICTS = [v.value for v in Verdict]
_CHECK_VERDICTS = [Verdict.OK.value, Verdict.NON_STRICT.value, Verdict.FAILED.value]


@dataclass(frozen=True)
class CaseResult:
    id: str
    group: str
    description: str
    expectation: str
    verdict: str
    close: str
    reason: str
    duration_ms: float = 0.0
    observed: Mapping[str, Any] = field(default_factory=dict)
    wire_log: list[str] = field(default_factory=list)
    #: the Autobahn|Testsuite file the case mirrors ("" for wsbench's own)
    source: str = ""
    timing_dependent: bool = False
    #: wsbench check name -> {"verdict": ..., "reason": ...}
    checks: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: ``conform --lab``: when the case ended, in s from its target's start
    ended_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "group": self.group, "description": self.description,
            "expectation": self.expectation, "verdict": self.verdict, "close": self.close,
            "reason": self.reason, "duration_ms": self.duration_ms,
            "observed": dict(self.observed), "wire_log": list(self.wire_log),
        }
        if self.source:
            data["source"] = self.source
            data["timing_dependent"] = self.timing_dependent
        if self.checks:
            data["wsbench_checks"] = {name: dict(c) for name, c in self.checks.items()}
        if self.ended_s is not None:
            data["ended_s"] = self.ended_s
        return data


@dataclass(frozen=True)
class ConformResult:
    url: str
    complete: bool
    started_at: float
    duration_s: float
    options: Mapping[str, Any]
    cases: Mapping[str, CaseResult]
    #: the target's label in a lab run (``pod``, ``nginx``, ...)
    target: str | None = None
    #: the wsbench checks that run on connections of their own (close codes 1012-1014)
    probes: Mapping[str, CaseResult] = field(default_factory=dict)
    #: ``conform --lab``: what the lab supervisor saw while this target ran
    infrastructure: Mapping[str, Any] | None = None

    @property
    def lab_failed(self) -> bool:
        return self.infrastructure is not None and self.infrastructure.get("ok", True) is False

    @property
    def failed(self) -> list[str]:
        return [cid for cid, r in self.cases.items() if r.verdict == Verdict.FAILED]

    def verdicts(self) -> dict[str, str]:
        return {cid: r.verdict for cid, r in self.cases.items()}

    def wsbench_checks(self) -> list[tuple[str, str, str, str]]:
        """Every wsbench check: ``(case id or probe id, group number, name, verdict)``."""
        rows = [(cid, cid.split(".")[0], name, str(check.get("verdict")))
                for cid, r in self.cases.items() for name, check in r.checks.items()]
        rows += [(pid, "7", pid.removeprefix("wsbench."), r.verdict)
                 for pid, r in self.probes.items()]
        return rows

    def failed_checks(self) -> list[str]:
        return [f"{cid} {name}" if not cid.startswith("wsbench.") else cid
                for cid, _, name, verdict in self.wsbench_checks() if verdict == Verdict.FAILED]

    def summary(self) -> dict[str, Any]:
        verdicts = dict.fromkeys(_VERDICTS, 0)
        closes: dict[str, int] = {}
        groups: dict[str, dict[str, Any]] = {}
        for cid, r in self.cases.items():
            verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
            closes[r.close] = closes.get(r.close, 0) + 1
            number = cid.split(".")[0]
            row = groups.setdefault(number, {"name": r.group, "total": 0,
                                             **dict.fromkeys(_VERDICTS, 0)})
            row["total"] += 1
            row[r.verdict] = row.get(r.verdict, 0) + 1
        checks = dict.fromkeys(_CHECK_VERDICTS, 0)
        for _, number, _, verdict in self.wsbench_checks():
            checks[verdict] = checks.get(verdict, 0) + 1
            if number in groups:
                per_group = groups[number].setdefault("wsbench_checks", dict.fromkeys(_CHECK_VERDICTS, 0))
                per_group[verdict] = per_group.get(verdict, 0) + 1
        return {"total": len(self.cases), "verdicts": verdicts, "close": closes,
                "groups": groups, "failed": self.failed,
                "wsbench_checks": {"total": sum(checks.values()), "verdicts": checks,
                                   "failed": self.failed_checks()}}

    def to_json(self) -> dict[str, Any]:
        started = dt.datetime.fromtimestamp(self.started_at, dt.UTC).isoformat()
        return {
            "schema": SCHEMA, "complete": self.complete, "url": self.url,
            **({"target": self.target} if self.target is not None else {}),
            "started_at": started, "duration_s": round(self.duration_s, 3),
            "options": dict(self.options),
            "cases": {cid: r.to_json() for cid, r in self.cases.items()},
            **({"wsbench_probes": {pid: r.to_json() for pid, r in self.probes.items()}}
               if self.probes else {}),
            **({"infrastructure": dict(self.infrastructure)} if self.infrastructure is not None else {}),
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def to_junit_xml(*results: ConformResult) -> str:
    """One ``<testsuite>`` per result (per target), one ``<testcase>`` per case:
    FAILED is a ``<failure>``, UNIMPLEMENTED is ``<skipped>``; then one ``<testcase>``
    per wsbench check (classname ``...wsbench-checks``), a FAILED check a ``<failure>``."""
    total = sum(len(r.cases) + len(r.wsbench_checks()) for r in results)
    failures = sum(len(r.failed) + len(r.failed_checks()) for r in results)
    duration = sum(r.duration_s for r in results)
    suites = ET.Element("testsuites", name="wsbench conform", tests=str(total),
                        failures=str(failures), time=f"{duration:.3f}")
    for result in results:
        _suite(suites, result)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _suite(parent: ET.Element, result: ConformResult) -> None:
    failures = len(result.failed) + len(result.failed_checks())
    skipped = sum(1 for r in result.cases.values() if r.verdict in (Verdict.UNIMPLEMENTED, INVALID))
    label = f"{result.target} {result.url}" if result.target else result.url
    tests = len(result.cases) + len(result.wsbench_checks())
    suite = ET.SubElement(parent, "testsuite", name=f"conform {label}",
                          tests=str(tests), failures=str(failures),
                          skipped=str(skipped), errors="0", time=f"{result.duration_s:.3f}")
    prefix = f"conform.{result.target}." if result.target else "conform."
    for cid, r in result.cases.items():
        group = r.group.lower().replace("/", "-").replace(" ", "-").replace("(", "").replace(")", "")
        testcase = ET.SubElement(suite, "testcase", classname=f"{prefix}{group}",
                                 name=f"{cid} {r.description}"[:200],
                                 time=f"{r.duration_ms / 1000:.3f}")
        if r.verdict == Verdict.FAILED:
            failure = ET.SubElement(testcase, "failure", message=r.reason, type="FAILED")
            failure.text = "\n".join([f"expected: {r.expectation}", f"close: {r.close}",
                                      *r.wire_log])
        elif r.verdict in (Verdict.UNIMPLEMENTED, INVALID):
            ET.SubElement(testcase, "skipped", message=r.reason)
        else:
            out = ET.SubElement(testcase, "system-out")
            out.text = f"{r.verdict} (close {r.close}): {r.reason}"
    _check_cases(suite, result, prefix)


def _check_cases(suite: ET.Element, result: ConformResult, prefix: str) -> None:
    """The wsbench checks as testcases of their own, apart from Autobahn's verdicts."""
    for cid, r in result.cases.items():
        for name, check in r.checks.items():
            _check_case(suite, f"{prefix}wsbench-checks", f"{name} ({cid})",
                        str(check.get("verdict")), str(check.get("reason", "")))
    for pid, r in result.probes.items():
        _check_case(suite, f"{prefix}wsbench-checks", f"{pid.removeprefix('wsbench.')} "
                    f"{r.description}"[:200], r.verdict, f"close {r.close}: {r.reason}")


def _check_case(suite: ET.Element, classname: str, name: str, verdict: str, reason: str) -> None:
    testcase = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0.000")
    if verdict == Verdict.FAILED:
        ET.SubElement(testcase, "failure", message=reason, type="FAILED")
    else:
        out = ET.SubElement(testcase, "system-out")
        out.text = f"{verdict}: {reason}"


def render_table(result: ConformResult, *, failed_limit: int = 30) -> str:
    """A table by group (Autobahn's verdicts, then wsbench's own checks in their own
    column), then the failed cases and checks with their one-line reasons."""
    summary = result.summary()
    columns = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
    header = (f"{'group':<36}{'cases':>6}" + "".join(f"{c:>15}" for c in columns)
              + f"  {'wsbench checks':<24}")
    lines = [f"wsbench conform {result.url}" + ("" if result.complete else "  (INCOMPLETE)"),
             header, "-" * len(header)]

    def key(number: str) -> tuple[int, str]:
        return (int(number), "") if number.isdigit() else (10_000, number)

    for number in sorted(summary["groups"], key=key):
        row = summary["groups"][number]
        label = f"{number} {row['name']}"[:35]
        lines.append(f"{label:<36}{row['total']:>6}" + "".join(f"{row[c]:>15}" for c in columns)
                     + f"  {_checks_cell(row.get('wsbench_checks', {})):<24}")
    totals = summary["verdicts"]
    lines.append("-" * len(header))
    lines.append(f"{'total':<36}{summary['total']:>6}" + "".join(f"{totals[c]:>15}" for c in columns)
                 + f"  {_checks_cell(summary['wsbench_checks']['verdicts']):<24}")
    failed = summary["failed"]
    if failed:
        lines.append("")
        lines.append(f"FAILED ({len(failed)}):")
        for cid in failed[:failed_limit]:
            lines.append(f"  {cid:<10} {result.cases[cid].reason}")
        if len(failed) > failed_limit:
            lines.append(f"  … and {len(failed) - failed_limit} more (see the JSON result)")
    bad_checks = [(cid, name, check) for cid, r in result.cases.items()
                  for name, check in r.checks.items() if check.get("verdict") != Verdict.OK]
    bad_checks += [(pid, "", {"verdict": r.verdict, "reason": r.reason})
                   for pid, r in result.probes.items() if r.verdict != Verdict.OK]
    if bad_checks:
        lines.append("")
        lines.append(f"wsbench checks not OK ({len(bad_checks)}; wsbench's own rules, not "
                     "Autobahn's verdicts):")
        for cid, name, check in bad_checks[:failed_limit]:
            lines.append(f"  {cid:<10} {name:<14} {check.get('verdict')}: {check.get('reason')}")
        if len(bad_checks) > failed_limit:
            lines.append(f"  … and {len(bad_checks) - failed_limit} more (see the JSON result)")
    lines += lab_failure_text(result.to_json() if result.lab_failed else {})
    lines.append(f"duration {result.duration_s:.1f} s")
    return "\n".join(lines)


def lab_failure_text(data: Mapping[str, Any]) -> list[str]:
    """A conform@1 target's lab failure, for the terminal ([] when its lab held)."""
    infrastructure = data.get("infrastructure")
    if not isinstance(infrastructure, Mapping) or infrastructure.get("ok", True) is not False:
        return []
    label = data.get("target") or data.get("url")
    invalid = infrastructure.get("invalid_cases", 0)
    lines = ["", f"{LAB_FAILURE.upper()}: {label}: {invalid} cases after "
                 f"{float(infrastructure.get('invalid_from_s') or 0):.1f} s are {INVALID}, not the controller's verdicts"]
    lines += [f"  {line}" for line in lab_failure_lines(data)]
    return lines


def _checks_cell(counts: Mapping[str, int]) -> str:
    """``14 OK`` or ``12 OK, 2 NON-STRICT``; ``-`` when the group has none."""
    parts = [f"{counts[v]} {v}" for v in _CHECK_VERDICTS if counts.get(v)]
    return ", ".join(parts) or "-"
