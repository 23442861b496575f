"""The conformance result: JSON (``wsbench/conform@1``), JUnit XML and a terminal table.

Pure code: renders only from the result data, so a saved ``conform.json`` can be
rendered again later. JSON keys are a contract like the load Result's: add freely,
rename or remove only with a new schema.

    {"schema": "wsbench/conform@1", "complete": true, "url": "ws://...",
     "target": "nginx",                      # only in a lab run: the target's label
     "started_at": "ISO-8601", "duration_s": 1.5, "options": {...},
     "cases": {"1.1.1": {"group": "Framing", "description": "...", "expectation": "...",
                         "verdict": "OK", "close": "OK", "reason": "...",
                         "duration_ms": 1.2, "observed": {...}, "wire_log": ["..."]}},
     "summary": {"total": 301, "verdicts": {"OK": 290, ...}, "close": {...},
                 "groups": {"1": {"name": "Framing", "total": 16, "OK": 16, ...}},
                 "failed": ["3.1", ...]}}

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

__all__ = ["SCHEMA", "CaseResult", "ConformResult", "render_table", "to_junit_xml"]

SCHEMA = "wsbench/conform@1"
_VERDICTS = [v.value for v in Verdict]


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

    def to_json(self) -> dict[str, Any]:
        return {
            "group": self.group, "description": self.description,
            "expectation": self.expectation, "verdict": self.verdict, "close": self.close,
            "reason": self.reason, "duration_ms": self.duration_ms,
            "observed": dict(self.observed), "wire_log": list(self.wire_log),
        }


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

    @property
    def failed(self) -> list[str]:
        return [cid for cid, r in self.cases.items() if r.verdict == Verdict.FAILED]

    def verdicts(self) -> dict[str, str]:
        return {cid: r.verdict for cid, r in self.cases.items()}

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
            row[r.verdict] += 1
        return {"total": len(self.cases), "verdicts": verdicts, "close": closes,
                "groups": groups, "failed": self.failed}

    def to_json(self) -> dict[str, Any]:
        started = dt.datetime.fromtimestamp(self.started_at, dt.UTC).isoformat()
        return {
            "schema": SCHEMA, "complete": self.complete, "url": self.url,
            **({"target": self.target} if self.target is not None else {}),
            "started_at": started, "duration_s": round(self.duration_s, 3),
            "options": dict(self.options),
            "cases": {cid: r.to_json() for cid, r in self.cases.items()},
            "summary": self.summary(),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def to_junit_xml(*results: ConformResult) -> str:
    """One ``<testsuite>`` per result (per target), one ``<testcase>`` per case:
    FAILED is a ``<failure>``, UNIMPLEMENTED is ``<skipped>``."""
    total = sum(len(r.cases) for r in results)
    failures = sum(len(r.failed) for r in results)
    duration = sum(r.duration_s for r in results)
    suites = ET.Element("testsuites", name="wsbench conform", tests=str(total),
                        failures=str(failures), time=f"{duration:.3f}")
    for result in results:
        _suite(suites, result)
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _suite(parent: ET.Element, result: ConformResult) -> None:
    failures = len(result.failed)
    skipped = sum(1 for r in result.cases.values() if r.verdict == Verdict.UNIMPLEMENTED)
    label = f"{result.target} {result.url}" if result.target else result.url
    suite = ET.SubElement(parent, "testsuite", name=f"conform {label}",
                          tests=str(len(result.cases)), failures=str(failures),
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
        elif r.verdict == Verdict.UNIMPLEMENTED:
            ET.SubElement(testcase, "skipped", message=r.reason)
        else:
            out = ET.SubElement(testcase, "system-out")
            out.text = f"{r.verdict} (close {r.close}): {r.reason}"


def render_table(result: ConformResult, *, failed_limit: int = 30) -> str:
    """A table by group, then the failed cases with their one-line reasons."""
    summary = result.summary()
    columns = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
    header = f"{'group':<36}{'cases':>6}" + "".join(f"{c:>15}" for c in columns)
    lines = [f"wsbench conform {result.url}" + ("" if result.complete else "  (INCOMPLETE)"),
             header, "-" * len(header)]

    def key(number: str) -> tuple[int, str]:
        return (int(number), "") if number.isdigit() else (10_000, number)

    for number in sorted(summary["groups"], key=key):
        row = summary["groups"][number]
        label = f"{number} {row['name']}"[:35]
        lines.append(f"{label:<36}{row['total']:>6}" + "".join(f"{row[c]:>15}" for c in columns))
    totals = summary["verdicts"]
    lines.append("-" * len(header))
    lines.append(f"{'total':<36}{summary['total']:>6}" + "".join(f"{totals[c]:>15}" for c in columns))
    failed = summary["failed"]
    if failed:
        lines.append("")
        lines.append(f"FAILED ({len(failed)}):")
        for cid in failed[:failed_limit]:
            lines.append(f"  {cid:<10} {result.cases[cid].reason}")
        if len(failed) > failed_limit:
            lines.append(f"  … and {len(failed) - failed_limit} more (see the JSON result)")
    lines.append(f"duration {result.duration_s:.1f} s")
    return "\n".join(lines)
