"""The capacity search as a policy generator: it yields loads, the caller says pass or fail. Pure.

    search = capacity_search(SearchPlan(start=100, factor=2, maximum=10_000))
    load = next(search)
    try:
        while True:
            load = search.send(run_and_judge(load))     # True: the SLO held at that load
    except StopIteration as stop:
        outcome: SearchOutcome = stop.value

Geometric steps up (``start``, ``start*factor``, ... capped at ``maximum``) until a step
fails, then bisection between the last pass and the first fail until the bracket is
narrower than ``precision`` of its upper end (or 1 for whole-number loads). The plan
declares the most steps the search can take (:meth:`SearchPlan.bound`, or a smaller
``max_steps``); the generator never yields more than that. The caller may stop early
(``search.close()``), e.g. when the load generator itself saturated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["SearchPlan", "SearchOutcome", "StopReason", "capacity_search", "run_search"]

StopReason = Literal["bracketed", "maximum", "below-start", "step-bound"]


@dataclass(frozen=True)
class SearchPlan:
    """Where to start, how fast to climb, where to stop, how precise to be.

    ``integer`` loads (sessions) are whole numbers; ``max_steps`` (optional) lowers the
    declared bound: the search ends with ``step-bound`` rather than take more steps.
    """

    start: float
    factor: float = 2.0
    maximum: float = 10_000.0
    precision: float = 0.1
    integer: bool = True
    max_steps: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and self.start > 0):
            raise ValueError(f"start must be > 0, got {self.start!r}")
        if not (math.isfinite(self.factor) and self.factor > 1):
            raise ValueError(f"factor must be > 1, got {self.factor!r}")
        if not (math.isfinite(self.maximum) and self.maximum >= self.start):
            raise ValueError(f"maximum must be >= start ({self.start:g}), got {self.maximum!r}")
        if not (0 < self.precision < 1):
            raise ValueError(f"precision must be between 0 and 1, got {self.precision!r}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps!r}")
        if self.integer and self.start != int(self.start):
            raise ValueError(f"a whole-number load must start at a whole number, got {self.start!r}")

    def climb(self) -> Iterator[float]:
        """The geometric loads, ``start`` up to ``maximum`` (which is the last one)."""
        load = self.start
        while True:
            yield load
            if load >= self.maximum:
                return
            following = min(load * self.factor, self.maximum)
            if self.integer:
                following = min(max(math.floor(following), load + 1), self.maximum)
            load = following

    def narrow_enough(self, low: float, high: float) -> bool:
        """Whether the bracket [low, high] is as narrow as the plan asks."""
        width = high - low
        return width <= self.precision * high or (self.integer and width <= 1)

    def _bisections(self, low: float, high: float) -> int:
        """The most bisection steps the bracket [low, high] can take (every outcome)."""
        worst = 0
        # The widest the bracket can be after n halvings is (high - low) / 2**n (rounded up for
        # whole numbers); its upper end is at least low + width, so precision * (low + width)
        # is the smallest stopping width. Counting with that is an upper bound.
        width = high - low
        while not (width <= self.precision * (low + width) or (self.integer and width <= 1)):
            width = math.ceil(width / 2) if self.integer else width / 2
            worst += 1
        return worst

    def bound(self) -> int:
        """The most steps this search takes, whatever passes or fails (``max_steps`` if lower)."""
        loads = list(self.climb())
        worst = len(loads)  # every step up passes
        for index in range(1, len(loads)):  # step ``index`` is the first to fail
            worst = max(worst, index + 1 + self._bisections(loads[index - 1], loads[index]))
        return worst if self.max_steps is None else min(worst, self.max_steps)


@dataclass(frozen=True)
class SearchOutcome:
    """Where the search ended: the highest load that passed and the lowest that failed."""

    highest_pass: float | None
    lowest_fail: float | None
    steps: int
    bound: int
    reason: StopReason

    def describe(self) -> str:
        """One line for people."""
        if self.reason == "below-start":
            return f"the first step ({self.lowest_fail:g}) already failed: capacity is below --start"
        if self.reason == "maximum":
            return f"passed at the maximum ({self.highest_pass:g}): capacity is at least that"
        bracket = f"between {self.highest_pass:g} (pass) and {self.lowest_fail:g} (fail)"
        if self.reason == "step-bound":
            return f"stopped at the step bound ({self.bound}): capacity {bracket}"
        return f"capacity {bracket}, after {self.steps} steps"


def _midpoint(plan: SearchPlan, low: float, high: float) -> float:
    middle = (low + high) / 2
    return float(math.floor(middle)) if plan.integer else middle


def capacity_search(plan: SearchPlan) -> Generator[float, bool, SearchOutcome]:
    """Yield the next load to try; receive whether the SLO held there; return the outcome."""
    bound = plan.bound()
    steps = 0
    highest_pass: float | None = None
    lowest_fail: float | None = None

    def outcome(reason: StopReason) -> SearchOutcome:
        return SearchOutcome(highest_pass, lowest_fail, steps, bound, reason)

    for load in plan.climb():
        if steps >= bound:
            return outcome("step-bound")
        passed = yield load
        steps += 1
        if not passed:
            lowest_fail = load
            break
        highest_pass = load
    else:
        return outcome("maximum")
    if highest_pass is None:
        return outcome("below-start")
    while not plan.narrow_enough(highest_pass, lowest_fail):
        if steps >= bound:
            return outcome("step-bound")
        load = _midpoint(plan, highest_pass, lowest_fail)
        passed = yield load
        steps += 1
        if passed:
            highest_pass = load
        else:
            lowest_fail = load
    return outcome("bracketed")


def run_search(plan: SearchPlan, judge: Callable[[float], bool]) -> tuple[list[tuple[float, bool]], SearchOutcome]:
    """Drive the search with ``judge(load) -> bool`` (tests, dry runs): the steps and the outcome."""
    steps: list[tuple[float, bool]] = []
    search = capacity_search(plan)
    try:
        load = next(search)
        while True:
            passed = bool(judge(load))
            steps.append((load, passed))
            load = search.send(passed)
    except StopIteration as stop:
        return steps, stop.value
