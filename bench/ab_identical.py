"""Interleaved A/B of two identical pods, N times: does the gate call them the same? (issue 16)

    PYTHONPATH=. python bench/ab_identical.py --runs 5 --duration 12 --interleave 2

Each run starts two ``wsbench serve`` pods with the same options, measures them with
``wsbench run --target base=… --target cand=… --interleave S`` (4 sessions at 50 msg/s), then
judges cand against base with ``wsbench gate --baseline-target base --max-regression
rtt.p50=20% --max-regression rtt.p99=20%`` and prints each check's verdict. Measured on the
2-core development machine, 12 s in 2 s windows: every run passed (10 of 10 in two series);
p50 "same" 10 of 10; p99 "same" 8 of 10, the other 2 "not significant (within noise)" (a p99
of ~500 samples per target). 4.5 s in 1.5 s windows (the test's size): 4 of 5 passed, one
p50 +30 % (significant). Not a test: it takes a
minute and the answer depends on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from wsbench.server.process import ServeOptions, start_server

__all__ = ["main"]


def _one(duration: float, interleave: float) -> tuple[int, list[str]]:
    with tempfile.TemporaryDirectory(prefix="wsbench-ab-") as out, \
            start_server(ServeOptions()) as base, start_server(ServeOptions()) as cand:
        subprocess.run([sys.executable, "-m", "wsbench", "run", "--target", f"base={base.url}", "--target",
                        f"cand={cand.url}", "--interleave", f"{interleave:g}", "--duration", f"{duration:g}",
                        "--sessions", "4", "--rate", "50", "--processes", "1", "--out", out, "-q"],
                       check=True, stdout=subprocess.DEVNULL, timeout=300)
        (path,) = Path(out).glob("*/result.json")
        gate = subprocess.run([sys.executable, "-m", "wsbench", "gate", str(path), "--baseline-target", "base",
                               "--max-regression", "rtt.p50=20%", "--max-regression", "rtt.p99=20%",
                               "--no-scenario-thresholds"], capture_output=True, text=True, timeout=120)
    lines = [line for line in gate.stdout.splitlines() if "regression ≤" in line]
    verdicts = [f"{metric} {[c.strip() for c in line.split('|')][-2].split(':')[0]}"
                for metric, line in zip(("rtt.p50", "rtt.p99"), lines, strict=False)]
    return gate.returncode, verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--interleave", type=float, default=2.0)
    args = parser.parse_args()
    same = 0
    for index in range(args.runs):
        code, verdicts = _one(args.duration, args.interleave)
        same += code == 0 and all("same" in verdict for verdict in verdicts)
        print(f"run {index + 1}: gate exit {code}; " + "; ".join(verdicts), flush=True)
    print(f"identical targets judged the same in {same} of {args.runs} runs")


if __name__ == "__main__":
    main()
