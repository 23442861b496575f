"""Baseline regressions judged on histograms, not on one number against another. Pure.

``--max-regression rtt.p99=10%`` compares the statistic of each target with the same
target of a baseline Result. Both histograms are resampled (bootstrap, see
:mod:`wsbench.result.stats`); the check fails only when the observed ratio exceeds the
allowance **and** the slowdown is statistically significant (the confidence interval of
the ratio lies above 1). A rerun whose difference is within sampling noise passes even if
its point estimate is above the allowance; the Markdown says "not significant". Where both
targets carry per-second histograms of the metric (``rtt``: ``blocks``), the resamples are
whole seconds (:mod:`wsbench.result.blocks`): a tail made of a few slow seconds is not
"significant" because it has many samples.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from wsbench.errors import UsageError
from wsbench.gate.expr import is_statistic_name
from wsbench.result import fmt
from wsbench.result.blocks import block_histograms, block_samples
from wsbench.result.calibration import MachineFactor, machine_factor, noise_floor_ms
from wsbench.result.distribution import HdrDecodeError, distribution_of
from wsbench.result.model import Result
from wsbench.result.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    Interval,
    RatioEstimate,
    compare,
    parse_statistic,
)
from wsbench.result.verdict import Check, Observation

__all__ = [
    "RegressionLimit",
    "Comparison",
    "parse_max_regression",
    "evaluate_regression",
    "DEFAULT_MAX_REGRESSIONS",
]

#: Used when a baseline is given without any ``--max-regression``.
DEFAULT_MAX_REGRESSIONS = ("rtt.p99=10%", "upgrade.total.p99=10%")
_LIMIT = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)\s*=\s*"
    r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<percent>%?)\s*$"
)


@dataclass(frozen=True)
class RegressionLimit:
    """How much slower a statistic may get than in the baseline, as a fraction (0.10 = 10 %)."""

    text: str
    summary_path: tuple[str, ...]
    statistic: str
    allowed: float

    @property
    def metric(self) -> str:
        """The metric's dotted name, e.g. ``rtt.p99``."""
        return ".".join((*self.summary_path, self.statistic))


def parse_max_regression(text: str) -> RegressionLimit:
    """Parse ``METRIC=AMOUNT[%]`` (``rtt.p99=10%``, ``upgrade.total.p50=0.2``); raise UsageError."""
    match = _LIMIT.match(text)
    if match is None:
        raise UsageError(
            f"bad max-regression {text!r}: expected METRIC=PERCENT such as rtt.p99=10%"
        )
    *path, statistic = match.group("metric").split(".")
    if not is_statistic_name(statistic) or statistic in ("min", "max"):
        raise UsageError(
            f"bad max-regression {text!r}: {statistic!r} is not a statistic that can be "
            "resampled (use p50, p90, p99, p999 or mean of a histogram such as rtt)"
        )
    try:
        parse_statistic(statistic)
    except ValueError as exc:
        raise UsageError(f"bad max-regression {text!r}: {exc}") from exc
    amount = float(match.group("amount"))
    allowed = amount / 100.0 if match.group("percent") else amount
    return RegressionLimit(text.strip(), tuple(path), statistic, allowed)


#: which calibration figure takes a summary to another machine: rtt (message latency), open (upgrades).
#: ``rtt_service`` (the time from the actual send) is what the probe measures: it sends on time
#: (it sleeps out the last millisecond), so its figures hold no send lag either
_CALIBRATED = {"rtt": "rtt", "rtt_service": "rtt", "upgrade": "open"}


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


@dataclass(frozen=True)
class Comparison:
    """What one regression limit compares: the run's target against its reference.

    ``baseline`` is another Result (``--baseline``) or the run itself (``--baseline-target``:
    an interleaved A/B in one Result, where drift and the machine cancel and nothing is
    calibrated). ``machines_differ`` is what differs between the two machines ("" if nothing).
    """

    baseline: Result
    baseline_target: str | None = None
    machines_differ: str = ""


def _classify(estimate: RatioEstimate, limit: RegressionLimit, floor_ms: float | None) -> tuple[bool, str]:
    """(passed, word) for one estimate judged on the (possibly calibrated) ratio."""
    ratio, difference = estimate.ratio, estimate.difference_ms
    below_floor = floor_ms is not None and abs(difference.point) < floor_ms
    over = ratio.point > 1.0 + limit.allowed
    significant_slowdown = ratio.low > 1.0
    if below_floor:
        return True, f"same (below the noise floor of {floor_ms:.3g} ms)"
    if over and significant_slowdown:
        return False, "significant regression"
    if over:
        return True, "not significant (within noise)"
    if ratio.high < 1.0:
        return True, "faster"
    if significant_slowdown:
        return True, "slower, within allowance"
    return True, "same (within noise)"


def _calibrated(estimate: RatioEstimate, factor: MachineFactor) -> RatioEstimate:
    """``estimate`` with the run's side taken to the baseline's machine (the factor is taken as exact)."""
    a_ms = factor.apply(estimate.a_ms)
    scale = a_ms / estimate.a_ms if estimate.a_ms > 0 else 1.0

    def moved(interval: Interval, ratio: bool) -> Interval:
        if ratio:
            return Interval(interval.point * scale, interval.low * scale, interval.high * scale)
        shift = estimate.a_ms - a_ms
        return Interval(interval.point - shift, interval.low - shift, interval.high - shift)

    return replace(estimate, a_ms=a_ms, ratio=moved(estimate.ratio, True),
                   difference_ms=moved(estimate.difference_ms, False))


def _service_how(result: Result, target: str) -> str:
    """How an ``rtt_service`` check was judged: the generator's own send lag taken out per message."""
    lag = result.targets[target].send_lag
    seen = f" (in this run p50 {fmt.ms(lag.p50)}, p99 {fmt.ms(lag.p99)})" if lag is not None and lag.count else ""
    return ("the time from the actual send: the generator's own send lag" + seen
            + " taken out message by message, as the probe (which sends on time) measures")


def _interval_text(estimate: RatioEstimate, confidence: float) -> str:
    ratio, difference = estimate.ratio, estimate.difference_ms
    return (
        f"{fmt.percent_change(ratio.point)} [{fmt.percent_change(ratio.low)}, {fmt.percent_change(ratio.high)}], "
        f"Δ {difference.point:+.3g} ms [{difference.low:+.3g}, {difference.high:+.3g}] "
        f"({confidence:.0%} CI, {estimate.b_ms:.3g} → {estimate.a_ms:.3g} ms)"
    )


def evaluate_regression(
    result: Result,
    baseline: Result | Comparison,
    limit: RegressionLimit,
    *,
    targets: Sequence[str],
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Check:
    """Compare ``limit``'s statistic of each target with its reference.

    The reference is the same target of a baseline Result, or (``Comparison.baseline_target``)
    another target of the same Result. Against another Result, when both carry a calibration
    (``generator.calibration``) and the machines differ or the calibrations differ beyond
    :data:`~wsbench.result.calibration.CALIBRATION_BOUND`, the run's figure is first taken to
    the baseline's machine (:func:`~wsbench.result.calibration.machine_factor`) and the
    calibrated figure is judged; the note shows raw and calibrated side by side and says
    which was judged and why. A difference below the noise floor (what the generator adds
    on its own, from the calibrations) is "same", never a regression or an improvement.
    """
    comparison = baseline if isinstance(baseline, Comparison) else Comparison(baseline)
    base = comparison.baseline
    reference = comparison.baseline_target
    expected = f"≤ {fmt.percent_change(1.0 + limit.allowed)} vs {reference or 'baseline'}"
    observations: list[Observation] = []
    closed = (result.scenario or {}).get("mode") == "closed"
    run_cal = result.generator.calibration if result.generator else None
    base_cal = base.generator.calibration if base.generator else None
    service = limit.summary_path == ("rtt_service",)
    floors = [f for f in (noise_floor_ms(run_cal, limit.statistic, closed=closed),
                          noise_floor_ms(base_cal, limit.statistic, closed=closed)) if f is not None]
    floor_ms = max(floors) if floors else None
    for target in targets:
        if reference is not None and target == reference:
            continue
        before_name = reference or target

        def no_data(reason: str, target: str = target) -> None:
            observations.append(Observation(target, target, "–", expected, False, f"no data: {reason}"))

        if before_name not in base.targets:
            no_data(f"no target {before_name!r} in the {'Result' if reference else 'baseline'}")
            continue
        try:
            current = distribution_of(result.targets[target].summary(limit.summary_path))
            before = distribution_of(base.targets[before_name].summary(limit.summary_path))
        except HdrDecodeError as exc:
            no_data(f"unreadable histogram ({exc})")
            continue
        name = ".".join(limit.summary_path)
        if current is None or before is None:
            no_data(f"{name} has no histogram in the {'Result' if current is None else 'baseline'}")
            continue
        if current.total == 0 or before.total == 0:
            no_data(f"{name} has no samples in the {'Result' if current.total == 0 else 'baseline'}")
            continue
        seed = _seed(target, limit.metric)
        by_blocks = [block_samples(block_histograms(side.extra, limit.summary_path), limit.statistic,
                                   resamples=resamples, seed=seed + offset)
                     for offset, side in enumerate((result.targets[target], base.targets[before_name]))]
        blocked = by_blocks[0] is not None and by_blocks[1] is not None
        raw = compare(current, before, limit.statistic, resamples=resamples, confidence=confidence, seed=seed,
                      **({"a_samples": by_blocks[0], "b_samples": by_blocks[1]} if blocked else {}))
        factor = None
        kind = _CALIBRATED.get(limit.summary_path[0])
        if reference is None and kind is not None:
            factor = machine_factor(run_cal, base_cal, run_target=target, base_target=target, kind=kind,
                                    statistic=limit.statistic, metric=limit.summary_path[0],
                                    machines_differ=comparison.machines_differ)
        judged = _calibrated(raw, factor) if factor is not None and factor.judged else raw
        passed, word = _classify(judged, limit, floor_ms if kind == "rtt" else None)
        if factor is None:
            how = ("same run, interleaved with " + reference + ": judged raw") if reference else (
                "judged raw (no calibration in " + ("both Results" if run_cal is None and base_cal is None
                                                   else "the baseline" if base_cal is None else "the Result")
                + ")" if kind is not None else "judged raw (not a latency the calibration covers)")
            note = f"{word}: {_interval_text(raw, confidence)}; {how}"
        elif factor.judged:
            note = (f"{word}: judged calibrated, {factor.why}: {factor.describe()}; "
                    f"calibrated {_interval_text(judged, confidence)}; raw {_interval_text(raw, confidence)}")
        else:
            note = (f"{word}: judged raw, {factor.why}: raw {_interval_text(raw, confidence)}; "
                    f"calibrated {_interval_text(_calibrated(raw, factor), confidence)}")
        if blocked:
            note += "; intervals by blocks of seconds (a slow second slows every message in it)"
        if service:
            note += f"; {_service_how(result, target)}"
        observations.append(
            Observation(
                target,
                target,
                f"{fmt.ms(judged.a_ms)} ({fmt.percent_change(judged.ratio.point)}"
                + (", calibrated" if judged is not raw else "") + ")",
                expected,
                passed,
                note,
            )
        )
    scope = f" vs {reference}" if reference else ""
    return Check(f"{limit.metric} regression ≤ {limit.allowed * 100:g}%{scope}", "regression",
                 tuple(observations), "--max-regression")
