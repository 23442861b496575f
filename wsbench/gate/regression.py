"""Baseline regressions judged on histograms, not on one number against another. Pure.

``--max-regression rtt.p99=10%`` compares the statistic of each target with the same
target of a baseline Result. Both histograms are resampled (bootstrap, see
:mod:`wsbench.result.stats`); the check fails only when the observed ratio exceeds the
allowance **and** the slowdown is statistically significant (the confidence interval of
the ratio lies above 1). A rerun whose difference is within sampling noise passes even if
its point estimate is above the allowance; the Markdown says "not significant".
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from wsbench.errors import UsageError
from wsbench.gate.expr import is_statistic_name
from wsbench.result import fmt
from wsbench.result.distribution import HdrDecodeError, distribution_of
from wsbench.result.model import Result
from wsbench.result.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, compare, parse_statistic
from wsbench.result.verdict import Check, Observation

__all__ = ["RegressionLimit", "parse_max_regression", "evaluate_regression", "DEFAULT_MAX_REGRESSIONS"]

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


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def evaluate_regression(
    result: Result,
    baseline: Result,
    limit: RegressionLimit,
    *,
    targets: Sequence[str],
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Check:
    """Compare ``limit``'s statistic of each target with the baseline's same target."""
    expected = f"≤ {fmt.percent_change(1.0 + limit.allowed)} vs baseline"
    observations: list[Observation] = []
    baseline_targets = baseline.targets
    for target in targets:
        def no_data(reason: str, target: str = target) -> None:
            observations.append(Observation(target, target, "–", expected, False, f"no data: {reason}"))

        if target not in baseline_targets:
            no_data(f"no target {target!r} in the baseline")
            continue
        try:
            current = distribution_of(result.targets[target].summary(limit.summary_path))
            before = distribution_of(baseline_targets[target].summary(limit.summary_path))
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
        estimate = compare(
            current,
            before,
            limit.statistic,
            resamples=resamples,
            confidence=confidence,
            seed=_seed(target, limit.metric),
        )
        ratio = estimate.ratio
        over = ratio.point > 1.0 + limit.allowed
        significant_slowdown = ratio.low > 1.0
        passed = not (over and significant_slowdown)
        interval = (
            f"{fmt.percent_change(ratio.point)} "
            f"[{fmt.percent_change(ratio.low)}, {fmt.percent_change(ratio.high)}] "
            f"({confidence:.0%} CI, {estimate.b_ms:.3g} → {estimate.a_ms:.3g} ms)"
        )
        if not passed:
            note = f"significant regression: {interval}"
        elif over:
            note = f"not significant (within noise): {interval}"
        elif ratio.high < 1.0:
            note = f"faster: {interval}"
        else:
            note = f"within allowance: {interval}"
        observations.append(
            Observation(
                target,
                target,
                f"{fmt.ms(estimate.a_ms)} ({fmt.percent_change(ratio.point)})",
                expected,
                passed,
                note,
            )
        )
    return Check(f"{limit.metric} regression ≤ {limit.allowed * 100:g}%", "regression", tuple(observations), "--max-regression")
