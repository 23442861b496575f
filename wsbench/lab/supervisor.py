"""Watch a lab while a run measures through it: did the lab itself break?

Two threads on the run's clock (``time.monotonic_ns``): every ``interval_s`` (0.5 s) each
proxy's and pod's pid + start time; every ``probe_every_s`` (1 s) a real upgrade + echo on
each (a proxy through its URL, a pod directly). A member that exits, is stopped (state T),
or answers no upgrade + echo for ``hang_s`` is an event. Planned disruptions open a
*window* on a member (:meth:`Supervisor.planned`): what happens to it inside the window
(plus ``settle_s``) is planned; while any pod's window is open, a proxy that cannot reach
its pods is explained too. A member replaced on purpose (a restarted pod, Envoy's next
epoch) is followed by its new pid.

**Busy is not hung.** A run that saturates a proxy also slows the supervisor's probe: the
probe alone cannot tell a busy proxy from a hung one. So the run's own traffic counts as
liveness: for a proxy, the successful upgrades and echoes of the run through it (read from
the workers' shards, :meth:`Supervisor.follow_traffic`); for a pod, the echoes its own
``GET /stats`` counts. A member whose probes fail for ``hang_s`` is hung only when that
count did not grow meanwhile either. A stopped process (SIGSTOP) moves no traffic (and is
caught by its state as well).

    with Supervisor(lab) as watch:
        ...                                        # the run
        watch.infrastructure("nginx", start_ns, end_ns)   # {"ok": False, "events": [...]}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any

from wsbench.lab import procs
from wsbench.lab.health import Member, log_lines, members_of, probe_echo
from wsbench.protocol.url import parse_ws_url

__all__ = ["Supervisor", "TargetWatch", "WatchEvent", "pod_echoes", "tell_events", "EXITED", "HUNG", "STOPPED"]

EXITED = "exited"
#: alive but answered no upgrade + echo for ``hang_s``
HUNG = "hung"
#: the process is stopped (SIGSTOP, a debugger): it answers nothing
STOPPED = "stopped"
_NS = 1_000_000_000


@dataclass(frozen=True)
class WatchEvent:
    """Something that happened to one lab member."""

    member: str  # "proxy nginx" | "pod pod-1"
    kind: str  # EXITED | HUNG | STOPPED
    at_ns: int  # monotonic
    wall: float
    pid: int
    detail: str = ""
    log_tail: tuple[str, ...] = ()
    planned: str | None = None  # the disruption that explains it, or None
    #: the last time the member was seen well (its failure began after this)
    since_ns: int = 0

    @property
    def since_wall(self) -> float:
        """Wall clock of ``since_ns``."""
        return self.wall - (self.at_ns - (self.since_ns or self.at_ns)) / _NS

    def to_json(self, start_ns: int) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if k not in ("at_ns", "log_tail", "since_ns")}
        out["at_s"] = round((self.at_ns - start_ns) / _NS, 3)
        out["since_s"] = round(((self.since_ns or self.at_ns) - start_ns) / _NS, 3)
        out["log_tail"] = list(self.log_tail)
        return out


@dataclass
class _Watched:
    member: Member
    failing_since_ns: int | None = None
    reported: set[str] = field(default_factory=set)
    #: last liveness check that found it running, last probe that it answered
    seen_ok_ns: int = field(default_factory=time.monotonic_ns)
    probed_ok_ns: int = field(default_factory=time.monotonic_ns)
    #: the run's traffic count through it when its probes began to fail
    traffic_mark: int | None = None


class Supervisor:
    """Watches every proxy and pod of ``lab`` (a :class:`wsbench.lab.Lab`) until stopped."""

    def __init__(self, lab: Any, *, interval_s: float = 0.5, probe_every_s: float = 1.0,
                 probe_timeout_s: float = 2.0, hang_s: float = 5.0, settle_s: float = 3.0,
                 on_event: Callable[[WatchEvent], None] = lambda event: None) -> None:
        self.lab = lab
        self.interval_s = interval_s
        self.probe_every_s = probe_every_s
        self.probe_timeout_s = probe_timeout_s
        self.hang_s = hang_s
        self.settle_s = settle_s
        self.on_event = on_event
        self.events: list[WatchEvent] = []
        self.checks = 0
        self.probes = 0
        #: probe failures past ``hang_s`` that the run's own traffic showed to be a busy member
        self.busy_not_hung = 0
        self._traffic: dict[str, Callable[[], int | None]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._watched: dict[str, _Watched] = {}
        #: member label -> [(what, start_ns, end_ns or None while it runs)]
        self._windows: dict[str, list[tuple[str, int, int | None]]] = {}

    # ------------------------------------------------------------------ life
    def start(self) -> Supervisor:
        self._refresh()
        for name, loop in (("liveness", self._liveness_loop), ("probes", self._probe_loop)):
            thread = threading.Thread(target=loop, name=f"wsbench-lab-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._threads = []

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def follow_traffic(self, member: str, count: Callable[[], int | None] | None) -> None:
        """The run's own successful upgrades + echoes through ``member`` ("proxy nginx"), a
        count that grows while it works (None: no evidence; ``count=None`` stops following)."""
        with self._lock:
            if count is None:
                self._traffic.pop(member, None)
            else:
                self._traffic[member] = count

    async def _traffic_of(self, member: Member) -> int | None:
        """The member's work so far (None: no evidence): what :meth:`follow_traffic` was
        given for it, else a pod's own echo count."""
        with self._lock:
            count = self._traffic.get(member.label)
        if count is not None:
            try:
                return count()
            except (OSError, ValueError, KeyError, TypeError):
                return None
        if member.kind == "pod":
            return await pod_echoes(member.urls[0], timeout=max(self.probe_timeout_s, 1.0))
        return None

    # ------------------------------------------------------------------ plans
    @contextlib.contextmanager
    def planned(self, member: str, what: str) -> Iterator[None]:
        """A disruption acts on ``member`` ("pod pod-1", "proxy nginx") while inside."""
        entry = (what, time.monotonic_ns(), None)
        with self._lock:
            self._windows.setdefault(member, []).append(entry)
        try:
            yield
        finally:
            with self._lock:
                windows = self._windows[member]
                windows[windows.index(entry)] = (what, entry[1], time.monotonic_ns())
            self._refresh()  # follow the new pid of a restarted pod or a new epoch

    def _explained(self, member: str, kind: str, at_ns: int) -> str | None:
        settle = int(self.settle_s * _NS)
        with self._lock:
            own = list(self._windows.get(member, ()))
            pods = [w for label, ws in self._windows.items() if label.startswith("pod ") for w in ws]
        for what, start, end in own:
            if start <= at_ns and (end is None or at_ns <= end + settle):
                return what
        if member.startswith("proxy ") and kind == HUNG:  # it may only have lost its pods
            for what, start, end in pods:
                if start <= at_ns and (end is None or at_ns <= end + settle):
                    return what
        return None

    # ------------------------------------------------------------------ watching
    def _refresh(self) -> None:
        current = {m.label: m for m in members_of(self.lab.state)}
        replaced = []
        with self._lock:
            for label, member in current.items():
                known = self._watched.get(label)
                if known is None or (known.member.pid, known.member.start_time) != (member.pid, member.start_time):
                    self._watched[label] = _Watched(member)
                    if known is not None:
                        replaced.append((known, member.pid))
        for known, new_pid in replaced:  # an exit faster than one check is still recorded
            if not procs.is_alive(known.member.pid, known.member.start_time):
                self._record(known, EXITED, f"pid {known.member.pid} is no longer running (replaced by {new_pid})")

    def _record(self, watched: _Watched, kind: str, detail: str) -> None:
        key = f"{kind}:{watched.member.pid}"
        if key in watched.reported:
            return
        watched.reported.add(key)
        now = time.monotonic_ns()
        since = watched.probed_ok_ns if kind == HUNG else watched.seen_ok_ns
        event = WatchEvent(member=watched.member.label, kind=kind, at_ns=now, wall=round(time.time(), 3),
                           pid=watched.member.pid, detail=detail, log_tail=log_lines(watched.member.log_file),
                           planned=self._explained(watched.member.label, kind, now), since_ns=since)
        with self._lock:
            self.events.append(event)
        self.on_event(event)

    def _liveness_loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._refresh()
            with self._lock:
                watched = list(self._watched.values())
            for item in watched:
                pid, started = item.member.pid, item.member.start_time
                state = procs.process_state(pid, started)
                if state is None:
                    self._record(item, EXITED, f"pid {pid} is no longer running")
                elif state in ("T", "t"):
                    self._record(item, STOPPED, f"pid {pid} is stopped (state {state})")
                else:
                    item.seen_ok_ns = time.monotonic_ns()
            self.checks += 1

    def _probe_loop(self) -> None:
        while not self._stop.wait(self.probe_every_s):
            with self._lock:
                watched = [w for w in self._watched.values()
                           if procs.is_alive(w.member.pid, w.member.start_time)]
            asyncio.run(self._probe_round(watched))
            self.probes += 1

    async def _probe_round(self, watched: list[_Watched]) -> None:
        async def one(item: _Watched) -> None:
            problem = await probe_echo(item.member.urls[0], ca_file=self.lab.ca_file,
                                       timeout=self.probe_timeout_s)
            now = time.monotonic_ns()
            if problem is None:
                item.failing_since_ns = None
                item.probed_ok_ns = now
                return
            if item.failing_since_ns is None:
                item.failing_since_ns = now
                item.traffic_mark = await self._traffic_of(item.member)
            elif now - item.failing_since_ns >= self.hang_s * _NS:
                traffic = await self._traffic_of(item.member)
                if traffic is not None and item.traffic_mark is not None and traffic > item.traffic_mark:
                    # busy, not hung: the run's own sessions got through it meanwhile
                    self.busy_not_hung += 1
                    item.failing_since_ns, item.traffic_mark = now, traffic
                    item.probed_ok_ns = now
                elif procs.is_alive(item.member.pid, item.member.start_time):
                    seconds = (now - item.failing_since_ns) / _NS
                    moved = "" if traffic is None else f"; the run's own traffic through it stood still at {traffic}"
                    self._record(item, HUNG, f"no upgrade + echo for {seconds:.1f} s{moved}: {problem}")

        await asyncio.gather(*(one(item) for item in watched))

    # ------------------------------------------------------------------ verdict
    def infrastructure(self, proxy: str, start_ns: int, end_ns: int) -> dict[str, Any]:
        """What the lab did while ``proxy``'s target ran (``start_ns`` .. ``end_ns``, the
        target's clock): ``ok`` is False when its proxy died or hung unplanned (at any time
        up to the end: a proxy dead before the target started counts too) or a pod did
        while the target ran. Planned events are listed, marked with their disruption."""
        with self._lock:
            events = list(self.events)
        mine = [e for e in events
                if (e.member == f"proxy {proxy}" and e.at_ns <= end_ns)
                or (e.member.startswith("pod ") and start_ns <= e.at_ns <= end_ns)]
        dead_before = [e for e in mine if e.member == f"proxy {proxy}" and e.at_ns < start_ns
                       and e.kind == EXITED and not procs.is_alive(e.pid)]
        keep = [e for e in mine if e.at_ns >= start_ns] + dead_before
        return {
            "ok": not any(e.planned is None for e in keep),
            "events": [e.to_json(start_ns) for e in sorted(keep, key=lambda e: e.at_ns)],
            "watched": {"members": len(self._watched), "interval_s": self.interval_s,
                        "probe_every_s": self.probe_every_s, "hang_s": self.hang_s,
                        "busy_not_hung": self.busy_not_hung},
        }


async def pod_echoes(url: str, *, timeout: float) -> int | None:
    """A ``wsbench serve`` pod's echoed messages so far (``GET /stats``), None if it does
    not answer within ``timeout``."""
    parsed = parse_ws_url(url)
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
            writer.write(f"GET /stats HTTP/1.1\r\nHost: {parsed.host}\r\nConnection: close\r\n\r\n".encode())
            body = (await reader.read(65536)).partition(b"\r\n\r\n")[2]
            return int(json.loads(body)["messages_echoed"])
    except (OSError, TimeoutError, ValueError, KeyError, TypeError):
        return None
    finally:
        if writer is not None:
            writer.close()


def tell_events(say: Callable[[str], None]) -> Callable[[WatchEvent], None]:
    """An ``on_event`` that says each event on one line the moment it is seen."""

    def tell(event: WatchEvent) -> None:
        why = f" (planned: {event.planned})" if event.planned else " -- a lab failure, not the controller"
        say(f"lab: {event.member} (pid {event.pid}) {event.kind}: {event.detail}{why}")

    return tell


class TargetWatch:
    """A runner observer: the ``infrastructure`` section of one target's Result entry."""

    def __init__(self, supervisor: Supervisor, proxy: str) -> None:
        self.supervisor = supervisor
        self.proxy = proxy
        self._start_ns = 0

    def begin(self) -> None:
        self._start_ns = time.monotonic_ns()

    def start(self, start_ns: int) -> None:
        self._start_ns = start_ns

    def finish(self, target: dict[str, Any]) -> dict[str, Any]:
        return {"infrastructure": self.supervisor.infrastructure(self.proxy, self._start_ns, time.monotonic_ns())}
