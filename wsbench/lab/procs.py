"""Lab processes: each in its own session, known by its real pid and start time.

A process is identified by ``(pid, start_time)`` (start time in clock ticks from
``/proc/PID/stat``) so a recycled pid is never signalled. Stopping a process stops
its whole session (nginx workers, httpd children, ...).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

from wsbench.errors import LabError

__all__ = [
    "spawn",
    "signals_deferred",
    "start_time",
    "is_alive",
    "process_state",
    "session_members",
    "stop_session",
    "log_tail",
    "serve_workdir",
    "with_argument",
    "members_by_session",
    "stop_sessions",
    "wait_reaped",
]


#: Runs as ``python -I -S -c _DETACH FD ARGV...``: fork; the parent reports the child's pid
#: on FD and exits at once; the child waits until it is an orphan (reparented to init or the
#: nearest subreaper), starts its own session, then execs ARGV. So a proxy is never the
#: child of the wsbench process (or thread) that started it: Envoy's hot restart calls
#: ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` at start-up, which the kernel fires when the
#: *thread* that forked it exits -- ``lab up`` exiting, or a helper thread finishing a reload.
#: The signal mask is emptied before the exec: it survives exec, and a member started inside
#: :func:`signals_deferred` would otherwise ignore SIGTERM forever (measured: the reference
#: echo and Envoy were SIGKILLed 5 s into every ``lab down``).
_DETACH = """
import os, signal, sys, time
fd, argv = int(sys.argv[1]), sys.argv[2:]
me = os.getpid()
child = os.fork()
if child:
    os.write(fd, b"%d\\n" % child)
    os._exit(0)
deadline = time.monotonic() + 10
while os.getppid() == me and time.monotonic() < deadline:
    time.sleep(0.001)
if os.getppid() == me:
    os.write(fd, b"error: the launcher did not exit\\n")
    os._exit(70)
os.setsid()
os.set_inheritable(fd, False)
signal.pthread_sigmask(signal.SIG_SETMASK, [])  # started inside signals_deferred(): unblock them
try:
    os.execv(argv[0], argv)
except OSError as exc:
    os.write(fd, b"error: cannot run %s: %s\\n" % (argv[0].encode(), str(exc).encode()))
    os._exit(127)
"""


def spawn(
    argv: list[str],
    *,
    log_file: str,
    cwd: str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 20.0,
) -> tuple[int, int]:
    """Start ``argv`` detached: an orphan in its own session (sid == pid), stdin from
    /dev/null, stdout and stderr appended to ``log_file``. Returns ``(pid, start_time)``
    once ``argv`` runs (exec done). Raises LabError when it could not be started."""
    full_env = dict(os.environ)
    for proxy_var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        full_env.pop(proxy_var, None)
    full_env.update(env or {})
    report_r, report_w = os.pipe()
    try:
        with open(log_file, "ab") as log:
            launcher = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _DETACH, str(report_w), *argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=full_env,
                start_new_session=True,
                pass_fds=(report_w,),
            )
    except OSError as exc:
        os.close(report_r)
        os.close(report_w)
        raise LabError(f"cannot start {argv[0]}: {exc}") from exc
    os.close(report_w)
    received = bytearray()  # what the launcher reported so far (kept if we are interrupted)
    try:
        launcher.wait(timeout)
        report = _read_all(report_r, timeout, received)  # EOF: the exec happened (close-on-exec)
        lines = report.decode(errors="replace").split("\n")
        if launcher.returncode != 0 or not lines[0].isdigit():
            raise LabError(f"cannot start {argv[0]}: launcher exit {launcher.returncode} {report!r}")
        pid = int(lines[0])
        errors = [line for line in lines[1:] if line.startswith("error:")]
        if errors:
            raise LabError(errors[0].removeprefix("error: "))
        return pid, start_time(pid)
    except BaseException:  # interrupted (Ctrl-C) or failed: nothing we started may outlive this call
        _abandon(launcher, report_r, received)
        raise
    finally:
        os.close(report_r)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block is done: a Ctrl-C that lands while a process is
    being started (inside ``Popen``, before its pid is known) is delivered once the caller has
    recorded the pid, so the lab's clean-up knows every process it has to stop."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _abandon(launcher: subprocess.Popen[bytes], report_r: int, received: bytearray) -> None:
    """Stop whatever an unfinished spawn started: the launcher and a child still in its
    process group, then the child it reported (in its own session once it called setsid)."""
    with contextlib.suppress(OSError):
        os.killpg(launcher.pid, signal.SIGKILL)
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        launcher.wait(2)
    _read_all(report_r, 1.0, received)  # EOF at once: every writer is gone or exec'd
    first = bytes(received).split(b"\n", 1)[0]
    if first.isdigit():
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(OSError):
                kill(int(first), signal.SIGKILL)


def _read_all(fd: int, timeout: float, into: bytearray | None = None) -> bytes:
    """Read ``fd`` until EOF or ``timeout``; each chunk is also appended to ``into`` as it comes."""
    into = bytearray() if into is None else into
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        into += chunk
    return bytes(into)


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


def process_state(pid: int, started: int = 0) -> str | None:
    """The state letter (R, S, D, T, ...) of that process; None when it is gone, a zombie,
    or ``pid`` is another process now."""
    fields = _stat(pid)
    if fields is None or fields[2] in ("Z", "X") or (started and int(fields[21]) != started):
        return None
    return fields[2]


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


def members_by_session(sids: Collection[int]) -> dict[int, list[int]]:
    """Live (not zombie) processes of each session in ``sids`` (one scan of /proc)."""
    wanted = set(sids)
    found: dict[int, list[int]] = {sid: [] for sid in wanted}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and int(fields[5]) in wanted and fields[2] not in ("Z", "X"):
            found[int(fields[5])].append(int(entry.name))
    return found


def stop_sessions(
    leaders: Mapping[str, tuple[int, int]], *, grace_s: float = 5.0, kill_wait_s: float = 5.0
) -> list[str]:
    """Stop several sessions at once: SIGTERM to each leader (``label -> (pid, start_time)``;
    skipped when the pid is another process now), SIGKILL to every process still in a session
    after ``grace_s``; return once none of them runs (or ``kill_wait_s`` more passed).

    Returns one line per session that had to be killed (label, pids) or that survived.
    """
    sids = {label: pid for label, (pid, started) in leaders.items()
            if pid and not (started and start_time(pid) not in (started, 0))}
    for pid in sids.values():
        if is_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    notes: list[str] = []
    for sig, wait_s in ((signal.SIGKILL, grace_s), (0, kill_wait_s)):
        deadline = time.monotonic() + wait_s
        while True:
            for pid in sids.values():
                _reap(pid)
            left = _left(sids)
            if not left or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        for label, pids in left.items():
            if sig:
                notes.append(f"killed {label} (pids {', '.join(map(str, pids))}): still running {grace_s:g} s after SIGTERM")
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
            else:
                notes.append(f"{label} (pids {', '.join(map(str, pids))}) survived SIGKILL")
        if not left:
            break
    return notes


def _left(sids: Mapping[str, int]) -> dict[str, list[int]]:
    members = members_by_session(set(sids.values()))
    return {label: members[sid] for label, sid in sids.items() if members[sid]}


def wait_reaped(pids: Collection[int], *, timeout_s: float = 3.0) -> list[int]:
    """Wait until none of ``pids`` is even a zombie any more (init reaps orphans); those left."""
    deadline = time.monotonic() + timeout_s
    while True:
        for pid in pids:
            _reap(pid)
        left = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not is_alive(pid)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


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
