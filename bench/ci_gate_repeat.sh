#!/usr/bin/env bash
# Repeatability of the project's CI gate (issue 16): N consecutive `make ci-gate` on clean clones,
# then N with the lab's pods slowed by --pod-delay-ms (a known slowdown that must fail).
#   bench/ci_gate_repeat.sh REPO BRANCH VENV N DELAY_MS LOG_DIR
# Each clone gets its own WSBENCH_LAB_DIR, so a lab left running by anyone else is never used.
set -u
REPO=${1:-/work/main}; BRANCH=${2:-main}; VENV=${3:-/work/main/.venv}; N=${4:-5}; DELAY=${5:-0.6}
LOG=${6:-/tmp/ci-gate-repeat}
mkdir -p "$LOG"
summary() {  # the gate's rtt lines: observed and verdict
  grep -E "regression ≤" "$1" | sed -E 's/\| ([^|]*) \| `([^`]*)`.*\| ([^|]*) \| ([^|]*) \| ([^|]*) \| ([^|]*) \|$/\1 \2 \4 :: \6/' | cut -c1-260
}
run() {  # run KIND I [lab options]
  local kind=$1 i=$2; shift 2
  local dir; dir=$(mktemp -d /tmp/ci-gate-clone.XXXX)
  git clone -q -b "$BRANCH" "$REPO" "$dir/repo"
  cp /work/main/wsbench/engine/_fastpath.cpython-311-x86_64-linux-gnu.so "$dir/repo/wsbench/engine/" 2>/dev/null
  export WSBENCH_LAB_DIR="$dir/labs" PYTHONPATH="$dir/repo"
  if [ $# -gt 0 ]; then
    (cd "$dir/repo" && timeout 120 "$VENV/bin/wsbench" lab up --proxies nginx --no-tls "$@" > "$LOG/$kind-$i.lab.log" 2>&1)
  fi
  (cd "$dir/repo" && timeout 300 make -o venv ci-gate VENV="$VENV" > "$LOG/$kind-$i.log" 2>&1)
  local rc=$?
  cp "$dir"/repo/reports/ci/*/result.json "$LOG/$kind-$i.result.json" 2>/dev/null
  if [ $# -gt 0 ]; then (cd "$dir/repo" && timeout 60 "$VENV/bin/wsbench" lab down > /dev/null 2>&1); fi
  echo "$kind $i exit=$rc"; summary "$LOG/$kind-$i.log"
  rm -rf "$dir"
}
for i in $(seq 1 "$N"); do run clean "$i"; done
for i in $(seq 1 "$N"); do run slowed "$i" --pod-delay-ms "$DELAY"; done
