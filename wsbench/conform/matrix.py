"""Targets × cases: where a proxy changes the outcome compared with the pod alone (pure).

Built only from saved ``wsbench/conform@1`` dicts, so a matrix can be rebuilt from
the files on disk. A case's **outcome** on a target is its verdict, plus its close
behaviour when that is not OK, plus the ingress checks' measured value
(``INFORMATIONAL (3.0 s, TCP cut (1006))``); a case is **changed** on a target when
its outcome differs from the baseline's, and **broken** there when the proxy turns a
verdict that is not FAILED into FAILED (the changes worth looking at first; the rest
are measurements, such as an idle timeout, or alternatives a case allows). A target whose
lab broke while it ran (``infrastructure.ok`` false) has ``lab_failure`` in its summary; its
``INVALID`` cases count as neither changed nor broken.

    {"schema": "wsbench/conform-matrix@1", "baseline": "pod", "targets": ["pod", "nginx"],
     "cases": {"1.1.1": {"group": "Framing", "outcomes": {"pod": "OK", "nginx": "OK"},
                         "changed": [], "broken": []}},
     "summary": {"nginx": {"total": 530, "changed": 4, "broken": 0, "verdicts": {...}}}}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsbench.conform.model import Verdict, case_sort_key
from wsbench.conform.result import INVALID
from wsbench.result.infrastructure import LAB_FAILURE, lab_failed, lab_failure_lines

__all__ = ["MATRIX_SCHEMA", "outcome", "build_matrix", "render_matrix"]

MATRIX_SCHEMA = "wsbench/conform-matrix@1"
_QUIET_CLOSES = {"OK", "N/A", ""}


def outcome(case: Mapping[str, Any]) -> str:
    """One case's outcome on one target, as compared across targets."""
    text = str(case.get("verdict", "?"))
    close = str(case.get("close", ""))
    if close not in _QUIET_CLOSES:
        text += f" / close {close}"
    observed = case.get("observed")
    value = observed.get("value") if isinstance(observed, Mapping) else None
    if value:
        text += f" ({value})"
    return text


def _verdict(text: str) -> str:
    return text.split(" ", 1)[0]


def build_matrix(results: Mapping[str, Mapping[str, Any]], *, baseline: str) -> dict[str, Any]:
    """The matrix of ``results`` (target label -> conform@1 dict) against ``baseline``."""
    if baseline not in results:
        raise ValueError(f"baseline {baseline!r} is not among the targets")
    targets = list(results)
    ids: dict[str, str] = {}
    for data in results.values():
        for case_id, case in data.get("cases", {}).items():
            ids.setdefault(case_id, str(case.get("group", "")))
    cases: dict[str, Any] = {}
    for case_id in sorted(ids, key=case_sort_key):
        outcomes = {t: outcome(results[t]["cases"][case_id]) if case_id in results[t].get("cases", {})
                    else "–" for t in targets}
        changed = [t for t in targets if t != baseline and outcomes[t] != outcomes[baseline]
                   and _verdict(outcomes[t]) != INVALID]  # the lab's failure, not the proxy's change
        broken = [t for t in changed if _verdict(outcomes[t]) == Verdict.FAILED
                  and _verdict(outcomes[baseline]) != Verdict.FAILED]
        cases[case_id] = {"group": ids[case_id], "outcomes": outcomes, "changed": changed,
                          "broken": broken}
    summary = {}
    for target in targets:
        verdicts = dict.fromkeys([v.value for v in Verdict], 0)
        for case in results[target].get("cases", {}).values():
            verdicts[str(case.get("verdict"))] = verdicts.get(str(case.get("verdict")), 0) + 1
        summary[target] = {
            "url": results[target].get("url"),
            "total": len(results[target].get("cases", {})),
            "complete": bool(results[target].get("complete", False)),
            "duration_s": results[target].get("duration_s"),
            "changed": sum(1 for c in cases.values() if target in c["changed"]),
            "broken": sum(1 for c in cases.values() if target in c["broken"]),
            "verdicts": verdicts,
            **({"lab_failure": lab_failure_lines(results[target])} if lab_failed(results[target]) else {}),
        }
    return {"schema": MATRIX_SCHEMA, "baseline": baseline, "targets": targets, "cases": cases,
            "summary": summary}


def render_matrix(matrix: Mapping[str, Any], *, changed_limit: int = 60) -> str:
    """A summary table (a row per target), then every case whose outcome a proxy changed."""
    columns = ["OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED"]
    baseline = matrix["baseline"]
    header = (f"{'target':<16}{'cases':>6}" + "".join(f"{c:>15}" for c in columns)
              + f"{'changed':>9}{'broken':>8}")
    lines = [f"wsbench conform --lab: each target against the pod alone ({baseline!r})", header,
             "-" * len(header)]
    for target, row in matrix["summary"].items():
        label = target + (" (baseline)" if target == baseline else "")
        changed = "–" if target == baseline else str(row["changed"])
        broken = "–" if target == baseline else str(row.get("broken", 0))
        flag = "" if row.get("complete", True) else "  INCOMPLETE"
        if row.get("lab_failure"):
            flag += f"  {LAB_FAILURE.upper()} ({row['verdicts'].get(INVALID, 0)} cases {INVALID})"
        lines.append(f"{label[:15]:<16}{row['total']:>6}"
                     + "".join(f"{row['verdicts'].get(c, 0):>15}" for c in columns)
                     + f"{changed:>9}{broken:>8}{flag}")
    for target, row in matrix["summary"].items():
        for line in row.get("lab_failure", ()):
            lines.append(f"  {target}: {LAB_FAILURE}: {line}")
    changed_cases = [(cid, c) for cid, c in matrix["cases"].items() if c["changed"]]
    if changed_cases:
        lines += ["", f"Changed by a proxy ({len(changed_cases)} cases; {baseline}: outcome → proxy: "
                      "outcome; ! = broken: FAILED only through the proxy):"]
        for cid, case in changed_cases[:changed_limit]:
            pod = case["outcomes"][baseline]
            others = "; ".join(f"{t}: {case['outcomes'][t]}" for t in case["changed"])
            mark = "!" if case.get("broken") else " "
            lines.append(f"{mark} {cid:<24} {baseline}: {pod} → {others}")
        if len(changed_cases) > changed_limit:
            lines.append(f"  … and {len(changed_cases) - changed_limit} more (see matrix.json)")
    else:
        lines += ["", "No proxy changed any outcome."]
    return "\n".join(lines)
