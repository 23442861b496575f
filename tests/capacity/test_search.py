"""The capacity search policy: pure, fed pass/fail by hand, no I/O."""

from __future__ import annotations

import pytest

from wsbench.capacity.search import SearchPlan, capacity_search, run_search


def knee(capacity: float):
    """A target that holds up to ``capacity`` and fails above it."""
    return lambda load: load <= capacity


@pytest.mark.parametrize("capacity", [*range(10, 400, 7), 10, 11, 19, 20, 21, 159, 160])
def test_integer_search_brackets_the_knee_within_its_bound(capacity):
    plan = SearchPlan(start=10, factor=2, maximum=1000, precision=0.05)
    steps, outcome = run_search(plan, knee(capacity))
    assert outcome.reason == "bracketed"
    assert outcome.highest_pass <= capacity < outcome.lowest_fail
    assert plan.narrow_enough(outcome.highest_pass, outcome.lowest_fail)
    assert len(steps) == outcome.steps <= outcome.bound == plan.bound()
    # the climb is geometric until the first failure, then every load lies inside the bracket
    first_fail = next(i for i, (_, passed) in enumerate(steps) if not passed)
    assert [load for load, _ in steps[: first_fail + 1]] == [10 * 2**i for i in range(first_fail + 1)]


@pytest.mark.parametrize("capacity", [1.5, 13.3, 99.9, 512.0, 4000.1])
def test_float_search_precision_is_relative(capacity):
    plan = SearchPlan(start=1, factor=3, maximum=10_000, precision=0.02, integer=False)
    steps, outcome = run_search(plan, knee(capacity))
    assert outcome.highest_pass <= capacity < outcome.lowest_fail
    assert outcome.lowest_fail - outcome.highest_pass <= 0.02 * outcome.lowest_fail
    assert outcome.steps <= plan.bound()


def test_the_bound_holds_for_every_outcome_sequence():
    """Not only monotone targets: any pass/fail answers (a noisy target) stay within the bound."""
    plan = SearchPlan(start=5, factor=2, maximum=300, precision=0.1)
    bound = plan.bound()
    for pattern in range(1 << 12):
        answers = [(pattern >> i) & 1 == 1 for i in range(12)]
        replies = iter(answers)
        steps, outcome = run_search(plan, lambda _load, replies=replies: next(replies))
        assert outcome.steps == len(steps) <= bound


def test_passing_at_the_maximum_ends_there():
    plan = SearchPlan(start=10, factor=2, maximum=100)
    steps, outcome = run_search(plan, lambda load: True)
    assert [load for load, _ in steps] == [10, 20, 40, 80, 100]
    assert outcome.reason == "maximum" and outcome.highest_pass == 100 and outcome.lowest_fail is None


def test_failing_the_first_step_says_capacity_is_below_start():
    steps, outcome = run_search(SearchPlan(start=10), lambda load: False)
    assert len(steps) == 1 and outcome.reason == "below-start" and outcome.highest_pass is None
    assert "below --start" in outcome.describe()


def test_a_lower_max_steps_is_never_exceeded():
    plan = SearchPlan(start=10, factor=2, maximum=10_000, precision=0.01, max_steps=5)
    assert plan.bound() == 5
    steps, outcome = run_search(plan, knee(50))
    assert [load for load, _ in steps] == [10, 20, 40, 80, 60]
    assert outcome.reason == "step-bound"
    assert outcome.highest_pass == 40 and outcome.lowest_fail == 60


def test_the_caller_may_stop_the_search_early():
    search = capacity_search(SearchPlan(start=10))
    assert next(search) == 10
    assert search.send(True) == 20
    search.close()  # e.g. the load generator saturated
    with pytest.raises(StopIteration):
        next(search)


@pytest.mark.parametrize(
    "kwargs",
    [{"start": 0}, {"start": 10, "factor": 1}, {"start": 10, "maximum": 5}, {"start": 10, "precision": 0},
     {"start": 10, "max_steps": 0}, {"start": 1.5}],
)
def test_bad_plans_are_refused(kwargs):
    with pytest.raises(ValueError):
        SearchPlan(**kwargs)
