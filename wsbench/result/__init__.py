"""The typed Result (``wsbench/result@1``) and what every reader of it shares. Pure.

* :mod:`~wsbench.result.model` — ``Result``, ``TargetResult`` and their sections, with
  ``from_json``/``to_json`` that round-trip every Result exactly (unknown keys kept);
* :mod:`~wsbench.result.summary` — ``Summary``, one histogram (``H``), decoded on demand;
* :mod:`~wsbench.result.merge` / :mod:`~wsbench.result.timeline` — the one target merge
  and the one timeline merge; :mod:`~wsbench.result.shards` feeds them worker shards,
  :mod:`~wsbench.result.runs` the Results of several machines (``wsbench merge``);
* :mod:`~wsbench.result.distribution`, :mod:`~wsbench.result.stats`,
  :mod:`~wsbench.result.fmt` — the statistics and formatting gate and report share;
* :mod:`~wsbench.result.verdict` — the gate verdict type the report shows.

Layering: ``result`` sits on ``metrics`` (the histogram); ``gate`` and ``report`` read it and
never each other. Nothing here reads a file, a clock or a socket (``wsbench.files`` writes).
"""

from __future__ import annotations

from wsbench.result.merge import TargetPart, merge_targets
from wsbench.result.model import (
    RESULT_SCHEMA,
    Closes,
    Counts,
    Disruption,
    Generator,
    Messages,
    Result,
    Sessions,
    ShardOf,
    TargetResult,
    Timeline,
)
from wsbench.result.summary import Summary
from wsbench.result.verdict import Check, GateVerdict, Observation

__all__ = [
    "RESULT_SCHEMA",
    "Result",
    "TargetResult",
    "Summary",
    "Sessions",
    "Messages",
    "Counts",
    "Closes",
    "Disruption",
    "Timeline",
    "Generator",
    "ShardOf",
    "TargetPart",
    "merge_targets",
    "Check",
    "GateVerdict",
    "Observation",
]
