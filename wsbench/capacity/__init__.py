"""Capacity: the highest load a target holds under an SLO (``wsbench capacity``).

``search`` (the policy generator), ``steps`` (a step's scenario and verdict) and ``result``
(the capacity Result) are pure; ``driver`` runs the steps through the engine and ``shards``
keeps several machines' searches in step.
"""

from __future__ import annotations

from wsbench.capacity.search import SearchOutcome, SearchPlan, capacity_search, run_search
from wsbench.capacity.steps import OVER, judge_step, step_scenario

__all__ = ["SearchPlan", "SearchOutcome", "capacity_search", "run_search", "OVER", "judge_step", "step_scenario"]
