"""How busy the whole machine was while a target ran: is a figure the machine's limit?

On a small machine the generator, the proxies and the pods share the CPUs. When every CPU
was at least :data:`MACHINE_BUSY_PERCENT` busy over a target's run, its figures may be the
machine's limit rather than the controller's; the Result says so per target
(``machine_cpu``), and the report and ``capacity.json`` repeat it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MACHINE_BUSY_PERCENT", "cpu_times", "machine_busy", "machine_note", "MachineLoadObserver"]

#: the machine's CPUs at least this busy: a figure may be the machine's, not the controller's
MACHINE_BUSY_PERCENT = 90.0


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of every CPU, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def machine_busy(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """Percent of every CPU's time spent busy between two /proc/stat readings."""
    total = after[1] - before[1]
    return round(100.0 * (after[0] - before[0]) / total, 1) if total > 0 else None


def machine_note(busy: float | None, where: str) -> str | None:
    """What to say when the machine was busy enough to bound a figure (else None)."""
    if busy is None or busy < MACHINE_BUSY_PERCENT:
        return None
    return (f"the machine's CPUs were {busy:.0f}% busy {where}: this figure may be the machine's "
            "limit rather than the controller's")


class MachineLoadObserver:
    """A runner observer: ``machine_cpu`` of one target (its CPUs' busy share over the run)."""

    def __init__(self) -> None:
        self._before: tuple[int, int] | None = None

    def begin(self) -> None:
        pass

    def start(self, start_ns: int) -> None:
        self._before = cpu_times()

    def finish(self, target: dict[str, Any]) -> dict[str, Any]:
        busy = machine_busy(self._before, cpu_times()) if self._before is not None else None
        note = machine_note(busy, "while this target ran")
        return {"machine_cpu": {"busy_percent": busy, "bounded_by_machine": note is not None,
                                "threshold_percent": MACHINE_BUSY_PERCENT, **({"note": note} if note else {})}}
