"""Sample a proxy's CPU time and RSS once a second on the run's clock (a thread).

    sampler = CostSampler(members=lambda: session_members(proxy_pid))
    sampler.begin()              # idle readings until the run's t = 0 is known
    sampler.start(start_ns)      # then one reading at t = 0, 1, 2, ... s (monotonic clock)
    ...
    samples = sampler.stop()     # a last reading now; the readings as CostSamples

Readings before t = 0 (every ``idle_interval_s``) give the proxy's idle CPU rate and its
RSS before any session; the last one before t = 0 is kept as the baseline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from wsbench.cost.proc import GroupReading, read_group

__all__ = ["CostSample", "CostSamples", "CostSampler"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class CostSample:
    """One reading, at ``t_s`` on the run's clock (negative: before the run)."""

    t_s: float
    cpu_s: float
    rss_kib: int
    processes: int


@dataclass
class CostSamples:
    """Every reading of one group, and which CPUs its processes ran on during the run."""

    samples: list[CostSample] = field(default_factory=list)
    cpus_seen: set[int] = field(default_factory=set)
    pids_seen: set[int] = field(default_factory=set)


class CostSampler:
    """Reads a group of processes once a second on the run's clock, in a daemon thread."""

    def __init__(self, members: Callable[[], list[int]], *, idle_interval_s: float = 0.25,
                 interval_s: float = 1.0, clock_ns: Callable[[], int] = time.monotonic_ns) -> None:
        self._members = members
        self._idle_interval_s = idle_interval_s
        self._interval_ns = round(interval_s * _NS)
        self._clock_ns = clock_ns
        self._start_ns: int | None = None
        self._first_ns = 0
        self._wake = threading.Event()
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._readings: list[tuple[int, GroupReading]] = []
        self._spent: dict[int, float] = {}
        self._departed = 0.0
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        """Start reading (idle readings until :meth:`start`)."""
        self._first_ns = self._clock_ns()
        self._read()
        self._thread = threading.Thread(target=self._loop, name="wsbench-cost-sampler", daemon=True)
        self._thread.start()

    def start(self, start_ns: int) -> None:
        """The run's t = 0 (monotonic ns): read at t = 0, 1, 2 ... from now on."""
        with self._lock:
            self._start_ns = start_ns
        self._wake.set()

    def stop(self) -> CostSamples:
        """A last reading now; stop the thread; the readings from the last two before t = 0 on."""
        self._done.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        self._read()
        with self._lock:
            origin = self._start_ns if self._start_ns is not None else self._first_ns
            before = [r for r in self._readings if r[0] < origin][-2:]
            after = [r for r in self._readings if r[0] >= origin]
            out = CostSamples()
            previous: dict[int, float] = dict(before[-1][1].cpu_by_pid) if before else {}
            for at_ns, reading in [*before, *after]:
                out.samples.append(CostSample(round((at_ns - origin) / _NS, 3), reading.cpu_s,
                                              reading.rss_kib, len(reading.pids)))
                out.pids_seen.update(reading.pids)
            for _, reading in after:  # the CPUs a process ran on during the run (its CPU time grew)
                out.cpus_seen.update(cpu for pid, cpu in reading.last_cpu.items()
                                     if reading.cpu_by_pid.get(pid, 0.0) > previous.get(pid, 0.0))
                previous = dict(reading.cpu_by_pid)
            return out

    def _loop(self) -> None:
        tick = 0
        while not self._done.is_set():
            with self._lock:
                start_ns = self._start_ns
            if start_ns is None:
                self._wake.wait(self._idle_interval_s)
                self._wake.clear()
                if not self._done.is_set() and self._start_ns is None:
                    self._read()
                continue
            due_ns = start_ns + tick * self._interval_ns
            wait_ns = due_ns - self._clock_ns()
            if wait_ns > 0 and self._done.wait(wait_ns / _NS):
                return
            self._read()
            tick = max(tick + 1, (self._clock_ns() - start_ns) // self._interval_ns + 1)

    def _read(self) -> None:
        reading = read_group(self._members())
        at_ns = self._clock_ns()
        # a process that exited keeps counting what it spent (a proxy worker retired mid-run)
        for pid, spent in self._spent.items():
            if pid not in reading.cpu_by_pid:
                self._departed += spent
        # a process's run time never falls: a reading taken while it exits may miss threads
        spent = {pid: max(cpu, self._spent.get(pid, 0.0)) for pid, cpu in reading.cpu_by_pid.items()}
        self._spent = spent
        reading = replace(reading, cpu_s=sum(spent.values()) + self._departed, cpu_by_pid=spent)
        with self._lock:
            if self._start_ns is None:  # before t = 0 only the last two matter
                del self._readings[:-2]
            self._readings.append((at_ns, reading))
