"""``evaluate_gate``: thresholds, baseline regressions and run validity in one verdict. Pure.

Takes Results (typed :class:`~wsbench.result.model.Result`, or the dicts of their files)
and returns a :class:`GateVerdict`; the CLI
and ``wsbench run --gate`` print and write it. Validity rules come first: an interrupted
run (``complete: false``) or a saturated load generator measured something other than
the scenario asked for, so each fails the gate unless explicitly allowed (then it is a
warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from wsbench.errors import UsageError
from wsbench.gate.expr import Threshold, parse_threshold
from wsbench.gate.regression import (
    DEFAULT_MAX_REGRESSIONS,
    Comparison,
    RegressionLimit,
    evaluate_regression,
    parse_max_regression,
)
from wsbench.gate.thresholds import evaluate_threshold
from wsbench.result.infrastructure import LAB_FAILURE, lab_failed, lab_failure_lines
from wsbench.result.model import Result
from wsbench.result.stats import DEFAULT_RESAMPLES
from wsbench.result.verdict import Check, GateVerdict, Observation

__all__ = ["evaluate_gate", "scenario_thresholds", "parse_thresholds"]


def scenario_thresholds(result: Result | Mapping[str, Any]) -> list[str]:
    """The ``thresholds`` list of the Result's scenario (strings); [] when absent."""
    scenario = Result.coerce(result).scenario
    if scenario is None:
        return []
    listed = scenario.get("thresholds") or []
    if isinstance(listed, str):
        listed = [listed]
    if not isinstance(listed, list) or not all(isinstance(t, str) for t in listed):
        raise UsageError("scenario.thresholds: must be a list of strings such as 'rtt.p99 < 50ms'")
    return list(listed)


def parse_thresholds(texts: Iterable[str]) -> list[Threshold]:
    """Parse every threshold first, so a bad one stops the gate before anything is judged."""
    return [parse_threshold(text) for text in texts]


def machine_mismatch(result: Result, baseline: Result) -> str:
    """What differs between the run's machine and the baseline's ("" when nothing, or unknown)."""
    ours = result.generator.machine if result.generator else None
    theirs = baseline.generator.machine if baseline.generator else None
    if ours is None or theirs is None:
        return ""
    differences = [
        f"{key} {theirs.get(key)!s} vs {ours.get(key)!s}"
        for key in ("cpu_model", "cpus", "kernel")
        if theirs.get(key) != ours.get(key)
    ]
    return "; ".join(differences)


#: scenario keys that shape the load: a baseline with other values measured another load
LOAD_KEYS = ("sessions", "ramp", "duration", "mode", "rate", "messages", "message_size",
             "message_type", "deflate", "ping_interval", "transport")


def scenario_mismatch(result: Result, baseline: Result) -> str:
    """The load-shaping scenario keys whose values differ ("" when none, or unknown)."""
    ours, theirs = result.scenario, baseline.scenario
    if ours is None or theirs is None:
        return ""
    return "; ".join(
        f"{key} {theirs.get(key)!s} vs {ours.get(key)!s}"
        for key in LOAD_KEYS
        if key in ours and key in theirs and ours.get(key) != theirs.get(key)
    )


def _validity(
    result: Result, *, allow_partial: bool, allow_saturated: bool
) -> tuple[list[Check], list[str]]:
    checks: list[Check] = []
    warnings: list[str] = []
    run = result.run_id if result.run_id is not None else "run"
    incomplete = [name for name, target in result.targets.items() if target.complete is False]
    if result.complete is False or incomplete:
        detail = "the run was interrupted (complete: false)"
        if incomplete and result.complete is not False:
            detail = f"incomplete targets: {', '.join(incomplete)}"
        if allow_partial:
            warnings.append(f"partial Result: {detail}; judged on what was measured")
        else:
            checks.append(
                Check(
                    "run complete",
                    "validity",
                    (Observation(run, run, "incomplete", "complete", False, f"{detail} (allow with --allow-partial)"),),
                    "validity",
                )
            )
    for name, target in result.targets.items():
        if lab_failed(target):
            checks.append(Check(
                "lab healthy", "validity",
                (Observation(name, name, "lab failure", "lab healthy", False,
                             f"{LAB_FAILURE}: " + "; ".join(lab_failure_lines(target))),),
                "validity"))
    generator = result.generator
    if generator is not None and generator.saturated:
        reasons = generator.saturation_reasons or ()
        detail = "; ".join(str(r) for r in reasons) or "the load generator was saturated"
        if allow_saturated:
            warnings.append(f"load generator saturated: {detail}")
        else:
            checks.append(
                Check(
                    "load generator not saturated",
                    "validity",
                    (
                        Observation(
                            run, run, "saturated", "not saturated", False,
                            f"{detail}: the numbers measure wsbench, not the target "
                            "(allow with --allow-saturated)",
                        ),
                    ),
                    "validity",
                )
            )
    return checks, warnings


def evaluate_gate(
    result: Result | Mapping[str, Any],
    *,
    thresholds: Sequence[str] = (),
    baseline: Result | Mapping[str, Any] | None = None,
    max_regressions: Sequence[str] = (),
    targets: Sequence[str] | None = None,
    use_scenario_thresholds: bool = True,
    allow_partial: bool = False,
    allow_saturated: bool = False,
    resamples: int = DEFAULT_RESAMPLES,
    baseline_target: str | None = None,
) -> GateVerdict:
    """Judge ``result``.

    ``thresholds`` are expressions (see :mod:`wsbench.gate.expr`), checked after the
    scenario's own ``thresholds`` unless ``use_scenario_thresholds`` is false.
    ``max_regressions`` (``"rtt.p99=10%"``) need ``baseline``; with a baseline and none
    given, :data:`DEFAULT_MAX_REGRESSIONS` apply. ``baseline_target`` instead judges every
    other target against that target of the same Result (an interleaved A/B run, ``wsbench
    run --interleave``); it excludes ``baseline``. ``targets`` limits unscoped checks to
    those targets (default: all). Raises :class:`UsageError` for malformed input and when
    there is nothing to check.
    """
    run = Result.coerce(result)
    base = Result.coerce(baseline, source="baseline") if baseline is not None else None
    known = list(run.targets)
    if targets:
        unknown = [t for t in targets if t not in known]
        if unknown:
            raise UsageError(
                f"--target {unknown[0]!r}: no such target in the Result (targets: {', '.join(known) or 'none'})"
            )
        chosen = list(dict.fromkeys(targets))
    else:
        chosen = known
    sourced: list[tuple[str, str]] = []
    if use_scenario_thresholds:
        sourced += [(text, "scenario") for text in scenario_thresholds(run)]
    sourced += [(text, "--threshold") for text in thresholds]
    parsed: list[tuple[Threshold, str]] = []
    seen: set[str] = set()
    document = run.to_json()  # thresholds are paths into the file: any key is addressable
    for text, source in sourced:
        if text.strip() not in seen:
            seen.add(text.strip())
            parsed.append((parse_threshold(text, result=document), source))
    if baseline_target is not None:
        if base is not None:
            raise UsageError("--baseline-target judges targets of the same Result: give it or --baseline, not both")
        if baseline_target not in known:
            raise UsageError(f"--baseline-target {baseline_target!r}: no such target in the Result "
                             f"(targets: {', '.join(known) or 'none'})")
        if len(known) < 2:
            raise UsageError("--baseline-target needs a Result with two targets or more (wsbench run "
                             "--target base=URL1 --target cand=URL2 --interleave 5)")
    if max_regressions and base is None and baseline_target is None:
        raise UsageError("--max-regression needs --baseline or --baseline-target")
    limits: list[RegressionLimit] = []
    if base is not None or baseline_target is not None:
        limits = [parse_max_regression(t) for t in (max_regressions or DEFAULT_MAX_REGRESSIONS)]
    checks, warnings = _validity(run, allow_partial=allow_partial, allow_saturated=allow_saturated)
    if not parsed and not limits and not any(c.name == "lab healthy" for c in checks):
        raise UsageError(
            "nothing to check: give --threshold, --baseline, or thresholds in the scenario"
        )
    if parsed:
        for threshold, source in parsed:
            checks.append(evaluate_threshold(document, threshold, targets=chosen, source=source))
    if baseline_target is not None:
        if not run.scenario or not run.scenario.get("interleave"):
            warnings.append(f"targets were measured one after the other, not interleaved: judging against "
                            f"{baseline_target!r} compares the moments too (use wsbench run --interleave)")
        comparison = Comparison(run, baseline_target=baseline_target)
        for limit in limits:
            checks.append(evaluate_regression(run, comparison, limit, targets=chosen, resamples=resamples))
        if not max_regressions:
            warnings.append(
                f"--baseline-target given without --max-regression: using {', '.join(DEFAULT_MAX_REGRESSIONS)}"
            )
    if base is not None:
        changed = scenario_mismatch(run, base)
        if changed:
            warnings.append(f"the baseline ran another load ({changed}): regressions compare the loads too")
        mismatch = machine_mismatch(run, base)
        calibrated = all(r.generator is not None and r.generator.calibration is not None for r in (run, base))
        if mismatch and not calibrated:
            warnings.append(
                f"the baseline was measured on another machine ({mismatch}): regressions "
                "compare the machines too; record baselines on the runner that gates"
            )
        elif not calibrated:
            warnings.append(
                "no calibration in the " + ("baseline" if run.generator and run.generator.calibration else "Result")
                + ": rtt regressions are judged raw (record it again with this wsbench: it calibrates every run)"
            )
        comparison = Comparison(base, machines_differ=mismatch)
        for limit in limits:
            checks.append(
                evaluate_regression(run, comparison, limit, targets=chosen, resamples=resamples)
            )
        if not max_regressions:
            warnings.append(
                f"baseline given without --max-regression: using {', '.join(DEFAULT_MAX_REGRESSIONS)}"
            )
    return GateVerdict(
        run_id=run.run_id if run.run_id is not None else "",
        checks=tuple(checks),
        warnings=tuple(warnings),
        baseline_run_id=(base.run_id if base.run_id is not None else "") if base is not None else None,
    )
