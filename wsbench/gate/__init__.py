"""The CI gate: thresholds, baseline regressions and run validity, judged from Result dicts.

Pure library code (no I/O): :func:`evaluate_gate` returns a :class:`GateVerdict`;
:func:`to_markdown` and :func:`to_junit` render it. ``wsbench gate`` (``wsbench.cli.gate``)
reads the files, prints and writes.
"""

from __future__ import annotations

from wsbench.gate.evaluate import evaluate_gate, parse_thresholds, scenario_thresholds
from wsbench.gate.expr import Threshold, ThresholdError, parse_threshold
from wsbench.gate.output import to_junit, to_markdown
from wsbench.gate.regression import DEFAULT_MAX_REGRESSIONS, RegressionLimit, parse_max_regression
from wsbench.result.verdict import Check, GateVerdict, Observation

__all__ = [
    "evaluate_gate",
    "parse_thresholds",
    "scenario_thresholds",
    "Threshold",
    "ThresholdError",
    "parse_threshold",
    "to_junit",
    "to_markdown",
    "DEFAULT_MAX_REGRESSIONS",
    "RegressionLimit",
    "parse_max_regression",
    "Check",
    "GateVerdict",
    "Observation",
]
