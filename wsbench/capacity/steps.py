"""One capacity step: the scenario for a load, and the SLO's verdict on its Result. Pure.

The load is one of three dials (``over``):

- ``sessions``: sessions held. The step opens them at the scenario's ramp, then holds them
  ``hold_s`` seconds.
- ``ramp``: sessions opened per second, for ``hold_s`` seconds (upgrade throughput).
- ``rate``: messages per second, all sessions together (rate mode; the scenario's sessions
  share it), held ``hold_s`` seconds after they are open.

A step is judged by the gate's threshold evaluation on each target of its Result; what
cannot be measured (no data) fails, as in the gate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from wsbench.errors import UsageError
from wsbench.gate.expr import Number, Threshold
from wsbench.gate.thresholds import NoData, evaluate_threshold, expression_value
from wsbench.scenario import MAX_SESSIONS, Scenario

__all__ = ["Over", "OVER", "step_scenario", "SloReading", "StepVerdict", "judge_step"]

Over = Literal["sessions", "ramp", "rate"]
OVER: tuple[Over, ...] = ("sessions", "ramp", "rate")


def _open_time(sessions: int, ramp: float) -> float:
    return sessions / ramp if ramp > 0 else 0.0


def step_scenario(base: Scenario, over: Over, load: float, *, hold_s: float) -> Scenario:
    """The scenario that applies ``load`` on the dial ``over`` and holds it ``hold_s`` seconds."""
    if hold_s <= 0:
        raise UsageError(f"--hold: {hold_s:g} s must be > 0")
    if over == "sessions":
        sessions = int(load)
        changes: dict[str, Any] = {"sessions": sessions,
                                   "duration": math.ceil(_open_time(sessions, base.ramp)) + hold_s}
    elif over == "ramp":
        sessions = max(1, math.ceil(load * hold_s))
        changes = {"ramp": float(load), "sessions": sessions, "duration": hold_s}
    elif over == "rate":
        changes = {"mode": "rate", "rate": load / base.sessions,
                   "duration": math.ceil(_open_time(base.sessions, base.ramp)) + hold_s}
    else:
        raise UsageError(f"--over: {over!r} is not one of {', '.join(OVER)}")
    if changes.get("sessions", base.sessions) > MAX_SESSIONS:
        raise UsageError(f"capacity: a step of {load:g} {over} needs more than {MAX_SESSIONS} sessions")
    if base.shard and base.shard[1] > changes.get("sessions", base.sessions):
        raise UsageError(f"capacity: a step of {load:g} {over} has fewer sessions than shards ({base.shard[1]})")
    return replace(base, messages=None, thresholds=(), **changes)


@dataclass(frozen=True)
class SloReading:
    """One SLO expression on one target at one step."""

    slo: str
    target: str
    passed: bool
    observed: float | None  # the left side as a number (ms for durations); None: no data
    limit: float | None  # the right side as a number
    shown: str  # the observation as the gate shows it, e.g. "42.1 ms"
    note: str = ""

    @property
    def excess(self) -> float:
        """How far past its limit (observed / limit; inf for no data), for ranking breaks."""
        if self.observed is None or self.limit is None:
            return math.inf
        if self.limit == 0:
            return math.inf if self.observed != 0 else 1.0
        return abs(self.observed / self.limit)


@dataclass(frozen=True)
class StepVerdict:
    """What one step showed: the SLO held or not, and whether the figures are the target's."""

    passed: bool
    readings: tuple[SloReading, ...]
    saturated: bool
    saturation_reasons: tuple[str, ...]
    complete: bool

    @property
    def broken(self) -> tuple[SloReading, ...]:
        """The readings that failed, most broken first."""
        return tuple(sorted((r for r in self.readings if not r.passed), key=lambda r: -r.excess))


def judge_step(result: Mapping[str, Any], slos: Sequence[Threshold]) -> StepVerdict:
    """Judge one step's Result against every SLO on every target it measured."""
    targets = list(result.get("targets", {}))
    readings: list[SloReading] = []
    for slo in slos:
        check = evaluate_threshold(result, slo, targets=targets)
        for observation in check.observations:
            observed = limit = None
            if observation.target in targets:
                try:
                    observed = expression_value(result, observation.target, slo.left)
                    limit = expression_value(result, observation.target, slo.right) \
                        if not isinstance(slo.right, Number) else slo.right.value
                except NoData:
                    observed = None
            readings.append(SloReading(slo.source, observation.target, observation.passed,
                                       observed, limit, observation.observed, observation.note))
    generator = result.get("generator") or {}
    return StepVerdict(
        passed=bool(readings) and all(r.passed for r in readings),
        readings=tuple(readings),
        saturated=bool(generator.get("saturated")),
        saturation_reasons=tuple(str(r) for r in generator.get("saturation_reasons") or ()),
        complete=result.get("complete") is not False,
    )
