"""What a group of processes spends, read from ``/proc`` (Linux): CPU time and resident memory.

A lab proxy is every process of its session (the lab starts each proxy as a session
leader): the master and its workers, children included. CPU time is each live member's
threads' run time from ``/proc/PID/task/TID/schedstat`` (nanoseconds; ``utime``/``stime``
count whole clock ticks, 10 ms here, too coarse for a second of a proxy's work), per
process in ``GroupReading.cpu_by_pid``; the sampler keeps what a worker had spent when it
exits (``cutime`` is not used: it would count a reaped worker twice).
RSS is the sum of the members' resident pages (shared pages counted once per process,
as ``ps`` does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GroupReading", "read_stat", "session_members", "read_group", "CLOCK_TICKS", "PAGE_KIB"]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


@dataclass(frozen=True)
class GroupReading:
    """One reading of a group of processes."""

    cpu_s: float  # run time of the live members' threads
    rss_kib: int
    pids: tuple[int, ...]
    #: pid -> the CPU it last ran on (``/proc/PID/stat`` field 39)
    last_cpu: dict[int, int]
    #: pid -> its threads' run time (s)
    cpu_by_pid: dict[int, float]


def read_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` (index 0 is field 1, the pid; the name is field 2)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    close = raw.rindex(")")
    return [raw[: raw.index(" ")], raw[raw.index("(") + 1 : close], *raw[close + 2 :].split()]


def session_members(sid: int) -> list[int]:
    """Every live (not zombie) process whose session id is ``sid``."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = read_stat(int(entry.name))
        if fields and int(fields[5]) == sid and fields[2] not in ("Z", "X"):
            members.append(int(entry.name))
    return sorted(members)


def read_group(pids: list[int]) -> GroupReading:
    """CPU and RSS of ``pids`` now (processes that are gone are skipped)."""
    pages = 0
    seen = []
    last_cpu = {}
    cpu_by_pid = {}
    for pid in pids:
        fields = read_stat(pid)
        if fields is None or fields[2] in ("Z", "X"):
            continue
        # field 24: rss pages; 39: processor
        cpu_by_pid[pid] = _run_ns(pid) / 1e9
        pages += int(fields[23])
        last_cpu[pid] = int(fields[38])
        seen.append(pid)
    return GroupReading(sum(cpu_by_pid.values()), pages * PAGE_KIB, tuple(seen), last_cpu, cpu_by_pid)


def _run_ns(pid: int) -> int:
    """Nanoseconds on a CPU of every live thread of ``pid`` (schedstat's first field)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tasks:
        try:
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total
