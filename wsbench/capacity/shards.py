"""Shards of a capacity search on several machines: the same steps, at the same time.

Every shard runs its share (``--shard I/N``: sessions ``i % N == I``) of each step. They
meet in a folder all of them can read and write (``--shard-dir``, e.g. a shared volume):

- before a step each shard writes ``<step>/ready-I`` (its wall clock) and waits for all N;
  the step starts on every shard at the same wall-clock time, one second after the last
  shard was ready (the shared clock: keep the machines in NTP sync);
- after it each shard writes ``<step>/result-I.json`` and waits for all N, then merges them
  exactly (:func:`wsbench.result.runs.merge_results`) and judges the merged Result, so
  every shard takes the same decision and the searches stay in step.

Waits are bounded; a shard that never arrives ends the search with a LocalError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wsbench.errors import LocalError
from wsbench.files import write_json_atomic

__all__ = ["ShardExchange"]

_POLL_S = 0.1
_START_MARGIN_S = 1.0


class ShardExchange:
    """The meeting folder of N shards."""

    def __init__(self, folder: Path, index: int, count: int, *, say: Callable[[str], None] = lambda _: None,
                 ready_timeout_s: float = 600.0) -> None:
        self.folder = folder
        self.index = index
        self.count = count
        self._say = say
        self._ready_timeout_s = ready_timeout_s

    def _wait_for(self, step: Path, prefix: str, timeout_s: float) -> list[Path]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = sorted(step.glob(f"{prefix}-*"))
            found = [p for p in found if not p.name.endswith(".tmp")]
            if len(found) >= self.count:
                return found
            if time.monotonic() > deadline:
                raise LocalError(f"capacity --shard: only {len(found)} of {self.count} shards reached "
                                 f"{step.name} within {timeout_s:g} s (folder {step})")
            time.sleep(_POLL_S)

    def rendezvous(self, key: str) -> float:
        """Wait for every shard, then until the step's common start; the start (wall clock)."""
        step = self.folder / key
        step.mkdir(parents=True, exist_ok=True)
        write_json_atomic(step / f"ready-{self.index}", {"wall": time.time()})
        found = self._wait_for(step, "ready", self._ready_timeout_s)
        start = max(json.loads(p.read_text())["wall"] for p in found) + _START_MARGIN_S
        delay = start - time.time()
        if delay > 0:
            time.sleep(min(delay, _START_MARGIN_S))
        return start

    def merged(self, key: str, result: dict[str, Any], *, timeout_s: float) -> dict[str, Any]:
        """Publish this shard's Result of the step; the merge of all N."""
        from wsbench.result.runs import merge_results

        step = self.folder / key
        step.mkdir(parents=True, exist_ok=True)
        write_json_atomic(step / f"result-{self.index}.json", result)
        found = self._wait_for(step, "result", timeout_s)
        inputs = [(p.name, json.loads(p.read_text())) for p in found]
        return merge_results(inputs, run_id=f"{key}-merged").result
