"""Measure a client from outside: its process tree's CPU and RSS, the echo server's counts.

Every peer (k6, Tsung, Artillery, Locust, wsbench, the bare clients) is measured the same
way: the harness starts it pinned to one CPU, reads its process tree's CPU (user + system,
``/proc/PID/stat``) and RSS (``/proc/PID/statm``), and reads the echo server's counters
(sessions upgraded, first echoes, messages echoed: ``bench/echo_server.py --counters``) to
know where the client is. No peer reports its own figures.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import psutil

__all__ = ["ProcessTree", "Sample", "Spawned", "children_cpu_s", "spawn", "stop_tree"]

_TICK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Sample:
    """The tree at one moment: CPU seconds used so far (every process seen), RSS now."""

    t: float
    cpu_s: float
    rss: int


@dataclass
class ProcessTree:
    """A root process and its descendants; the CPU of one that exited stays counted."""

    root: int
    cpu_by_pid: dict[int, float] = field(default_factory=dict)
    _pids: set[int] = field(default_factory=set)
    _listed_at: float = 0.0

    def _list(self, now: float) -> None:
        try:
            root = psutil.Process(self.root)
            self._pids = {self.root} | {child.pid for child in root.children(recursive=True)}
        except psutil.Error:
            self._pids = set()
        self._listed_at = now

    def sample(self, relist_s: float = 0.25) -> Sample:
        """CPU and RSS of the tree; the list of processes is refreshed every ``relist_s``."""
        now = time.monotonic()
        if now - self._listed_at >= relist_s:
            self._list(now)
        rss = 0
        for pid in list(self._pids):
            try:
                with open(f"/proc/{pid}/stat", "rb") as handle:
                    stat = handle.read()
                with open(f"/proc/{pid}/statm", "rb") as handle:
                    statm = handle.read()
            except OSError:
                self._pids.discard(pid)
                continue
            fields = stat[stat.rindex(b")") + 2:].split()
            self.cpu_by_pid[pid] = (int(fields[11]) + int(fields[12])) / _TICK
            rss += int(statm.split()[1]) * _PAGE
        return Sample(now, sum(self.cpu_by_pid.values()), rss)


def children_cpu_s() -> float:
    """CPU of every waited-for descendant of this process (``RUSAGE_CHILDREN``)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Spawned:
    process: subprocess.Popen[bytes]
    tree: ProcessTree
    started: float
    children_cpu0: float


def spawn(argv: Sequence[str], *, cwd: str, env: dict[str, str], cpu: int | None,
          log_path: str) -> Spawned:
    """Start a peer in its own session, pinned to ``cpu``, open files raised to the hard cap."""

    def prepare() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    before = children_cpu_s()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, preexec_fn=prepare,
                                   start_new_session=True)
    return Spawned(process, ProcessTree(process.pid), time.monotonic(), before)


def stop_tree(spawned: Spawned, grace_s: float = 5.0,
              still_running: Callable[[], bool] | None = None) -> None:
    """SIGTERM the peer's process group (its own session), SIGKILL after ``grace_s``."""
    process = spawned.process
    for signum, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
        if process.poll() is not None and not (still_running and still_running()):
            return
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
