"""A target's ``infrastructure`` section: what of the lab broke while it ran. Pure.

``{"ok": bool, "events": [{"member", "kind", "at_s", "wall", "pid", "detail", "log_tail",
"planned"}], ...}`` is written by ``run --lab``'s supervisor (:mod:`wsbench.lab.supervisor`).
A target whose lab failed unplanned (``ok`` false) is never judged as the controller's
behaviour: the summary, report, compare and gate say :data:`LAB_FAILURE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wsbench.result.codec import plain, read_object

__all__ = ["LAB_FAILURE", "Infrastructure", "lab_failed", "lab_failure_lines"]

#: what the summary, report, compare and gate say about such a target
LAB_FAILURE = "lab failure, not the controller"


@dataclass(frozen=True)
class Infrastructure:
    """``ok``: no lab member exited or hung unplanned; ``events``: every one seen (planned
    ones carry the disruption that explains them in ``planned``)."""

    ok: bool = True
    events: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any, where: str = "infrastructure") -> Infrastructure:
        raw = dict(read_object(data, where))
        events = raw.pop("events", None) or []
        return cls(ok=raw.pop("ok", True) is not False,
                   events=tuple(plain(e) for e in events if isinstance(e, Mapping)),
                   extra={k: plain(v) for k, v in raw.items()})

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": [plain(dict(e)) for e in self.events], **plain(dict(self.extra))}

    @property
    def failure_lines(self) -> list[str]:
        """One line per unplanned event: ``proxy nginx (pid 123) exited at 3.0 s: ...``."""
        return [
            f"{e.get('member')} (pid {e.get('pid')}) {e.get('kind')} at "
            f"{float(e.get('at_s') or 0.0):.1f} s: {e.get('detail', '')}"
            for e in self.events if not e.get("planned")
        ]


def _of(target: Any) -> Infrastructure | None:
    value = getattr(target, "infrastructure", None)
    if value is None and isinstance(target, Mapping) and isinstance(target.get("infrastructure"), Mapping):
        value = Infrastructure.from_json(target["infrastructure"])
    return value if isinstance(value, Infrastructure) else None


def lab_failed(target: Any) -> bool:
    """Whether the target's (a TargetResult or its JSON) lab broke unplanned while it ran."""
    found = _of(target)
    return found is not None and not found.ok


def lab_failure_lines(target: Any) -> list[str]:
    """The target's unplanned lab events, one line each ([] when none)."""
    found = _of(target)
    return found.failure_lines if found is not None else []
