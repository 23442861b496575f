"""Where a worker process starts: the worker is imported there, not in the runner.

The runner (the parent process) builds a :class:`~wsbench.engine.spec.WorkerSpec` per
worker and starts :func:`worker_entry` in a new process; only that process imports
:mod:`wsbench.engine.worker` (uvloop, picows, the transports). The parent never needs
them: ~0.15-0.3 s of CPU less at the start of every run (measured in ``bench/peers``).
"""

from __future__ import annotations

from typing import Any

from wsbench.engine.spec import WorkerSpec

__all__ = ["worker_entry"]


def worker_entry(spec: WorkerSpec, start_ns_value: Any, go: Any, progress: Any) -> None:
    """The worker process's entry point: :func:`wsbench.engine.worker.worker_main`."""
    from wsbench.engine.worker import worker_main

    worker_main(spec, start_ns_value, go, progress)
