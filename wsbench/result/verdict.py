"""What a gate decided: frozen data, rendered by :mod:`wsbench.gate.output`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["CheckKind", "Observation", "Check", "GateVerdict"]

CheckKind = Literal["threshold", "regression", "validity"]


@dataclass(frozen=True)
class Observation:
    """One measured subject (a target, or one disruption of a target) against one check."""

    target: str
    subject: str  # what was measured, e.g. "nginx" or "nginx disruptions[0] (pod-restart @ 10 s)"
    observed: str  # the value as shown, e.g. "42.1 ms"
    expected: str  # the limit as shown, e.g. "< 50 ms"
    passed: bool
    note: str = ""  # "no data: ...", a confidence interval, ...


@dataclass(frozen=True)
class Check:
    """One threshold, regression limit or validity rule, and how each subject fared."""

    name: str
    kind: CheckKind
    observations: tuple[Observation, ...]
    source: str = ""  # where the check came from: "scenario", "--threshold", "--max-regression", ...

    @property
    def passed(self) -> bool:
        """A check with nothing observed does not pass: what cannot be checked is not a pass."""
        return bool(self.observations) and all(o.passed for o in self.observations)

    @property
    def failures(self) -> tuple[Observation, ...]:
        """The observations that failed."""
        return tuple(o for o in self.observations if not o.passed)


@dataclass(frozen=True)
class GateVerdict:
    """All checks of one gate run; it passes when every check passes."""

    run_id: str
    checks: tuple[Check, ...]
    warnings: tuple[str, ...] = ()
    baseline_run_id: str | None = None

    @property
    def passed(self) -> bool:
        """Whether the gate passes."""
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(check for check in self.checks if not check.passed)

    @property
    def exit_code(self) -> int:
        """0 when the gate passes, 1 when it fails."""
        return 0 if self.passed else 1
