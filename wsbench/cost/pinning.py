"""Keep the load generator and the proxies on separate cores where the machine allows.

On a machine with n >= 2 usable cores the generator gets the first half (at least one),
the lab's proxies and pods the rest. Affinity is set per thread (``/proc/PID/task``), as
the kernel keeps it, and inherited by processes and threads started later, so pinning
this process before the workers are spawned pins the workers. :class:`Pinning` records
which cores ran what and puts everything back on ``undo()``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from wsbench.cost.proc import session_members

__all__ = ["split_cores", "Pinning"]


def split_cores(cores: Iterable[int]) -> tuple[list[int], list[int]] | None:
    """(generator cores, lab cores); None when there are fewer than two cores."""
    ordered = sorted(cores)
    if len(ordered) < 2:
        return None
    half = max(1, len(ordered) // 2)
    return ordered[:half], ordered[half:]


def _threads(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


@dataclass
class Pinning:
    """Cores given to the generator and to each lab member, and how to put them back."""

    generator: list[int] = field(default_factory=list)
    lab: list[int] = field(default_factory=list)
    members: dict[str, list[int]] = field(default_factory=dict)  # name -> pids
    note: str = ""
    _previous: dict[int, set[int]] = field(default_factory=dict)

    @classmethod
    def apply(cls, lab_members: dict[str, list[int]]) -> Pinning:
        """Pin this process (and so the workers it starts) apart from ``lab_members``' pids."""
        split = split_cores(os.sched_getaffinity(0))
        if split is None:
            return cls(note="one core: generator and proxies share it (figures are bounded by the machine)")
        pinning = cls(generator=split[0], lab=split[1], members={k: list(v) for k, v in lab_members.items()})
        pinning._set(0, set(split[0]))
        for pids in lab_members.values():
            for pid in pids:
                for tid in _threads(pid):
                    pinning._set(tid, set(split[1]))
        return pinning

    @classmethod
    def apply_to_lab(cls, lab: Any, proxies: Iterable[str]) -> Pinning:
        """:meth:`apply` with every process of ``proxies``, of every pod of ``lab`` and of its
        reference echo."""
        members = {name: session_members(lab.proxy(name).pid) for name in proxies}
        members.update({pod.name: session_members(pod.pid) for pod in lab.state.pods})
        if lab.state.reference is not None:  # the calibration probe's echo: a lab process too
            members["reference"] = session_members(lab.state.reference.pid)
        return cls.apply(members)

    def _set(self, tid: int, cores: set[int]) -> None:
        try:
            previous = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, cores)
        except OSError:  # gone, or not ours
            return
        self._previous.setdefault(tid, previous)

    def undo(self) -> None:
        """Every thread back on the cores it had."""
        for tid, cores in self._previous.items():
            try:
                os.sched_setaffinity(tid, cores)
            except OSError:
                continue
        self._previous.clear()

    def describe(self) -> dict[str, Any]:
        """What ran where, for the Result."""
        if not self.generator:
            return {"pinned": False, "note": self.note}
        return {"pinned": True, "generator_cores": self.generator, "lab_cores": self.lab,
                "lab_members": self.members,
                "note": f"generator workers on core(s) {self.generator}; proxies and pods on {self.lab}"}
