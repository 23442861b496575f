"""A lab proxy's cost over one target's run: the sampler, then the figures (``proxy_cost``).

The runner calls ``begin()`` before it starts the workers, ``start(start_ns)`` at the run's
t = 0 and ``finish(target)`` with the target's merged Result entry once the workers are
gone; ``finish`` gives the sections to add to that entry.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from wsbench.cost.figures import proxy_cost
from wsbench.cost.proc import session_members
from wsbench.cost.sampler import CostSampler

__all__ = ["RunObserver", "ProxyCostObserver"]


class RunObserver(Protocol):
    """Something that watches one target's run on the run's clock."""

    def begin(self) -> None: ...

    def start(self, start_ns: int) -> None: ...

    def finish(self, target: dict[str, Any]) -> dict[str, Any]: ...


class ProxyCostObserver:
    """Samples the processes of the session led by ``leader_pid`` (a lab proxy)."""

    def __init__(self, proxy: str, leader_pid: int, *, cores: list[int] | None = None) -> None:
        self.proxy = proxy
        self.leader_pid = leader_pid
        self.cores = cores
        self._sampler = CostSampler(lambda: session_members(leader_pid))

    def begin(self) -> None:
        self._sampler.begin()

    def start(self, start_ns: int) -> None:
        self._sampler.start(start_ns)

    def finish(self, target: dict[str, Any]) -> dict[str, Any]:
        readings = self._sampler.stop()
        samples = [asdict(s) for s in readings.samples]
        cost = proxy_cost(samples, target)
        cost.update({
            "proxy": self.proxy,
            "method": "/proc: schedstat run time of every thread of the proxy's processes "
                      "(its session: master and workers) + exited children; RSS summed",
            "processes": sorted(readings.pids_seen),
            "cpus_ran_on": sorted(readings.cpus_seen),
            **({"pinned_cores": self.cores} if self.cores is not None else {}),
            "samples": {key: [s[key] for s in samples] for key in ("t_s", "cpu_s", "rss_kib", "processes")},
        })
        return {"proxy_cost": cost}
