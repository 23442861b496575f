"""Scale check: hold many sessions open on loopback, pings on, and count every drop.

    .venv/bin/python bench/scale_check.py                       # 30,000 for 30 s, then 50k, 100k
    .venv/bin/python bench/scale_check.py --sessions 30000 --beyond ""   # only the 30k check
    .venv/bin/python bench/scale_check.py --sessions 100000 --ramp 1010 --hold 120 --ping 30 \
        --beyond "" --max-client-kib 8 --min-rate 1000     # the 100k check (issue 15), ~5 min

(``--min-rate`` judges sessions / time of the last open: at ``--ramp 1000`` the last session is
due at 99.999 s, so its upgrade alone puts the rate a hair under 1,000/s; 1010 asks a little more.)

Each step runs the real thing end to end against a fast echo server: ``bench/echo_server.py``
(picows on uvloop) in S processes sharing one port (``--server picows``, the default, so the
generator is the measured side), or ``wsbench serve --processes S`` (``--server wsbench``).

:func:`wsbench.engine.runner.run_scenario` runs with P worker processes, ``mode: rate`` at one
message per 100 s (one echo at open), client pings every ``--ping`` s. Both sides stay
under the 20,000 open files per process (P for <= 19,000 sessions per client worker, S for
~12,000 per server worker), and the sessions are spread over several loopback source
addresses, each holding fewer than half its ephemeral ports
(``/proc/sys/net/ipv4/ip_local_port_range``; :func:`sessions_per_source` says why).

A step passes when every session opened (no failed upgrade), none was dropped (no close
by the server, no abnormal close), every session stayed open for the whole hold (the
per-second timeline never dips below N once N is reached), the server itself counted N
open sessions in the middle of the hold, and the run completed. It prints sessions
opened/failed/dropped, peak open, the time to open them all, the memory (RSS, sampled once
a second) and CPU of every client and server process, and the kernel's loopback trouble
signs (softnet backlog drops, listen-queue overflows, SYN retransmissions). After the first step it tries the
``--beyond`` sizes in order and stops at the first failure, saying why.

Bounded: every step has a duration (ramp + hold) and run_scenario's own caps; the server
is stopped by its PID(s) whatever happens.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wsbench.engine.machine import ephemeral_ports  # light: os and /proc

# No module-level import of psutil, the runner, the wsbench server or echo_server (picows):
# the client's worker processes are spawned, and each imports this script again (as
# ``__mp_main__``) before it starts; they are imported where they are used, so a worker's
# memory is the generator's own (4 MiB less per worker, measured by import).
if TYPE_CHECKING:
    from echo_server import Counters

__all__ = ["main", "StepResult", "run_step", "PicowsServers"]

#: Under the 20,000 open-files cap per process (a worker needs ~30 more descriptors). The
#: client's sessions are split exactly (round robin); fewer, fuller workers batch more work
#: per loop iteration and pay the fixed memory of a process (~43 MiB, measured: Python, asyncio
#: and ssl, numpy, uvloop) fewer times.
CLIENT_SESSIONS_PER_PROCESS = 19_000
#: The server's workers share one listening socket (or port), so the split is only roughly
#: even: more headroom.
SERVER_SESSIONS_PER_PROCESS = 12_000
HERE = Path(__file__).resolve().parent
#: Ports kept free below half the ephemeral range of a source address (other sockets use some).
SOURCE_PORT_MARGIN = 1_000
MIB = 1024 * 1024


def kernel_counters() -> dict[str, int]:
    """Loopback trouble signs, machine-wide (other users' traffic counts too)."""
    counters: dict[str, int] = {}
    try:  # packets dropped because a CPU's input backlog (net.core.netdev_max_backlog) was full
        with open("/proc/net/softnet_stat", encoding="ascii") as handle:
            counters["softnet_dropped"] = sum(int(line.split()[1], 16) for line in handle)
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/net/netstat", encoding="ascii") as handle:
            lines = handle.read().splitlines()
        for head, values in zip(lines[::2], lines[1::2], strict=False):
            if head.startswith("TcpExt:"):
                table = dict(zip(head.split()[1:], map(int, values.split()[1:]), strict=False))
                for key in ("ListenOverflows", "TCPSynRetrans", "TCPTimeouts"):
                    counters[key] = table.get(key, 0)
    except (OSError, ValueError):
        pass
    return counters


def sessions_per_source() -> int:
    """Sessions per loopback source address: under half the ephemeral ports.

    Linux gives a connect() (of a socket bound to an address with IP_BIND_ADDRESS_NO_PORT, as
    the engine's) a local port of one parity first: once every port of that parity is in use
    towards the target (14,116 of the default 28,232), each connect() scans them all before
    it takes one of the other parity, in the kernel, in the worker's thread (measured with
    5 sources: the workers' system CPU went from 0.2 to 1.3 cores at 70,600 open sessions,
    5 x 14,116, and the opens stalled). Below half the range a connect() finds a port at once.
    """
    return (ephemeral_ports() or 28_232) // 2 - SOURCE_PORT_MARGIN


class PicowsServers:
    """``bench/echo_server.py`` x N on one port (SO_REUSEPORT), each counting its sessions.

    The fast echo server (picows on uvloop), so that the generator is the measured side:
    ``wsbench serve`` (websockets) needs more CPU per session than the client it serves.
    Stopped by their PIDs.
    """

    def __init__(self, processes: int, workdir: str, host: str = "127.0.0.1") -> None:
        sys.path.insert(0, str(HERE))
        from echo_server import Counters

        workdir = os.path.abspath(workdir)
        os.makedirs(workdir, exist_ok=True)
        with socket.socket() as probe:  # a free port for all of them
            probe.bind((host, 0))
            self.port = probe.getsockname()[1]
        self.url = f"ws://{host}:{self.port}/"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.counters: list[Counters] = []
        for index in range(processes):
            ready = os.path.join(workdir, f"echo-{index}.ready")
            counters = os.path.join(workdir, f"echo-{index}.counters")
            self.processes.append(subprocess.Popen(
                [sys.executable, str(HERE / "echo_server.py"), "--host", host, "--port", str(self.port),
                 "--reuse-port", "--backlog", "8192", "--counters", counters, "--ready-file", ready],
                stdin=subprocess.DEVNULL, start_new_session=True))
            deadline = time.monotonic() + 20
            while not os.path.exists(ready):
                if self.processes[-1].poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("scale check: an echo server did not start")
                time.sleep(0.02)
            self.counters.append(Counters(counters))

    @property
    def pids(self) -> set[int]:
        return {p.pid for p in self.processes}

    def stats(self, timeout: float = 10) -> dict[str, int]:
        return {"sessions_open": sum(c.read()["open"] for c in self.counters)}

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(5)


@dataclass
class StepResult:
    """What one step measured."""

    sessions: int
    client_processes: int
    server_processes: int
    sources: list[str]
    ramp: float = 0.0
    passed: bool = False
    reasons: list[str] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)
    open_s: float | None = None
    held_s: float = 0.0
    server_open_mid_hold: int | None = None  # the most the server counted (polled every 5 s)
    server: str = ""  # which echo server, how many processes
    max_client_kib: float = 0.0  # fail above this many KiB of client RSS per session (0: no bound)
    min_rate: float = 0.0  # fail when all sessions were open slower than this (sessions/s; 0: no bound)
    client_rss: dict[int, int] = field(default_factory=dict)  # pid -> peak RSS (bytes)
    server_rss: dict[int, int] = field(default_factory=dict)
    first_rss: dict[int, int] = field(default_factory=dict)  # pid -> RSS at its first sample
    cpu_s: dict[int, float] = field(default_factory=dict)  # pid -> CPU seconds used
    elapsed_s: float = 0.0
    run_dir: str = ""
    kernel: dict[str, int] = field(default_factory=dict)  # counter increases during the step


class MemorySampler(threading.Thread):
    """Samples the RSS of the client workers and the server processes once a second."""

    def __init__(self, server_pids: set[int]) -> None:
        super().__init__(daemon=True, name="rss-sampler")
        self.server_roots = server_pids
        self.client: dict[int, int] = {}  # pid -> peak RSS
        self.server: dict[int, int] = {}
        self.first: dict[int, int] = {}  # pid -> RSS at its first sample (before most sessions)
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds (user + system) at the last sample
        self.stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stop_event.wait(1.0):
            server_pids = set(self.server_roots)
            for root in self.server_roots:
                try:
                    server_pids |= {p.pid for p in psutil.Process(root).children(recursive=True)}
                except psutil.Error:
                    continue
            for child in [me, *me.children(recursive=True)]:  # the runner (this process) counts too
                try:
                    rss = child.memory_info().rss
                    self.first.setdefault(child.pid, rss)
                    times = child.cpu_times()
                    self.cpu[child.pid] = times.user + times.system
                    if child.pid in server_pids:
                        self.server[child.pid] = max(self.server.get(child.pid, 0), rss)
                    elif "resource_tracker" not in " ".join(child.cmdline()):
                        self.client[child.pid] = max(self.client.get(child.pid, 0), rss)
                except psutil.Error:
                    continue


def run_step(n: int, *, hold: float, ramp: float, ping: float, out: str, quiet: bool,
             server_kind: str = "picows", max_client_kib: float = 0.0, min_rate: float = 0.0) -> StepResult:
    """Open ``n`` sessions at ``ramp`` per second, hold them ``hold`` s, check for drops."""
    from wsbench.engine.runner import run_scenario
    from wsbench.scenario import parse_scenario
    from wsbench.server.process import ServeOptions, start_server

    client_processes = max(2, math.ceil(n / CLIENT_SESSIONS_PER_PROCESS))
    server_processes = max(2, math.ceil(n / SERVER_SESSIONS_PER_PROCESS))
    per_source = sessions_per_source()
    sources = [f"127.0.3.{i + 1}" for i in range(max(1, math.ceil(n / per_source)))]
    step = StepResult(n, client_processes, server_processes, sources, ramp=ramp,
                      max_client_kib=max_client_kib, min_rate=min_rate)
    open_s_planned = n / ramp
    duration = open_s_planned * 1.4 + hold + 10.0  # room for a ramp that lags (busy machine)
    started = time.monotonic()
    kernel_before = kernel_counters()
    if server_kind == "picows":
        server: Any = PicowsServers(server_processes, out)
        server_pids = server.pids
    else:
        server = start_server(
            ServeOptions(processes=server_processes, pod_name="scale-echo", drain_s=5),
            timeout=60,
        )
        server_pids = {server.pid}
    step.server = f"{server_kind} x {server_processes}"
    sampler = MemorySampler(server_pids)
    sampler.start()
    mid_hold: dict[str, Any] = {"stop": threading.Event()}

    def probe_server() -> None:  # the server's own count of open sessions, every 5 s
        while not mid_hold["stop"].wait(5.0):
            try:
                count = int(server.stats(timeout=10)["sessions_open"])
            except Exception as exc:  # noqa: BLE001 - reported, not fatal
                mid_hold["error"] = str(exc)
                continue
            mid_hold["open"] = max(count, mid_hold.get("open", 0))

    prober = threading.Thread(target=probe_server, daemon=True)
    prober.start()
    last_line = [0.0]

    def progress(line: str) -> None:
        now = time.monotonic()
        if not quiet and (now - last_line[0] >= 5 or "open" not in line):
            last_line[0] = now
            print(f"    {line}", flush=True)

    try:
        scenario = parse_scenario({
            "name": f"scale-{n}",
            "targets": [f"echo={server.url}"],
            "sessions": n,
            "ramp": ramp,
            "duration": duration,
            "mode": "rate",
            "rate": 0.01,  # one echo at open, the next after 100 s
            "ping_interval": ping,
            "processes": client_processes,
            "source_addresses": sources,
            "connect_timeout": 30,
            "reconnect": False,  # a drop must show, not heal
            "out": out,
        })
        outcome = run_scenario(scenario, progress=progress)
        mid_hold["stop"].set()
        prober.join(15)
    finally:
        sampler.stop_event.set()
        sampler.join(5)
        server.stop()
    step.elapsed_s = time.monotonic() - started
    kernel_after = kernel_counters()
    step.kernel = {k: kernel_after[k] - kernel_before.get(k, 0) for k in kernel_after}
    step.client_rss, step.server_rss, step.first_rss = sampler.client, sampler.server, sampler.first
    step.cpu_s = sampler.cpu
    step.server_open_mid_hold = mid_hold.get("open")
    step.run_dir = str(outcome.run_dir)
    _judge(step, outcome.result, outcome.run_dir, ramp=ramp, hold=hold, mid_hold=mid_hold)
    return step


def _judge(step: StepResult, result: dict[str, Any], run_dir: Path, *, ramp: float, hold: float,
           mid_hold: dict[str, Any]) -> None:
    n = step.sessions
    target = result["targets"].get("echo", {})
    sessions = target.get("sessions", {})
    closes = target.get("closes", {}).get("by_side", {})
    step.counts = {
        "opened": sessions.get("opened", 0),
        "failed": sessions.get("failed", 0),
        "dropped": sessions.get("dropped", 0),
        "peak_open": sessions.get("peak_open", 0),
        "closed_by_server": closes.get("server", 0),
        "closed_abnormally": closes.get("abnormal", 0),
        "upgrade_failures": target.get("upgrade_failures", {}),
        "saturated": result.get("generator", {}).get("saturated"),
        "saturation_reasons": result.get("generator", {}).get("saturation_reasons", []),
    }
    open_per_s = target.get("timeline", {}).get("open", [])
    t_s = target.get("timeline", {}).get("t_s", [])
    full = [i for i, value in enumerate(open_per_s) if value >= n]
    if full:
        first = full[0]
        step.open_s = _last_open_time(run_dir) or t_s[first]
        # the hold: from the first full second until the run's own stop (duration)
        last_full = first
        while last_full + 1 < len(open_per_s) and open_per_s[last_full + 1] >= n:
            last_full += 1
        step.held_s = t_s[last_full] - t_s[first] + 1
    reasons = step.reasons
    if step.counts["failed"]:
        reasons.append(f"{step.counts['failed']} upgrades failed: {step.counts['upgrade_failures']}")
    if step.counts["dropped"] or step.counts["closed_by_server"] or step.counts["closed_abnormally"]:
        reasons.append(f"{step.counts['dropped']} sessions dropped "
                       f"(server closes {step.counts['closed_by_server']}, "
                       f"abnormal {step.counts['closed_abnormally']})")
    if step.counts["peak_open"] < n:
        reasons.append(f"peak open {step.counts['peak_open']} < {n}")
    if step.held_s < hold:
        reasons.append(f"all {n} open for only {step.held_s:.0f} s of the {hold:g} s hold")
    if step.server_open_mid_hold is None:
        reasons.append(f"server stats not read: {mid_hold.get('error', 'no answer')}")
    elif step.server_open_mid_hold < n:
        reasons.append(f"the server counted at most {step.server_open_mid_hold} open")
    if not result.get("complete"):
        reasons.append("run not complete")
    client_kib = sum(step.client_rss.values()) / 1024 / max(1, n)
    if step.max_client_kib and client_kib > step.max_client_kib:
        reasons.append(f"client memory {client_kib:.1f} KiB per session > {step.max_client_kib:g}")
    if step.min_rate and step.open_s and n / step.open_s < step.min_rate:
        reasons.append(f"opened at {n / step.open_s:,.0f}/s < {step.min_rate:,.0f}/s")
    step.passed = not reasons


def _last_open_time(run_dir: Path) -> float | None:
    """Seconds from the start to the last ``session_opened`` event."""
    last = None
    try:
        with open(run_dir / "events.jsonl", encoding="utf-8") as handle:
            for line in handle:
                if '"session_opened"' in line:
                    t = json.loads(line).get("t")
                    if t is not None and (last is None or t > last):
                        last = t
    except OSError:
        return None
    return last


def _kib(value: float) -> str:
    return f"{value / 1024:.1f}"


def print_step(step: StepResult) -> None:
    n = step.sessions
    c, verdict = step.counts, "PASS" if step.passed else "FAIL"
    print(f"\n== {n:,} sessions: {verdict}")
    print(f"  processes: client {step.client_processes} workers + the runner, server {step.server}; "
          f"source addresses {step.sources[0]}..{step.sources[-1]} ({len(step.sources)})")
    print(f"  opened {c.get('opened', 0):,}  failed {c.get('failed', 0):,}  "
          f"dropped {c.get('dropped', 0):,}  peak open {c.get('peak_open', 0):,}  "
          f"server counted (max) {step.server_open_mid_hold}")
    open_s = f"{step.open_s:.1f} s" if step.open_s is not None else "never"
    rate = f" ({n / step.open_s:,.0f}/s)" if step.open_s else ""
    print(f"  time to open all: {open_s}{rate}; all open for {step.held_s:.0f} s; "
          f"generator saturated: {c.get('saturated')}"
          + (f" ({'; '.join(c.get('saturation_reasons', []))})" if c.get("saturated") else ""))
    for side, rss in (("client", step.client_rss), ("server", step.server_rss)):
        total = sum(rss.values())
        growth = sum(max(0, v - step.first_rss.get(pid, v)) for pid, v in rss.items())
        print(f"  {side} peak RSS per process (MiB): "
              + " ".join(f"{v / MIB:.0f}" for v in sorted(rss.values()))
              + f"  total {total / MIB:.0f} MiB = {_kib(total / max(1, n))} KiB/session"
              + f" ({_kib(growth / max(1, n))} KiB/session above the processes' first samples)")
        cpu = sum(step.cpu_s.get(pid, 0.0) for pid in rss)
        print(f"  {side} CPU: {cpu:.0f} s in all = {1000 * cpu / max(1, n):.2f} ms per session "
              f"(opening, pings, holding, closing)")
    print("  kernel, machine-wide, during the step: "
          + ", ".join(f"{k} +{v}" for k, v in step.kernel.items()))
    print(f"  ramp {step.ramp:g}/s; step took {step.elapsed_s:.0f} s; result: {step.run_dir}/result.json")
    for reason in step.reasons:
        print(f"  why: {reason}")


def main() -> None:
    import psutil

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30_000, help="the check (default 30000)")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds all stay open (default 30)")
    parser.add_argument("--ramp", type=float, default=800.0,
                        help="sessions opened per second (default 800: what 2 shared cores sustain "
                             "for client and server together)")
    parser.add_argument("--ramp-beyond", type=float, default=150.0,
                        help="ramp for the --beyond sizes (default 150/s: at 300-800/s, 2 shared cores "
                             "saturate past ~40k open sessions)")
    parser.add_argument("--ping", type=float, default=10.0, help="client ping interval, s (default 10)")
    parser.add_argument("--beyond", default="50000,100000",
                        help="larger sizes tried after a pass, in order; stop at the first failure")
    parser.add_argument("--server", choices=("picows", "wsbench"), default="picows",
                        help="echo server: picows = bench/echo_server.py processes sharing one port "
                             "(fast: the generator is the measured side; default); wsbench = wsbench serve")
    parser.add_argument("--max-client-kib", type=float, default=0.0,
                        help="fail a step whose client RSS (workers + runner) exceeds this per session")
    parser.add_argument("--min-rate", type=float, default=0.0,
                        help="fail a step whose sessions were not all open at this rate (sessions/s)")
    parser.add_argument("--out", help="where results go (default: a temporary folder, removed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary results folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--json", help="also write the step results here")
    args = parser.parse_args()
    sizes = [args.sessions] + [int(s) for s in args.beyond.split(",") if s.strip()]
    out = args.out or tempfile.mkdtemp(prefix="wsbench-scale-")
    print(f"scale check: {', '.join(f'{s:,}' for s in sizes)} sessions, hold {args.hold:g} s, "
          f"ramp {args.ramp:g}/s (beyond: {args.ramp_beyond:g}/s), pings every {args.ping:g} s; ephemeral ports per source "
          f"{ephemeral_ports() or 28_232:,}; {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB; results in {out}", flush=True)
    steps: list[StepResult] = []
    try:
        for n in sizes:
            needed_gib = n * 100 * 1024 / 2**30  # ~100 KiB per session, both sides, generous
            available = psutil.virtual_memory().available / 2**30
            if needed_gib > available:
                print(f"\n== {n:,} sessions: not tried: needs ~{needed_gib:.0f} GiB, "
                      f"{available:.0f} GiB available")
                break
            print(f"\n-- {n:,} sessions ...", flush=True)
            ramp = args.ramp if n == args.sessions else args.ramp_beyond
            step = run_step(n, hold=args.hold, ramp=ramp, ping=args.ping, out=out,
                            quiet=args.quiet, server_kind=args.server,
                            max_client_kib=args.max_client_kib, min_rate=args.min_rate)
            steps.append(step)
            print_step(step)
            if not step.passed:
                break
    finally:
        if args.json:
            Path(args.json).write_text(json.dumps([s.__dict__ for s in steps], indent=1, default=str))
        if not args.out and not args.keep:
            shutil.rmtree(out, ignore_errors=True)
            print(f"(removed {out}: --keep or --out DIR keeps the Results and events)")
    print("\nsummary:")
    for step in steps:
        print(f"  {step.sessions:>7,}: {'PASS' if step.passed else 'FAIL'}"
              f"  open in {step.open_s or float('nan'):.1f} s"
              f"  client {_kib(sum(step.client_rss.values()) / step.sessions)} KiB/session"
              f"  server {_kib(sum(step.server_rss.values()) / step.sessions)} KiB/session"
              + ("" if step.passed else f"  ({'; '.join(step.reasons)})"))
    first_ok = bool(steps) and steps[0].passed
    sys.exit(0 if first_ok else 1)


if __name__ == "__main__":
    main()
