"""A conformance target whose lab broke while it ran: its verdicts are not the controller's. Pure.

``conform --lab`` runs under the lab supervisor (:mod:`wsbench.lab.supervisor`). When a lab
member exits or hangs unplanned while a target runs, every case of that target that ended
after the member was last seen well gets the verdict :data:`INVALID` — the lab's failure,
not the controller's — with the verdict it measured kept in ``observed.measured_verdict``;
the target's JSON carries the supervisor's ``infrastructure`` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wsbench.conform.result import INVALID, CaseResult, ConformResult
from wsbench.result.infrastructure import LAB_FAILURE, lab_failure_lines

__all__ = ["mark_lab_failure"]

_NS = 1_000_000_000


def mark_lab_failure(result: ConformResult, infrastructure: Mapping[str, Any], *, start_ns: int,
                     finished_ns: Mapping[str, int]) -> ConformResult:
    """``result`` with its ``infrastructure`` and each case's ``ended_s`` (``finished_ns``,
    monotonic, by case id); when the lab failed, the cases that ended at or after the
    earliest unplanned failure began (a case missing in ``finished_ns`` ended last) are
    :data:`INVALID`."""
    section = dict(infrastructure)
    result = replace(result, cases={
        cid: replace(case, ended_s=round((finished_ns[cid] - start_ns) / _NS, 3)) if cid in finished_ns else case
        for cid, case in result.cases.items()})
    unplanned = [e for e in section.get("events", []) if not e.get("planned")]
    if section.get("ok", True) is not False or not unplanned:
        return replace(result, infrastructure=section)
    began_s = min(float(e.get("since_s", e.get("at_s", 0.0))) for e in unplanned)
    cutoff_ns = start_ns + round(began_s * _NS)
    why = "; ".join(lab_failure_lines({"infrastructure": section}))
    cases = {cid: _invalid(case, why) if finished_ns.get(cid, cutoff_ns) >= cutoff_ns else case
             for cid, case in result.cases.items()}
    invalid = sorted(cid for cid, case in cases.items() if case.verdict == INVALID)
    section.update({"invalid_from_s": round(began_s, 3), "invalid_cases": len(invalid)})
    return replace(result, cases=cases, infrastructure=section)


def _invalid(case: CaseResult, why: str) -> CaseResult:
    return replace(case, verdict=INVALID,
                   reason=f"{LAB_FAILURE} ({why}); measured {case.verdict}: {case.reason}",
                   observed={**case.observed, "measured_verdict": case.verdict,
                             "measured_close": case.close})
