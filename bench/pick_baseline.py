"""Pick a gate baseline: of N recordings, the most typical one (not the luckiest).

    PYTHONPATH=. python bench/pick_baseline.py reports/rec-*/*/result.json \
        --max-regression rtt_service.p50=20% --max-regression rtt_service.p99=20%

A baseline recorded in a quiet minute makes every later run look slower; one recorded in a
busy minute lets a real slowdown through. So record several (``make ci-gate`` runs, or
``wsbench run scenarios/ci-gate.yaml --lab nginx``) and judge each against every other with
the gate's own code (:func:`wsbench.gate.evaluate_gate`): the pick is the recording that the
fewest others would fail against (ties: the one whose first metric is nearest the median).
Prints one row per recording; not a test (the recordings take minutes).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from wsbench.gate import evaluate_gate
from wsbench.gate.regression import parse_max_regression

__all__ = ["main"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", type=Path, help="result.json of each recording")
    parser.add_argument("--max-regression", action="append", required=True, metavar="METRIC=PERCENT")
    parser.add_argument("--target", default="nginx")
    args = parser.parse_args()
    limits = [parse_max_regression(text) for text in args.max_regression]
    data = {str(path): json.loads(path.read_text()) for path in args.results}
    if len(data) < 2:
        sys.exit("pick_baseline: give at least two recordings")
    first = limits[0]

    def figure(name: str) -> float:
        node = data[name]["targets"][args.target]
        for key in first.summary_path:
            node = node[key]
        return float(node[first.statistic])

    median = statistics.median(figure(name) for name in data)
    rows = []
    for base in data:
        failing = [run for run in data if run != base
                   and not evaluate_gate(data[run], baseline=data[base], max_regressions=args.max_regression).passed]
        rows.append((len(failing), abs(figure(base) - median), base, failing))
        print(f"{base}: {first.metric} {figure(base):.3f} ms; the others failing against it: "
              f"{len(failing)}/{len(data) - 1}")
    rows.sort()
    print(f"pick: {rows[0][2]} ({rows[0][0]} of {len(data) - 1} others would fail against it)")


if __name__ == "__main__":
    main()
