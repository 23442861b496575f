"""wsbench's engine vs bare picows vs bare websockets, side by side, in one run.

    .venv/bin/python bench/bench_engine.py            # 3 rounds, ~5 minutes
    .venv/bin/python bench/bench_engine.py --quick    # 2 smaller rounds, < 2 minutes
    .venv/bin/python bench/bench_engine.py --json out.json

One echo server (``bench/echo_server.py``: picows on uvloop, fast, in its own process)
serves every client, so the client is the bottleneck. Each measurement runs in a fresh
child process (``bench/engine_clients.py``) that measures *itself* (CPU from
``getrusage``, RSS from ``/proc/self/statm``) and reports one JSON line:

(a) 100 sessions closed loop, 32-byte text, a fixed number of round trips each:
    client CPU µs per round trip (between 10 % and 90 % of the round trips).
(b) idle sessions, 2k and 10k, each in its own child: KiB of RSS per session, and the
    marginal KiB per session between 2k and 10k (the fixed cost cancels out).
(c) CPU ms per session opened (DNS-free TCP connect + HTTP upgrade + one echo).

The machine is shared and noisy: rounds interleave every client (the order rotates each
round) and the tables show medians, with the spread across rounds. Ratios are against
bare picows. Every child is bounded in time; the server is stopped by its PID at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
TARGET_RTT_RATIO = 1.2
TARGET_OPEN_MS = 0.35
TARGET_IDLE_KIB = 8.0
BASELINE = "picows"
LABELS = {
    "picows": "bare picows (uvloop)",
    "websockets": "bare websockets (uvloop)",
    "wsbench": "wsbench engine (transport auto)",
    "wsbench-picows": "wsbench engine (picows)",
    "wsbench-python": "wsbench engine (picows, Python listener)",
    "wsbench-lean": "wsbench engine (lean)",
    "wsbench-websockets": "wsbench engine (websockets)",
    "wsbench-shell": "wsbench shell (diagnostic)",
}
#: what ``transport: auto`` runs in each test (``wsbench.engine.choice.choose_transport``)
AUTO = {"rtt": "picows + compiled listener (closed loop)", "idle": "lean (rate mode, idle-heavy)"}


class EchoServer:
    """``bench/echo_server.py`` in its own process; stopped by its PID."""

    def __init__(self, cpu: int | None) -> None:
        self._dir = tempfile.mkdtemp(prefix="wsbench-bench-echo-")
        ready = os.path.join(self._dir, "ready.json")
        self.process = subprocess.Popen(
            [PYTHON, str(HERE / "echo_server.py"), "--ready-file", ready],
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while not os.path.exists(ready):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit("bench: the echo server did not start")
            time.sleep(0.02)
        with open(ready, encoding="utf-8") as handle:
            self.url = json.load(handle)["url"]
        if cpu is not None:
            os.sched_setaffinity(self.process.pid, {cpu})

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        for name in os.listdir(self._dir):
            os.unlink(os.path.join(self._dir, name))
        os.rmdir(self._dir)


class Sources:
    """A fresh loopback source address per child, so TIME_WAIT never gets in the way."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"127.0.{1 + self.count // 250}.{1 + self.count % 250}"


def run_child(cfg: dict[str, Any], cpu: int | None) -> dict[str, Any]:
    """Run one measurement in a fresh process; its JSON lines merged (or an error)."""
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    try:
        done = subprocess.run(
            [PYTHON, str(HERE / "engine_clients.py"), json.dumps(cfg)],
            capture_output=True, text=True, timeout=cfg["deadline_s"] + 30, preexec_fn=pin,
        )
    except subprocess.TimeoutExpired:  # subprocess.run has killed the child it started
        return {"error": "child timed out"}
    record: dict[str, Any] = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record.update(json.loads(line))
    if not record:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        record["error"] = f"exit {done.returncode}: {tail[:300]}"
    return record


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    if len(values) < 2:
        return ""
    return f"{min(values):.3g}..{max(values):.3g}"


def run(args: argparse.Namespace) -> dict[str, Any]:
    clients = [c for c in args.clients.split(",") if c]
    cpus = sorted(os.sched_getaffinity(0))
    client_cpu, server_cpu = (cpus[0], cpus[-1]) if args.pin and len(cpus) >= 2 else (None, None)
    server = EchoServer(server_cpu)
    sources = Sources()
    rtt: dict[str, list[dict[str, Any]]] = {c: [] for c in clients}
    idle: dict[int, dict[str, list[dict[str, Any]]]] = {n: {c: [] for c in clients} for n in args.idle}
    errors: list[str] = []
    started = time.monotonic()
    try:
        for round_index in range(args.rounds):
            order = clients[round_index % len(clients):] + clients[: round_index % len(clients)]
            for _ in range(args.rtt_repeats if "rtt" in args.tests else 0):
                for client in order:
                    cfg = {"client": client, "test": "rtt", "url": server.url,
                           "source": sources.next(), "sessions": args.sessions,
                           "messages": args.messages, "deadline_s": 90}
                    record = run_child(cfg, client_cpu)
                    _keep(rtt[client], record, errors, f"rtt {client}")
            for n in args.idle if "idle" in args.tests else []:
                for client in order:
                    cfg = {"client": client, "test": "idle", "url": server.url,
                           "source": sources.next(), "sessions": n, "ramp": args.ramp,
                           "deadline_s": 60 + 3 * n / args.ramp}
                    record = run_child(cfg, client_cpu)
                    if record.get("failed"):
                        errors.append(f"idle {n} {client}: {record['failed']} sessions failed")
                    if "error" not in record and "rss_open" not in record:
                        record["error"] = f"no idle figures in {sorted(record)}"
                    _keep(idle[n][client], record, errors, f"idle {n} {client}")
            print(f"  round {round_index + 1}/{args.rounds} done at "
                  f"{time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return {"rtt": rtt, "idle": idle, "errors": errors, "elapsed_s": time.monotonic() - started}


def _keep(bucket: list[dict[str, Any]], record: dict[str, Any], errors: list[str], what: str) -> None:
    if "error" in record:
        errors.append(f"{what}: {record['error']}")
    else:
        bucket.append(record)


def summarise(args: argparse.Namespace, raw: dict[str, Any]) -> dict[str, Any]:
    """Medians per client: µs per round trip, KiB per idle session, ms per session opened."""
    clients = list(raw["rtt"])
    summary: dict[str, Any] = {"rtt": {}, "idle": {}, "open": {}}
    for client in clients:
        runs = raw["rtt"][client]
        if runs:
            summary["rtt"][client] = {
                "us_per_rt": median([r["us_per_rt"] for r in runs]),
                "runs": [r["us_per_rt"] for r in runs],
                "busy_pct": median([100 * r["cpu_s"] / r["wall_s"] for r in runs if r["wall_s"] > 0]),
            }
    if "idle" not in args.tests:
        return summary
    small, large = min(args.idle), max(args.idle)
    for client in clients:
        per_n = {}
        for n in args.idle:
            runs = raw["idle"][n][client]
            per_n[n] = {
                "kib_per_session": [(r["rss_open"] - r["rss_base"]) / 1024 / n for r in runs],
                "ms_per_open": [1000 * r["cpu_open_s"] / max(1, r["opened"]) for r in runs],
                "delta_bytes": [r["rss_open"] - r["rss_base"] for r in runs],
            }
        marginal = [
            (b - a) / 1024 / (large - small)
            for a, b in zip(per_n[small]["delta_bytes"], per_n[large]["delta_bytes"], strict=False)
        ] if large > small else []
        summary["idle"][client] = {
            "kib_per_session": {n: median(per_n[n]["kib_per_session"]) for n in args.idle},
            "marginal_kib": median(marginal),
            "marginal_rounds": marginal,
        }
        summary["open"][client] = {
            "ms_per_open": {n: median(per_n[n]["ms_per_open"]) for n in args.idle},
            "rounds": per_n[large]["ms_per_open"],
        }
    return summary


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base and base == base else "-"


def report(args: argparse.Namespace, raw: dict[str, Any], summary: dict[str, Any]) -> bool:
    """Print the three tables, the ratios and the targets; True if every target is met."""
    clients = list(raw["rtt"])
    width = max(len(LABELS.get(c, c)) for c in clients) + 2
    nan = float("nan")
    if summary["rtt"]:
        base = summary["rtt"].get(BASELINE, {}).get("us_per_rt", nan)
        print()
        print(f"(a) {args.sessions} sessions closed loop, 32-byte text, {args.messages} round trips "
              f"each: client CPU µs per round trip (median of {args.rounds} rounds x "
              f"{args.rtt_repeats} runs)")
        print(f"{'client':<{width}}{'µs/RT':>8}{'× picows':>10}{'busy':>7}   runs")
        for client, row in summary["rtt"].items():
            print(f"{LABELS.get(client, client):<{width}}{row['us_per_rt']:>8.2f}"
                  f"{_ratio(row['us_per_rt'], base):>10}{row['busy_pct']:>6.0f}%   "
                  + " ".join(f"{v:.2f}" for v in row["runs"]))
    if summary["idle"]:
        small, large = min(args.idle), max(args.idle)
        base = summary["idle"].get(BASELINE, {}).get("marginal_kib", nan)
        print()
        print(f"(b) idle sessions (one echo each, no pings): RSS KiB per session; marginal = "
              f"(Δ{large} − Δ{small}) / {large - small}")
        head = "".join(f"{f'Δ{n}/{n}':>15}" for n in args.idle)
        print(f"{'client':<{width}}{head}{'marginal':>10}{'× picows':>10}   marginal per round")
        for client, row in summary["idle"].items():
            cells = "".join(f"{row['kib_per_session'][n]:>15.2f}" for n in args.idle)
            print(f"{LABELS.get(client, client):<{width}}{cells}{row['marginal_kib']:>10.2f}"
                  f"{_ratio(row['marginal_kib'], base):>10}   "
                  + " ".join(f"{v:.2f}" for v in row["marginal_rounds"]))
        base = summary["open"].get(BASELINE, {}).get("ms_per_open", {}).get(large, nan)
        print()
        print(f"(c) CPU ms per session opened (TCP connect + upgrade + one echo; ramp {args.ramp:g}/s)")
        head = "".join(f"{f'{n} sessions':>16}" for n in args.idle)
        print(f"{'client':<{width}}{head}{'× picows':>10}   {large}: per round")
        for client, row in summary["open"].items():
            cells = "".join(f"{row['ms_per_open'][n]:>16.3f}" for n in args.idle)
            print(f"{LABELS.get(client, client):<{width}}{cells}"
                  f"{_ratio(row['ms_per_open'][large], base):>10}   "
                  + " ".join(f"{v:.3f}" for v in row["rounds"]))
    print()
    ok = True
    for client in ("wsbench",):
        checks = []
        if client in summary["rtt"] and BASELINE in summary["rtt"]:
            ratio = summary["rtt"][client]["us_per_rt"] / summary["rtt"][BASELINE]["us_per_rt"]
            checks.append((f"CPU per round trip {ratio:.2f}× bare picows", ratio <= TARGET_RTT_RATIO,
                           f"≤ {TARGET_RTT_RATIO}×"))
        if client in summary["idle"]:
            kib = summary["idle"][client]["marginal_kib"]
            open_ms = summary["open"][client]["ms_per_open"][max(args.idle)]
            checks.append((f"idle memory {kib:.2f} KiB per session (marginal)", kib <= TARGET_IDLE_KIB,
                           f"≤ {TARGET_IDLE_KIB:g} KiB"))
            checks.append((f"CPU per session opened {open_ms:.3f} ms", open_ms <= TARGET_OPEN_MS,
                           f"≤ {TARGET_OPEN_MS} ms"))
        if checks:
            print(f"targets, {LABELS[client]}: rtt on {AUTO['rtt']}; idle and opens on {AUTO['idle']}")
        for text, passed, target in checks:
            ok = ok and (passed or client != "wsbench")
            print(f"  {'MET ' if passed else 'MISS'}  {text}  (target {target})")
    for error in raw["errors"]:
        print(f"  error: {error}")
    pinned = "clients pinned to one CPU, server to another" if args.pin else "not pinned"
    print(f"\n{raw['elapsed_s']:.0f} s; {os.cpu_count()} cores shared with other work ({pinned}): "
          f"medians of noisy runs")
    return ok and not raw["errors"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 shorter rounds (< 2 minutes)")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; quick 2)")
    parser.add_argument("--sessions", type=int, default=100, help="closed-loop sessions (default 100)")
    parser.add_argument("--messages", type=int, help="round trips per session (default 4000; quick 2000)")
    parser.add_argument("--idle", help="idle session counts, comma-separated (default 2000,10000)")
    parser.add_argument("--ramp", type=float, default=3000.0, help="sessions opened per second (default 3000)")
    parser.add_argument("--clients", help="comma-separated, from: " + ", ".join(LABELS))
    parser.add_argument("--tests", default="rtt,idle", help="rtt, idle or both (default rtt,idle)")
    parser.add_argument("--rtt-repeats", type=int, help="closed-loop runs per client per round (default 2; quick 1)")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not pin the clients to the first CPU and the server to the last")
    parser.add_argument("--json", help="also write the raw figures and the summary here")
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.rtt_repeats = args.rtt_repeats or (1 if args.quick else 2)
    args.messages = args.messages or (2000 if args.quick else 4000)
    args.tests = [t for t in args.tests.split(",") if t]
    args.idle = [int(n) for n in (args.idle or "2000,10000").split(",")]
    args.clients = args.clients or "picows,websockets,wsbench,wsbench-picows"
    if BASELINE not in args.clients.split(","):
        parser.error("--clients must include picows (the baseline of every ratio)")
    raw = run(args)
    summary = summarise(args, raw)
    ok = report(args, raw, summary)
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "raw": raw, "summary": summary},
                                              indent=1, default=str))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
