"""Lab disruptions that check they took effect, with measured times.

A record is ``ok`` only when the disruption did what it planned: the old pod is gone and
the new one answers an upgrade + echo; a reload really happened (a new epoch or new
worker processes, or the reload command succeeded) and the proxy answers again; a cut
pod was unreachable and answers again after the restore. What did not happen is listed
under ``problems``. Times are seconds on the target's clock (``now_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from wsbench.lab import procs
from wsbench.lab.health import probe_echo
from wsbench.lab.proxies import get_spec

__all__ = ["restart_pod", "reload_proxy", "cut_pod"]

_READY_S = 15.0


@contextlib.contextmanager
def _on_cores_of(pid: int) -> Iterator[None]:
    """Run this thread (and so what it starts) on the cores ``pid`` runs on, then put it back.

    A pinned run (``--pin``) keeps its own threads on the generator's cores and the lab's
    members on the others; a pod or proxy epoch started again from the disruptor's thread
    would inherit the generator's cores (measured: a restarted pod on a core shared with a
    busy process took over 10 s to start). It starts where the member it replaces ran.
    """
    try:
        cores, previous = os.sched_getaffinity(pid), os.sched_getaffinity(0)
        os.sched_setaffinity(0, cores)  # 0: the calling thread only
    except OSError:  # gone, or not ours: start it where we are
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, previous)


def _answers(url: str, ca_file: str | None, timeout: float = _READY_S) -> float | None:
    """Seconds until ``url`` answers an upgrade + echo, None if not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if asyncio.run(probe_echo(url, ca_file=ca_file, timeout=2.0)) is None:
            return round(time.monotonic() - started, 3)
        time.sleep(0.05)
    return None


def restart_pod(lab: Any, pod: str, *, hard: bool, now_s: Callable[[], float]) -> dict[str, Any]:
    """Stop the pod (drain, or SIGKILL when ``hard``), start a new one; check both."""
    old = lab.pod(pod)
    began = now_s()
    with _on_cores_of(old.pid):
        lab.stop_pod(pod, hard=hard)
        gone = not procs.is_alive(old.pid, old.start_time)
        stopped_at = now_s()
        new = lab.start_pod(pod)
    ready = _answers(new.url, None)
    out: dict[str, Any] = {
        "old_pid": old.pid, "new_pid": new.pid,
        "old_gone_s": round(stopped_at - began, 3) if gone else None,
        "new_ready_s": round(now_s() - began, 3) if ready is not None else None,
    }
    problems = []
    if not gone:
        problems.append(f"old pod (pid {old.pid}) still running")
    if ready is None or not procs.is_alive(new.pid, new.start_time):
        problems.append(f"new pod (pid {new.pid}) did not answer an upgrade + echo within {_READY_S:g} s")
    if problems:
        out["problems"] = problems
    return out


def _session_pids(pid: int) -> set[int]:
    return set(procs.session_members(pid))


def reload_proxy(lab: Any, proxy: str | None, now_s: Callable[[], float]) -> dict[str, Any]:
    """Reload the proxy its own way; check that the reload happened and it answers again."""
    if proxy is None:
        raise RuntimeError("proxy-reload needs a lab target")
    before = lab.proxy(proxy)
    kind = get_spec(proxy).reload.kind
    workers_before = _session_pids(before.pid)
    began = now_s()
    with _on_cores_of(before.pid):
        after = lab.reload(proxy)  # waits until the proxy answers an upgrade + echo (LabError if not)
    ready_s = round(now_s() - began, 3)
    out: dict[str, Any] = {"proxy": proxy, "reload": kind, "generation": after.generation,
                           "ready_s": ready_s}
    problems = []
    if kind == "hot-restart":
        out["old_pid"], out["new_pid"] = before.pid, after.pid
        if after.pid == before.pid or not procs.is_alive(after.pid, after.start_time):
            problems.append("no new epoch is running")
        else:
            out["took_effect"] = "new epoch ready"
    elif kind == "signal":
        deadline = time.monotonic() + _READY_S
        fresh: set[int] = set()
        while time.monotonic() < deadline and not fresh:
            fresh = _session_pids(after.pid) - workers_before
            if not fresh:
                time.sleep(0.05)
        if fresh:
            out["took_effect"] = f"{len(fresh)} new worker process(es)"
            out["new_workers_s"] = round(now_s() - began, 3)
        else:
            problems.append(f"no new worker process within {_READY_S:g} s of the reload signal")
    elif kind == "command":
        out["took_effect"] = "reload command succeeded"
    else:  # the proxy watches its files: writing them was the reload; nothing to observe
        out["took_effect"] = "config written (the proxy applies watched files itself; not observable)"
    if problems:
        out["problems"] = problems
    return out


def cut_pod(lab: Any, pod: str, duration_s: float, stop: threading.Event,
            now_s: Callable[[], float]) -> dict[str, Any]:
    """Cut the pod off the network for ``duration_s``, restore it; check both."""
    url = lab.pod(pod).url
    lab.cut_pod(pod)
    cut_at = now_s()
    cut = lab.pod_is_cut(pod) and asyncio.run(probe_echo(url, ca_file=None, timeout=1.0)) is not None
    stop.wait(max(0.0, duration_s - (now_s() - cut_at)))
    lab.restore_pod(pod)
    restored_at = now_s()
    ready = _answers(url, None)
    out: dict[str, Any] = {"cut_s": round(restored_at - cut_at, 3),
                           "back_s": round(now_s() - restored_at, 3) if ready is not None else None}
    problems = []
    if not cut:
        problems.append("the pod still answered while cut")
    if ready is None:
        problems.append(f"the pod did not answer within {_READY_S:g} s of the restore")
    if problems:
        out["problems"] = problems
    return out
