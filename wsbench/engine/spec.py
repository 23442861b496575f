"""What a worker process is given: the runner builds it without importing the worker."""

from __future__ import annotations

from dataclasses import dataclass

from wsbench.scenario import Scenario

__all__ = ["WorkerSpec"]


@dataclass(frozen=True)
class WorkerSpec:
    """What one worker does (picklable: it crosses the process boundary)."""

    index: int
    workers: int
    target: str
    url: str
    scenario: Scenario
    sessions: tuple[int, ...]  # global session indices owned by this worker
    shard_path: str
    events_path: str
