"""Calibration truth: the CI gate's run, idle and with a CPU burner on one core, interleaved.

    PYTHONPATH=. python bench/calibration_truth.py --pairs 5 --burners 2 --out /tmp/calibration-truth

Runs ``scenarios/ci-gate.yaml`` through a lab nginx of its own (``WSBENCH_LAB_DIR`` in the
output folder), alternating an idle run and a run with ``python -c 'while True: pass'`` pinned
to cores 0 .. BURNERS-1, and prints per run the raw p50 and p99 and the same taken to the first
idle run's machine by the gate's model (:func:`wsbench.result.calibration.machine_factor`),
and the time from the actual send (``rtt_service``: each message's RTT less the generator's own
send lag, measured per message), then the medians of each group. The question: do calibrated medians agree within 10 % where raw medians do not?
``--run-args '--reference-interleave 2 --duration 30'`` measures the machine by the same load to
the lab's reference path, taking turns with the target (the gate's scaled model).
``--load pingpong`` replaces the busy loops by a wake-up-heavy pair of processes (below),
``--load neighbour`` by another load test (wsbench, closed loop against its own echo server).
Not a test: it takes minutes and the answer depends on the machine (see baselines/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path

from wsbench.result import Result
from wsbench.result.calibration import machine_factor

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[1]
#: ``--load pingpong``: two processes, one pinned on each of two cores, bouncing a byte over a
#: socket pair as fast as they can: every bounce wakes a process on the other core (the kind
#: of load that slows a wake-up-bound path, where busy loops keep the vCPUs awake and speed
#: it up). Stops by itself after 900 s.
PINGPONG = """
import os, socket, sys, time
a, b = socket.socketpair()
cores = [int(c) for c in sys.argv[1].split(",")]
child = os.fork()
os.sched_setaffinity(0, {cores[1] if child == 0 else cores[0]})
end = time.monotonic() + 900
sock = b if child == 0 else a
if child:
    sock.send(b"x")
while time.monotonic() < end:
    for _ in range(10000):
        sock.send(sock.recv(1))
"""


def _run(out: Path, label: str, env: dict[str, str], extra: list[str]) -> Path:
    folder = out / label
    subprocess.run([sys.executable, "-m", "wsbench", "run", str(ROOT / "scenarios/ci-gate.yaml"), "--lab", "nginx",
                    "--out", str(folder), "-q", *extra], env=env, check=True, timeout=600, stdout=subprocess.DEVNULL)
    (run_dir,) = sorted(p for p in folder.iterdir() if p.is_dir())[-1:]
    return run_dir / "result.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--burners", type=int, default=2, help="busy loops, pinned to cores 0, 1, ... in turn (more than the cores: several per core)")
    parser.add_argument("--load", choices=("burn", "pingpong", "neighbour"), default="burn",
                        help="burn: busy loops (--burners); pingpong: a wake-up-heavy pair across cores 0 and 1; "
                             "neighbour: another load test on the machine (wsbench, closed loop, its own echo)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/calibration-truth"))
    parser.add_argument("--run-args", default="",
                        help="more `wsbench run` options, e.g. '--reference-interleave 2 --duration 30' (the "
                             "same-load reference and the gate's scaled model)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "WSBENCH_LAB_DIR": str(args.out / "labs")}
    subprocess.run([sys.executable, "-m", "wsbench", "lab", "up", "--proxies", "nginx", "--no-tls"], env=env,
                   check=True, timeout=120, stdout=subprocess.DEVNULL)
    paths: dict[str, list[Path]] = {"idle": [], "burn": []}
    try:
        for index in range(args.pairs):
            for label in ("idle", "burn") if index % 2 == 0 else ("burn", "idle"):
                if label == "idle":
                    burners = []
                elif args.load == "pingpong":
                    burners = [subprocess.Popen([sys.executable, "-c", PINGPONG, "0,1"], start_new_session=True)]
                elif args.load == "neighbour":  # bounded by its own --duration; stopped below anyway
                    burners = [subprocess.Popen(
                        [sys.executable, "-m", "wsbench", "run", "--sessions", "20", "--mode", "closed",
                         "--duration", "120", "--processes", "1", "--no-calibrate", "-q",
                         "--out", str(args.out / "neighbour")],
                        env={k: v for k, v in env.items() if k != "WSBENCH_LAB_DIR"},
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
                else:
                    burners = [subprocess.Popen(["taskset", "-c", str(core % (os.cpu_count() or 1)), sys.executable, "-c",
                                                 "while True: pass"])
                               for core in range(args.burners)]
                try:
                    paths[label].append(_run(args.out, f"{label}-{index}", env, args.run_args.split()))
                finally:
                    for burner in burners:
                        if args.load == "neighbour":  # Ctrl-C: it stops its workers and echo server itself
                            burner.send_signal(signal.SIGINT)
                            burner.wait(60)
                        elif args.load == "pingpong":
                            os.killpg(burner.pid, signal.SIGKILL)  # both halves of the pair
                        else:
                            burner.kill()
                        burner.wait(5)
    finally:
        subprocess.run([sys.executable, "-m", "wsbench", "lab", "down"], env=env, timeout=60,
                       stdout=subprocess.DEVNULL, check=False)
    reference = Result.from_json(json.loads(paths["idle"][0].read_text()))
    for statistic in ("p50", "p99"):
        rows: dict[str, list[tuple[float, float, float, float]]] = {"idle": [], "burn": []}
        for label, files in paths.items():
            for path in files:
                run = Result.from_json(json.loads(path.read_text()))
                target = run.targets["nginx"]
                raw = float(getattr(target.rtt, statistic))
                factor, service_factor = (
                    machine_factor(run.generator.calibration, reference.generator.calibration, run_target="nginx",
                                   base_target="nginx", statistic=statistic, metric=metric)
                    for metric in ("rtt", "rtt_service"))
                calibrated = factor.apply(raw) if factor is not None else raw
                service = float(getattr(target.rtt_service, statistic)) if target.rtt_service else float("nan")
                service_calibrated = service_factor.apply(service) if service_factor is not None else service
                rows[label].append((raw, calibrated, service, service_calibrated))
                print(f"{label}  raw {statistic} {raw:.3f} ms  calibrated {calibrated:.3f} ms  "
                      f"({factor.describe() if factor else 'no calibration'})  from the actual send {service:.3f} ms, "
                      f"calibrated {service_calibrated:.3f} ms"
                      + (f" ({service_factor.describe()})" if service_factor else ""))
        for column, name in enumerate(("raw", "calibrated", "from the actual send", "from the actual send, calibrated")):
            idle = statistics.median(row[column] for row in rows["idle"])
            burn = statistics.median(row[column] for row in rows["burn"])
            print(f"median {name} {statistic}: idle {idle:.3f} ms, burn {burn:.3f} ms ({burn / idle - 1:+.0%})")

if __name__ == "__main__":
    main()
