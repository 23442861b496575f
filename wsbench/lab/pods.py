"""The lab's pods: ``wsbench serve`` processes started through ``wsbench.server.process``
(with ``--netns`` inside ``ip netns exec NAME``, listening on the namespace's address)."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from wsbench.lab import procs
from wsbench.lab.model import PodInfo
from wsbench.server.process import ServeOptions, ServerProcess, start_server

__all__ = ["PodSpec", "start_pods", "start_pod", "pod_names"]

PodSpec = tuple[str, str, int, str, str | None]  # (name, host, port, pool, netns)


def pod_names(pods: int, alt_pods: int) -> list[tuple[str, str]]:
    """``(name, pool)`` of every pod: ``pod-0..`` serve the main rules, ``alt-0..`` the alt rules."""
    return [(f"pod-{i}", "main") for i in range(pods)] + [(f"alt-{i}", "alt") for i in range(alt_pods)]


def start_pod(
    name: str,
    *,
    host: str,
    port: int,
    pool: str,
    log_dir: Path,
    drain_s: float,
    netns: str | None = None,
    delay_ms: float = 0.0,
) -> tuple[PodInfo, ServerProcess]:
    """Start one pod (``port`` 0: any free port) and describe it."""
    log_file = log_dir / f"{name}.log"
    options = ServeOptions(
        hosts=(host,), port=port, pod_name=name, drain_s=drain_s, ping_interval=None, netns=netns,
        delay_ms=delay_ms,
    )
    server = start_server(options, log_path=str(log_file))
    info = PodInfo(
        name=name,
        url=server.url,
        pid=server.pid,
        host=host,
        port=server.port,
        pool=pool,
        log_file=str(log_file),
        start_time=procs.start_time(server.pid),
        netns=netns,
    )
    return info, server


def start_pods(
    specs: list[PodSpec], *, log_dir: Path, drain_s: float, delay_ms: float = 0.0
) -> list[tuple[PodInfo, ServerProcess]]:
    """Start pods in parallel; on any failure stop those that started and re-raise."""
    log_dir.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=max(1, len(specs)))
    futures = [
        pool.submit(
            start_pod, name, host=host, port=port, pool=kind, log_dir=log_dir, drain_s=drain_s, netns=netns,
            delay_ms=delay_ms,
        )
        for name, host, port, kind, netns in specs
    ]
    try:
        wait(futures)
    finally:  # also on Ctrl-C: let every start finish, so none is left behind unseen
        pool.shutdown(wait=True)
        started = [f.result() for f in futures if f.exception() is None]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors or sys.exc_info()[0] is not None:
            for _, server in started:
                server.kill()
                server.stop()
    if errors:
        raise errors[0]  # type: ignore[misc]
    return started
