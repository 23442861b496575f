"""The capacity Result (``capacity.json``): per target the highest load that kept the SLO,
what broke first, and the curve (every step: its load, verdict, SLO readings). Pure.

    {"schema": "wsbench/capacity@1", "run_id": ..., "over": "sessions", "unit": "sessions",
     "slo": ["rtt.p99 < 50ms"], "plan": {...}, "hold_s": 5, "pinning": {...},
     "targets": {"nginx": {"verdict": "capacity", "capacity": 40, "lowest_fail": 42,
                           "broke_first": {"slo": "rtt.p99 < 50ms", "load": 42, ...},
                           "steps": 6, "bound": 8, "curve": [...], "summary": "..."}}}

``capacity`` is None unless the search ended on the target's own limit (``highest_pass`` is
the highest load that passed cleanly either way). Verdicts: ``capacity`` (bracketed), ``at-least-maximum`` (passed at ``--max``),
``below-start`` (the first step failed), ``step-bound`` (the step bound ended the search
before the bracket was narrow), ``generator-limit`` (the load generator saturated: the
figure is wsbench's, not the target's), ``interrupted``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from wsbench.capacity.search import SearchOutcome, SearchPlan
from wsbench.capacity.steps import StepVerdict
from wsbench.cost.machine import MACHINE_BUSY_PERCENT

__all__ = ["CAPACITY_SCHEMA", "UNITS", "step_point", "target_capacity", "MACHINE_BUSY_PERCENT"]

CAPACITY_SCHEMA = "wsbench/capacity@1"
UNITS = {"sessions": "sessions", "ramp": "sessions/s", "rate": "messages/s"}
_VERDICTS = {"bracketed": "capacity", "maximum": "at-least-maximum", "below-start": "below-start",
             "step-bound": "step-bound"}


def step_point(load: float, verdict: StepVerdict, *, run_id: str, result_path: str,
               machine_cpu_percent: float | None, proxy_cost: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One point of the curve."""
    return {
        "load": load,
        "passed": verdict.passed and verdict.complete,
        "saturated": verdict.saturated,
        "saturation_reasons": list(verdict.saturation_reasons),
        "complete": verdict.complete,
        "run_id": run_id,
        "result": result_path,
        "machine_cpu_percent": machine_cpu_percent,
        "readings": [asdict(r) for r in verdict.readings],
        **({"proxy_cost": dict(proxy_cost)} if proxy_cost else {}),
    }


def _broke(curve: Sequence[Mapping[str, Any]], lowest_fail: float | None) -> tuple[dict[str, Any] | None, list[str]]:
    """The most broken SLO reading at the lowest failing load, and every SLO broken there."""
    if lowest_fail is None:
        return None, []
    point = next((p for p in curve if p["load"] == lowest_fail and not p["passed"]), None)
    if point is None:
        return None, []
    failed = [r for r in point["readings"] if not r["passed"]]
    if not failed:
        return ({"slo": "run complete", "load": lowest_fail, "shown": "incomplete", "observed": None,
                 "limit": None, "target": ""}, ["run complete"])

    def excess(reading: Mapping[str, Any]) -> float:
        observed, limit = reading["observed"], reading["limit"]
        if observed is None or limit is None:
            return float("inf")
        if limit == 0:
            return float("inf") if observed else 1.0
        return abs(observed / limit)

    worst = max(failed, key=excess)
    return {**worst, "load": lowest_fail}, list(dict.fromkeys(r["slo"] for r in failed))


def target_capacity(
    *,
    over: str,
    plan: SearchPlan,
    curve: Sequence[Mapping[str, Any]],
    outcome: SearchOutcome | None,
    stopped: str | None = None,
) -> dict[str, Any]:
    """One target's capacity entry; ``stopped`` is ``generator-limit`` or ``interrupted`` when
    the driver ended the search itself (``outcome`` is then None)."""
    unit = UNITS[over]
    passes = [p["load"] for p in curve if p["passed"] and not p["saturated"]]
    fails = [p["load"] for p in curve if not p["passed"] and not p["saturated"]]
    highest_pass = outcome.highest_pass if outcome else (max(passes) if passes else None)
    lowest_fail = outcome.lowest_fail if outcome else (min(fails) if fails else None)
    broke_first, broken = _broke(curve, lowest_fail)
    bound = outcome.bound if outcome else plan.bound()
    verdict = stopped or _VERDICTS[outcome.reason if outcome else "step-bound"]
    entry: dict[str, Any] = {
        "verdict": verdict,
        # no figure when the search could not end on the target's own limit
        "capacity": highest_pass if verdict in ("capacity", "at-least-maximum", "step-bound") else None,
        "highest_pass": highest_pass,
        "lowest_fail": lowest_fail,
        "unit": unit,
        "broke_first": broke_first,
        "broken": broken,
        "steps": len(curve),
        "bound": bound,
        "curve": list(curve),
    }
    if stopped == "generator-limit":
        at = curve[-1]
        entry["summary"] = (f"generator limit, not the target's: the load generator saturated at "
                            f"{at['load']:g} {unit} ({'; '.join(at['saturation_reasons'])})")
        entry["suggestion"] = ("spread the load over more machines with --shard I/N (or more --processes "
                               "where cores are free); the highest load measured cleanly was "
                               f"{highest_pass:g} {unit}" if highest_pass is not None else
                               "spread the load over more machines with --shard I/N (or more --processes "
                               "where cores are free)")
    elif stopped == "interrupted":
        entry["summary"] = "interrupted: the curve holds the steps measured so far"
    else:
        assert outcome is not None
        if outcome.reason == "bracketed":
            entry["summary"] = (f"capacity {highest_pass:g} {unit} (fails at {lowest_fail:g}); "
                                f"{len(curve)} of at most {bound} steps")
        else:
            entry["summary"] = outcome.describe()
        if broke_first is not None:
            entry["summary"] += f"; broke first: {broke_first['slo']} ({broke_first['shown']} at {lowest_fail:g} {unit})"
    knee = next((p for p in curve if p["load"] == lowest_fail), None)
    busy = knee.get("machine_cpu_percent") if knee else None
    entry["bounded_by_machine"] = bool(busy is not None and busy >= MACHINE_BUSY_PERCENT)
    if entry["bounded_by_machine"]:
        entry["machine_note"] = (f"the machine's CPUs were {busy:.0f}% busy at the first failing step: "
                                 "this figure may be the machine's limit rather than the controller's")
    return entry
