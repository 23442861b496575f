"""What a gate decided: frozen data, rendered by :mod:`wsbench.gate.output`, saved as
``gate.json`` (schema ``wsbench/gate@1``) beside the Result so a report shows the verdict
the run got (its baseline checks included) without judging again."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

from wsbench.errors import InputFileError

__all__ = ["CheckKind", "Observation", "Check", "GateVerdict", "VERDICT_SCHEMA"]

CheckKind = Literal["threshold", "regression", "validity"]
VERDICT_SCHEMA = "wsbench/gate@1"
_KINDS = ("threshold", "regression", "validity")


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

    @property
    def rows(self) -> tuple[Observation, ...]:
        """Every observation of every check: the rows of the verdict's table."""
        return tuple(o for check in self.checks for o in check.observations)

    @property
    def failed_rows(self) -> tuple[Observation, ...]:
        """The rows that failed."""
        return tuple(o for o in self.rows if not o.passed)

    def to_json(self) -> dict[str, Any]:
        """What ``gate.json`` holds."""
        return {
            "schema": VERDICT_SCHEMA,
            "run_id": self.run_id,
            "baseline_run_id": self.baseline_run_id,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "warnings": list(self.warnings),
            "checks": [
                {"name": c.name, "kind": c.kind, "source": c.source, "passed": c.passed,
                 "observations": [asdict(o) for o in c.observations]}
                for c in self.checks
            ],
        }

    @classmethod
    def from_json(cls, data: Any, *, source: str = "gate.json") -> GateVerdict:
        """Read a saved verdict; InputFileError naming ``source`` when it is not one."""
        if not isinstance(data, Mapping) or data.get("schema") != VERDICT_SCHEMA:
            schema = data.get("schema") if isinstance(data, Mapping) else None
            raise InputFileError(f"{source}: not a wsbench gate verdict (schema {schema!r}, expected {VERDICT_SCHEMA!r})")
        try:
            checks = tuple(
                Check(str(c["name"]), cast(CheckKind, c["kind"]) if c["kind"] in _KINDS else "threshold",
                      tuple(Observation(str(o["target"]), str(o["subject"]), str(o["observed"]), str(o["expected"]),
                                        bool(o["passed"]), str(o.get("note", ""))) for o in c["observations"]),
                      str(c.get("source", "")))
                for c in data["checks"]
            )
            baseline = data.get("baseline_run_id")
            return cls(str(data.get("run_id") or ""), checks, tuple(str(w) for w in data.get("warnings", [])),
                       str(baseline) if baseline is not None else None)
        except (KeyError, TypeError) as exc:
            raise InputFileError(f"{source}: malformed gate verdict ({type(exc).__name__}: {exc})") from exc
