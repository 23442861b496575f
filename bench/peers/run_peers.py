"""wsbench against the field: k6, Tsung, Artillery, Locust and the bare clients, one run.

    .venv/bin/python bench/peers/run_peers.py                 # 3 rounds, every peer, ~30 min
    .venv/bin/python bench/peers/run_peers.py --quick         # 1 round, 5 s hold, ~8 min
    .venv/bin/python bench/peers/run_peers.py --peers wsbench,tsung --rounds 2

One picows echo server (``bench/echo_server.py --counters``) pinned to the last CPU serves
every peer; each peer runs pinned to the first CPU, in a fresh process tree, and is
measured **from outside, the same way for all**: CPU (user + system) and RSS of its whole
process tree from ``/proc``, and where it is from the echo server's counters (sessions
upgraded, first echoes, messages echoed). The harness itself runs on the server's CPU.

(a) ``rtt``: 100 sessions, closed loop, 32-byte text: the peer's CPU between the moments
    the server has echoed 10 % and 90 % of all round trips, per round trip.
(b) ``idle`` 2,000 and 10,000 sessions opened at 3,000/s, one echo each, held ``--hold`` s:
    the tree's RSS 1 s after the last first echo; marginal KiB per session =
    (RSS at 10k - RSS at 2k) / 8,000 (the fixed costs cancel).
(c) the same idle runs: CPU ms per session opened, **connect phase** = from the first
    upgrade the server sees to the last session's first echo (TCP connect + upgrade + one
    echo; work a peer does before its first connection is not in it), and **whole run** =
    all the CPU the tree used from its start to its exit (start-up, opening, holding,
    closing, its own results and report) / sessions.

Rounds rotate the order of the peers; tables show medians. Every run is bounded
(deadline, then SIGTERM/SIGKILL of the peer's own process group).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import Sample, Spawned, children_cpu_s, spawn, stop_tree
from peers import PEERS, Job, install_all

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from echo_server import Counters  # noqa: E402

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
POLL_S = 0.01
SETTLE_S = 1.0
HOSTS = [f"127.0.2.{i}" for i in range(1, 101)]  # one listening address per run, in turn


class Server:
    """The counting picows echo server on many loopback addresses; stopped by its PID."""

    def __init__(self, cpu: int | None, workdir: str) -> None:
        ready = os.path.join(workdir, "ready.json")
        counters = os.path.join(workdir, "counters.bin")
        self.process = subprocess.Popen(
            [sys.executable, str(HERE.parent / "echo_server.py"), "--hosts", ",".join(HOSTS),
             "--counters", counters, "--ready-file", ready, "--backlog", "8192"],
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(ready):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("peers: the echo server did not start")
            time.sleep(0.02)
        self.urls = json.loads(Path(ready).read_text(encoding="utf-8"))["urls"]
        self.counters = Counters(counters)
        self.runs = 0
        if cpu is not None:
            os.sched_setaffinity(self.process.pid, {cpu})

    def next_url(self) -> str:
        self.runs += 1
        return self.urls[self.runs % len(self.urls)]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def _tail(log: str) -> str:
    try:
        lines = Path(log).read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-3:])[:300]


def _finish(spawned: Spawned, deadline: float) -> tuple[float, bool]:
    """Wait for the peer to exit by itself (sampling), else stop it: (whole-run CPU, exited)."""
    last: Sample | None = None
    while spawned.process.poll() is None and time.monotonic() < deadline:
        last = spawned.tree.sample()
        time.sleep(0.1)
    exited = spawned.process.poll() is not None
    stop_tree(spawned, grace_s=3.0)  # leftovers of its group, or the peer itself past the deadline
    reaped = children_cpu_s() - spawned.children_cpu0
    return max(reaped, last.cpu_s if last else 0.0), exited


def run_rtt(server: Server, job: Job, spawned: Spawned) -> dict[str, Any]:
    total = job.sessions * job.messages
    low, high = total // 10, total * 9 // 10
    echoed0 = server.counters.slots[2]
    deadline = spawned.started + job.deadline_s
    mark: tuple[int, Sample] | None = None
    record: dict[str, Any] = {}
    while time.monotonic() < deadline:
        time.sleep(POLL_S)
        done = server.counters.slots[2] - echoed0
        if mark is None and done >= low:
            mark = (done, spawned.tree.sample(relist_s=0))
        elif mark is not None and done >= high:
            now = spawned.tree.sample(relist_s=0)
            cpu = now.cpu_s - mark[1].cpu_s
            record = {"round_trips": done - mark[0], "cpu_s": cpu, "wall_s": now.t - mark[1].t,
                      "us_per_rt": 1e6 * cpu / max(1, done - mark[0])}
            break
        elif spawned.process.poll() is not None:
            break
        elif mark is not None:
            spawned.tree.sample()  # keeps the list of its processes current
    if not record:
        record = {"error": f"{server.counters.slots[2] - echoed0} of {total} round trips"
                           f" echoed before {'its exit' if spawned.process.poll() is not None else 'the deadline'}"}
    stop_tree(spawned, grace_s=3.0)
    return record


def run_idle(server: Server, job: Job, spawned: Spawned) -> dict[str, Any]:
    slots = server.counters.slots
    upgraded0, first0 = slots[0], slots[1]
    open_deadline = spawned.started + job.deadline_s
    base = spawned.tree.sample()
    while slots[0] == upgraded0 and time.monotonic() < open_deadline and spawned.process.poll() is None:
        base = spawned.tree.sample(relist_s=0.05)
        time.sleep(POLL_S)
    first_upgrade_t = time.monotonic()
    opened: Sample | None = None
    while time.monotonic() < open_deadline and spawned.process.poll() is None:
        if slots[1] - first0 >= job.sessions:
            opened = spawned.tree.sample(relist_s=0)
            break
        time.sleep(POLL_S)
    if opened is None:
        echoed = slots[1] - first0
        _finish(spawned, time.monotonic())
        why = "its exit" if spawned.process.poll() is not None else f"{job.deadline_s:.0f} s"
        return {"error": f"{echoed:,} of {job.sessions:,} sessions opened and echoed before {why}",
                "opened": echoed}
    time.sleep(SETTLE_S)
    settled = spawned.tree.sample(relist_s=0)
    open_now = slots[3]
    whole_cpu, exited = _finish(spawned, time.monotonic() + job.hold + 120)
    return {
        "opened": slots[1] - first0, "open_after_settle": open_now,
        "cpu_connect_s": opened.cpu_s - base.cpu_s, "cpu_to_open_s": opened.cpu_s,
        "wall_connect_s": opened.t - first_upgrade_t, "rss_open": settled.rss,
        "rss_base": base.rss, "cpu_whole_s": whole_cpu, "exited": exited,
    }


def run_one(server: Server, peer: str, job: Job, cpu: int | None) -> dict[str, Any]:
    launch = PEERS[peer].launch(job)
    log = os.path.join(job.workdir, "peer.log")
    spawned = spawn(launch.argv, cwd=job.workdir, env=launch.env, cpu=cpu, log_path=log)
    try:
        record = (run_rtt if job.test == "rtt" else run_idle)(server, job, spawned)
    finally:
        stop_tree(spawned, grace_s=1.0)
    if "error" in record:
        record["log"] = _tail(log)
    return record


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(args: argparse.Namespace, raw: dict[str, Any]) -> dict[str, dict[str, float]]:
    small, large = min(args.idle), max(args.idle)
    rows: dict[str, dict[str, float]] = {}
    for peer in args.peers:
        rtt = [r["us_per_rt"] for r in raw["rtt"][peer] if "us_per_rt" in r]
        idle = {n: [r for r in raw["idle"][str(n)][peer] if "rss_open" in r] for n in args.idle}
        marginal = [(b["rss_open"] - a["rss_open"]) / 1024 / (large - small)
                    for a, b in zip(idle[small], idle[large], strict=False)] if large > small else []
        rows[peer] = {
            "us_per_rt": median(rtt),
            "marginal_kib": median(marginal),
            "connect_ms": median([1000 * r["cpu_connect_s"] / large for r in idle[large]]),
            "whole_ms": median([1000 * r["cpu_whole_s"] / large for r in idle[large]]),
            "whole_ms_small": median([1000 * r["cpu_whole_s"] / small for r in idle[small]]),
            "to_open_marginal_ms": median([
                1000 * (b["cpu_to_open_s"] - a["cpu_to_open_s"]) / (large - small)
                for a, b in zip(idle[small], idle[large], strict=False)]) if large > small else float("nan"),
        }
    return rows


def _cell(value: float, fmt: str) -> str:
    return "–" if value != value else format(value, fmt)


def table(args: argparse.Namespace, rows: dict[str, dict[str, float]], versions: dict[str, str],
          missing: dict[str, str]) -> str:
    """The issue's table, in Markdown, with every column's ratio to wsbench."""
    small, large = min(args.idle), max(args.idle)
    base = rows.get("wsbench", {})
    lines = [
        f"| client | CPU µs per round trip | × wsbench | marginal KiB per idle session "
        f"| × wsbench | CPU ms per session opened at {large:,}: connect phase; whole run "
        f"| connect × wsbench | whole run at {small:,} |",
        "|---|---:|---:|---:|---:|---|---:|---:|",
    ]

    def ratio(peer: str, key: str) -> str:
        value, ref = rows[peer][key], base.get(key, float("nan"))
        return "–" if value != value or ref != ref or not ref else f"{value / ref:.2f}"

    order = sorted(rows, key=lambda p: (p != "wsbench", rows[p]["us_per_rt"] != rows[p]["us_per_rt"],
                                        rows[p]["us_per_rt"]))
    for peer in order:
        row = rows[peer]
        label = f"{PEERS[peer].label} {versions.get(peer, '')}".strip()
        if peer == "wsbench":
            label = f"**{label}**"
        lines.append(
            f"| {label} | {_cell(row['us_per_rt'], '.1f')} | {ratio(peer, 'us_per_rt')} "
            f"| {_cell(row['marginal_kib'], '.1f')} | {ratio(peer, 'marginal_kib')} "
            f"| {_cell(row['connect_ms'], '.3f')}; {_cell(row['whole_ms'], '.3f')} "
            f"| {ratio(peer, 'connect_ms')} | {_cell(row['whole_ms_small'], '.3f')} |")
    for peer, why in missing.items():
        lines.append(f"| {PEERS[peer].label} | not installed here: {why} | | | | | | |")
    return "\n".join(lines)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated, from: " + ", ".join(PEERS))
    parser.add_argument("--rounds", type=int, help="rounds (default 3; --quick 1)")
    parser.add_argument("--quick", action="store_true", help="1 round, 5 s hold, 1,000 round trips")
    parser.add_argument("--tests", default="rtt,idle")
    parser.add_argument("--sessions", type=int, default=100, help="closed-loop sessions (default 100)")
    parser.add_argument("--messages", type=int, help="round trips per session (default 2000; quick 1000)")
    parser.add_argument("--idle", default="2000,10000", help="idle session counts (default 2000,10000)")
    parser.add_argument("--ramp", type=float, default=3000.0, help="idle sessions opened per second")
    parser.add_argument("--hold", type=float, help="s each idle session is held (default 20; quick 5)")
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--keep", help="keep every peer's files (logs, scripts, results) here")
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.messages = args.messages or (1000 if args.quick else 2000)
    args.hold = args.hold if args.hold is not None else (5.0 if args.quick else 20.0)
    args.peers = [p for p in args.peers.split(",") if p]
    args.idle = [int(n) for n in args.idle.split(",") if n]
    args.tests = [t for t in args.tests.split(",") if t]
    unknown = [p for p in args.peers if p not in PEERS]
    if unknown:
        parser.error(f"unknown peers {unknown}; from {', '.join(PEERS)}")

    signal.signal(signal.SIGTERM, _interrupt)  # stopped: the finally blocks stop every peer and the server
    print("installing / checking the peers ...", file=sys.stderr, flush=True)
    versions, missing = install_all(args.peers)
    for peer, why in missing.items():
        print(f"  {peer}: cannot be installed here: {why}", file=sys.stderr)
    peers = [p for p in args.peers if p in versions]
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if args.pin and len(cpus) >= 2 else (None, None)
    if server_cpu is not None:
        os.sched_setaffinity(0, {server_cpu})  # the harness polls from the server's CPU
    root = args.keep or tempfile.mkdtemp(prefix="wsbench-peers-")
    os.makedirs(root, exist_ok=True)
    epmd_before = subprocess.run(["pgrep", "-x", "epmd"], capture_output=True).returncode == 0
    server = Server(server_cpu, root)
    raw: dict[str, Any] = {"rtt": {p: [] for p in peers},
                           "idle": {str(n): {p: [] for p in peers} for n in args.idle}}
    started = time.monotonic()
    runs = 0
    try:
        for round_index in range(args.rounds):
            order = peers[round_index % len(peers):] + peers[: round_index % len(peers)]
            plan = ([("rtt", args.sessions)] if "rtt" in args.tests else []) + \
                   ([("idle", n) for n in args.idle] if "idle" in args.tests else [])
            for test, n in plan:
                for peer in order:
                    runs += 1
                    workdir = os.path.join(root, f"{runs:03d}-{peer}-{test}-{n}")
                    os.makedirs(workdir)
                    deadline = 120.0 if test == "rtt" else 60.0 + 4 * n / args.ramp
                    job = Job(test, server.next_url(), n, args.messages, args.ramp, args.hold,
                              workdir, deadline)
                    record = run_one(server, peer, job, client_cpu)
                    (raw["rtt"][peer] if test == "rtt" else raw["idle"][str(n)][peer]).append(record)
                    shown = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in record.items()}
                    print(f"  r{round_index + 1} {test} {n} {peer}: {json.dumps(shown)}",
                          file=sys.stderr, flush=True)
    finally:
        server.stop()
        if "tsung" in peers and not epmd_before and shutil.which("epmd"):
            subprocess.run(["epmd", "-kill"], capture_output=True, timeout=10)  # Tsung's Erlang started it
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    rows = summarise(args, raw)
    print()
    pinned = f"peer pinned to CPU {client_cpu}, echo server to CPU {server_cpu}" if args.pin else "not pinned"
    print(f"{args.rounds} round(s), {time.monotonic() - started:.0f} s; {os.cpu_count()} cores shared "
          f"({pinned}); "
          f"rtt {args.sessions} sessions × {args.messages} round trips; idle {', '.join(map(str, args.idle))} "
          f"sessions at {args.ramp:g}/s held {args.hold:g} s; medians")
    print()
    print(table(args, rows, versions, missing))
    errors = [(test, peer, r) for test, per_peer in (("rtt", raw["rtt"]),) for peer, rs in per_peer.items()
              for r in rs if "error" in r]
    errors += [(f"idle {n}", peer, r) for n, per_peer in raw["idle"].items() for peer, rs in per_peer.items()
               for r in rs if "error" in r]
    for test, peer, record in errors:
        print(f"  {peer} {test}: {record['error']}" + (f" (log: {record['log']})" if record.get("log") else ""))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "versions": versions, "missing": missing,
                                               "raw": raw, "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
