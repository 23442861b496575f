"""The lab's reference echo: fixed standard-library code behind every proxy's reference path.

``wsbench/engine/refecho.py --serve``, started detached like a proxy (its own session, its
real pid + start time recorded in the lab state), on the pods' address, never slowed by
``--pod-delay-ms``: a run's calibration probe goes through the proxy under test to it, so
the machine factor follows the proxy path while a slower pod still shows as a regression.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from wsbench.engine import refecho
from wsbench.errors import LabError
from wsbench.lab import procs
from wsbench.lab.model import ReferenceInfo

__all__ = ["start_reference", "reference_folder", "MAX_CONNECTIONS", "READ_TIMEOUT_S"]

#: connections served at once (each a thread; more are closed at once)
MAX_CONNECTIONS = 256
#: the longest any read waits (a probe session is idle between its round trips only ms)
READ_TIMEOUT_S = 3600.0


def reference_folder(state_dir: str) -> Path:
    """Its folder under the lab's state dir (in its command line, so ``down`` finds it)."""
    return Path(state_dir) / "reference"


def start_reference(state_dir: str, *, host: str, timeout_s: float = 10.0,
                    spawned: list[tuple[int, int]] | None = None) -> ReferenceInfo:
    """Start it, wait until it listens; its info. ``spawned`` gets ``(pid, start_time)`` the
    moment the process exists (so an interrupted start is still stopped). Raises LabError."""
    folder = reference_folder(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    log_file = folder / "reference.log"
    port_file.unlink(missing_ok=True)
    log_file.unlink(missing_ok=True)
    argv = [sys.executable, "-I", "-S", refecho.__file__, "--serve", "--host", host,
            "--port-file", str(port_file), "--max-connections", str(MAX_CONNECTIONS),
            "--read-timeout-s", f"{READ_TIMEOUT_S:g}"]
    with procs.signals_deferred():  # a Ctrl-C lands after the pid is recorded for down()
        pid, started = procs.spawn(argv, log_file=str(log_file), cwd=str(folder))
        if spawned is not None:
            spawned.append((pid, started))
    deadline = time.monotonic() + timeout_s
    while not port_file.exists():
        if not procs.is_alive(pid, started):
            raise LabError(f"the reference echo (pid {pid}) exited:\n{procs.log_tail(str(log_file))}")
        if time.monotonic() > deadline:
            raise LabError(f"the reference echo (pid {pid}) did not listen within {timeout_s:g} s")
        time.sleep(0.01)
    port = int(port_file.read_text().strip())
    return ReferenceInfo(url=f"ws://{host}:{port}/", pid=pid, host=host, port=port,
                         log_file=str(log_file), start_time=started)
