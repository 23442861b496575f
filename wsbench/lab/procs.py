"""Lab processes: each in its own session, known by its real pid and start time.

A process is identified by ``(pid, start_time)`` (start time in clock ticks from
``/proc/PID/stat``) so a recycled pid is never signalled. Stopping a process stops
its whole session (nginx workers, httpd children, ...).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "spawn",
    "start_time",
    "is_alive",
    "session_members",
    "stop_session",
    "log_tail",
    "serve_workdir",
    "with_argument",
]


def spawn(
    argv: list[str],
    *,
    log_file: str,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session, stdout and stderr appended to ``log_file``."""
    full_env = dict(os.environ)
    for proxy_var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        full_env.pop(proxy_var, None)
    full_env.update(env or {})
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=full_env,
            start_new_session=True,
        )


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; it is the text in parentheses
    return [raw[: raw.index(" ")]] + ["comm"] + raw[raw.rindex(")") + 2 :].split()


def start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (0 when it is gone)."""
    fields = _stat(pid)
    return int(fields[21]) if fields else 0


def is_alive(pid: int, started: int = 0) -> bool:
    """Whether ``pid`` runs (not a zombie) and, if ``started`` is given, is that same process."""
    fields = _stat(pid)
    if fields is None or fields[2] in ("Z", "X"):
        return False
    return not started or int(fields[21]) == started


def session_members(sid: int) -> list[int]:
    """Every live process whose session id is ``sid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and int(fields[5]) == sid and fields[2] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _signal_session(sid: int, sig: int) -> None:
    for pid in session_members(sid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def stop_session(pid: int, started: int = 0, *, grace_s: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """Stop the session led by ``pid``: ``sig``, then SIGKILL after ``grace_s``; wait until gone.

    Does nothing when ``pid`` is no longer the process that started at ``started``.
    """
    if started and start_time(pid) not in (started, 0):
        return
    if is_alive(pid):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace_s
    while session_members(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.02)
    if session_members(pid):
        _signal_session(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while session_members(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.02)
    _reap(pid)


def _reap(pid: int) -> None:
    """Collect our own exited child, if it is one (no-op otherwise)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def log_tail(path: str, lines: int = 25) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.strip().splitlines()[-lines:]
    return "\n".join(tail) if tail else "(empty log)"


def serve_workdir(pid: int, started: int = 0) -> str | None:
    """The temp folder of a ``wsbench serve`` started by another process (its ready file's
    folder), so ``lab down`` can remove it; None when there is none."""
    if not is_alive(pid, started):
        return None
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    for flag, value in zip(args, args[1:], strict=False):
        if flag == b"--ready-file":
            folder = Path(value.decode(errors="replace")).parent
            if folder.name.startswith("wsbench-serve-"):
                return str(folder)
    return None


def with_argument(fragment: str) -> list[int]:
    """Live processes with ``fragment`` inside one of their arguments (a lab's own folder)."""
    needle = fragment.encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(needle in arg for arg in args) and is_alive(int(entry.name)):
            found.append(int(entry.name))
    return found
