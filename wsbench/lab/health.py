"""Is each lab member what the state file says it is, and does it answer?

A member is checked two ways: its pid still runs the process that started at the
recorded start time (``/proc/PID/stat``), and a real WebSocket upgrade + echo works
(through a proxy's own URLs, or straight to a pod). ``lab status`` and the run's
supervisor use this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from wsbench.lab import procs
from wsbench.lab.model import LabState
from wsbench.lab.probe import echo_once, open_session

__all__ = ["Member", "MemberHealth", "members_of", "check_members", "check_lab", "probe_echo",
           "HEALTHY", "DEAD", "UNRESPONSIVE"]

HEALTHY = "healthy"
#: the pid is gone, a zombie, or another process now
DEAD = "dead"
#: the process runs but no upgrade + echo worked
UNRESPONSIVE = "unresponsive"


@dataclass(frozen=True)
class Member:
    """One process of the lab that should run: a proxy, a pod or the reference echo."""

    kind: str  # "proxy" | "pod" | "reference"
    name: str
    pid: int
    start_time: int
    urls: tuple[str, ...]
    log_file: str

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class MemberHealth:
    member: Member
    state: str
    error: str | None = None
    log_tail: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"state": self.state}
        if self.error:
            out["error"] = self.error
        if self.log_tail:
            out["log_tail"] = list(self.log_tail)
        return out


def members_of(state: LabState) -> list[Member]:
    """Every proxy, pod and the reference echo of the lab, as the state file records them."""
    members = [
        Member("proxy", name, info.pid, info.start_time,
               tuple(url for url in (info.url, info.wss_url) if url), info.log_file)
        for name, info in state.proxies.items()
    ]
    members += [Member("pod", pod.name, pod.pid, pod.start_time, (pod.url,), pod.log_file)
                for pod in state.pods]
    if state.reference is not None:
        ref = state.reference
        members.append(Member("reference", "echo", ref.pid, ref.start_time, (ref.url,), ref.log_file))
    return members


def log_lines(path: str, lines: int = 10) -> tuple[str, ...]:
    """The last lines of a member's log."""
    return tuple(procs.log_tail(path, lines).splitlines())


async def probe_echo(url: str, *, ca_file: str | None, timeout: float) -> str | None:
    """One upgrade + echo; None when it worked, else what went wrong (one line)."""
    try:
        async with asyncio.timeout(timeout):
            async with open_session(url, ca_file=ca_file, timeout=timeout) as ws:
                await echo_once(ws, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - every failure is an answer here
        return f"{url}: {type(exc).__name__}: {exc}"[:300]
    return None


async def check_member(member: Member, *, ca_file: str | None, timeout: float = 3.0) -> MemberHealth:
    """Pid + start time, then an upgrade + echo on each of its URLs."""
    if not procs.is_alive(member.pid, member.start_time):
        return MemberHealth(member, DEAD, f"pid {member.pid} is not running", log_lines(member.log_file))
    for url in member.urls:
        problem = await probe_echo(url, ca_file=ca_file, timeout=timeout)
        if problem is not None:
            state = UNRESPONSIVE if procs.is_alive(member.pid, member.start_time) else DEAD
            return MemberHealth(member, state, problem, log_lines(member.log_file))
    return MemberHealth(member, HEALTHY)


async def check_members(members: Sequence[Member], *, ca_file: str | None,
                        timeout: float = 3.0) -> list[MemberHealth]:
    """Every member at once."""
    return list(await asyncio.gather(*(check_member(m, ca_file=ca_file, timeout=timeout) for m in members)))


def check_lab(state: LabState, *, timeout: float = 3.0) -> list[MemberHealth]:
    """Every member of the lab (blocking)."""
    return asyncio.run(check_members(members_of(state), ca_file=state.ca_file, timeout=timeout))
