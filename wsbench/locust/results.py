"""Turn a Locust run of :class:`~wsbench.locust.user.WebSocketUser` into a wsbench Result.

Listens to Locust's ``request`` events and records them into the same
:class:`~wsbench.metrics.recorder.Recorder` the asyncio engine uses. In Locust's
distributed mode every worker sends its shard to the master when the test stops; the
master merges the shards exactly (HDR histograms add up bucket by bucket) and writes
``result.json`` and ``events.jsonl`` beside it, prints where they are, and writes
``report.html`` when given a ``render`` function (``wsbench.render_report``: a report is a
reader of Results, which this I/O layer may not import) — so reports, comparisons and gates
work on Locust runs too.

Generator health is measured in every Locust process as in ``wsbench run``: the CPU of the
process each second (``time.process_time``) and the gevent loop's lag (a greenlet that
sleeps 100 ms and records how late it woke), so ``generator`` never reads a silent 0 %.

    @events.init.add_listener
    def _(environment, **_):
        attach_result_writer(environment, out="reports", target="my-ingress")
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from locust.runners import MasterRunner, WorkerRunner

from wsbench import __version__
from wsbench.engine.machine import machine_facts
from wsbench.files import write_json_atomic
from wsbench.metrics.recorder import Recorder
from wsbench.result.model import Result
from wsbench.result.shards import generator_from_shards, target_from_shards
from wsbench.scenario import redact_url

__all__ = ["ResultWriter", "attach_result_writer", "SHARD_MESSAGE"]

SHARD_MESSAGE = "wsbench_shard"
_PROBE_S = 0.1  # the loop-lag probe and the 100 ms buckets


class ResultWriter:
    """Records one Locust process's measurements; writes (or sends) them at the end."""

    def __init__(self, environment: Any, *, out: str, target: str,
                 render: Callable[[Path, Path], Any] | None = None) -> None:
        self.environment = environment
        self.out = Path(out)
        self.target = target
        self.start_ns = time.monotonic_ns()
        self.started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        self.recorder = Recorder(start_ns=self.start_ns)
        self.run_id = f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-locust-{os.getpid()}"
        self.shards: list[dict[str, Any]] = []
        self.result_path: Path | None = None
        self.render = render
        self._ticker: Any = None
        events = environment.events
        events.request.add_listener(self.on_request)
        events.test_start.add_listener(self.on_test_start)
        events.test_stop.add_listener(self.on_test_stop)
        runner = environment.runner
        if isinstance(runner, MasterRunner):
            runner.register_message(SHARD_MESSAGE, self.on_shard)

    # --- measurements -----------------------------------------------------------------

    def on_request(self, request_type: str, name: str, response_time: float,
                   exception: BaseException | None = None, context: dict[str, Any] | None = None,
                   **_: Any) -> None:
        context = context or {}
        rec = self.recorder
        if name == "upgrade":
            rec.attempted += 1
            if exception is None:
                rec.upgrade_ok(context.get("phases", {}))
            else:
                rec.upgrade_failed(context.get("failure", "other"))
        elif name == "echo":
            rec.sent += 1
            if exception is None:
                rec.received += 1
                rec.rtt_pending.append(int(context.get("rtt_ns", response_time * 1e6)) // 1000)
            elif context.get("lost"):
                rec.lost += 1
        elif name == "unmatched":
            if context.get("duplicate"):
                rec.duplicated += 1
            else:
                rec.unmatched += 1
        elif name == "close":
            rec.sent += context.get("lost", 0)
            rec.session_closed(code=int(context.get("code", 1006)), side=context.get("side", "abnormal"),
                               dropped=bool(context.get("dropped")), lost=int(context.get("lost", 0)))

    def on_test_start(self, **_: Any) -> None:
        self.start_ns = time.monotonic_ns()
        self.recorder = Recorder(start_ns=self.start_ns)
        self._ticker = gevent.spawn(self._tick_forever)

    def _tick_forever(self) -> None:
        """Every 100 ms: the loop's lag and the 100 ms bucket; every second: CPU and a tick."""
        cpu_mark, wall_mark = time.process_time(), time.monotonic_ns()
        next_second = self.start_ns + 1_000_000_000
        while True:
            expected = time.monotonic_ns() + int(_PROBE_S * 1e9)
            gevent.sleep(_PROBE_S)
            now = time.monotonic_ns()
            self.recorder.loop_lag.record(max(0, now - expected) // 1000)
            self.recorder.sample(now)
            if now >= next_second:
                cpu_now = time.process_time()
                cpu = 100.0 * (cpu_now - cpu_mark) / max(1e-6, (now - wall_mark) / 1e9)
                cpu_mark, wall_mark = cpu_now, now
                self.recorder.tick(now, cpu_percent=cpu)
                next_second += 1_000_000_000 * max(1, (now - next_second) // 1_000_000_000 + 1)

    # --- the end ------------------------------------------------------------------------

    def shard(self) -> dict[str, Any]:
        if self._ticker is not None:
            self._ticker.kill()
            self._ticker = None
        self.recorder.tick(time.monotonic_ns(), final=True)
        meta = {"target": self.target, "worker": os.getpid(), "pid": os.getpid(), "transport": "locust"}
        return self.recorder.snapshot(complete=True, meta=meta)

    def on_test_stop(self, **_: Any) -> None:
        runner = self.environment.runner
        shard = self.shard()
        if isinstance(runner, WorkerRunner):
            runner.send_message(SHARD_MESSAGE, shard)
        elif not isinstance(runner, MasterRunner):
            self.write([shard])
        # the master writes as the workers' shards arrive (on_shard): never block here,
        # the greenlet that delivers those messages may be the one that called us

    def on_shard(self, msg: Any, **_: Any) -> None:
        """A worker's shard (Locust calls custom-message handlers with ``msg=``)."""
        self.shards.append(msg.data)
        self.write(self.shards)

    def write(self, shards: list[dict[str, Any]]) -> Path:
        """Merge ``shards`` into a Result and (re)write ``out/<run-id>/result.json``."""
        run_dir = self.out / self.run_id
        run_dir.mkdir(parents=True, exist_ok=True)
        host = redact_url(self.environment.host or "")
        result = Result(
            run_id=run_dir.name,
            started_at=self.started_at,
            duration_s=round((time.monotonic_ns() - self.start_ns) / 1e9, 3),
            complete=True,
            wsbench_version=__version__,
            scenario={"name": "locust", "targets": [{"name": self.target, "url": host}], "thresholds": []},
            generator=generator_from_shards([shards], len(shards), machine_facts()),
            targets={self.target: target_from_shards(host, shards, name=self.target)},
            extra={"engine": "locust"},
        )
        path = run_dir / "result.json"
        first = self.result_path is None
        write_json_atomic(path, result.to_json())
        self.result_path = path
        self._event(run_dir, "shards_merged", shards=len(shards), complete=True)
        report = self.render(path, run_dir / "report.html") if self.render is not None else None
        if first:
            print(f"wsbench: result: {path}", flush=True)
            print(f"wsbench: events: {run_dir / 'events.jsonl'}", flush=True)
            if report is not None:
                print(f"wsbench: report: {report}", flush=True)
        return path

    def _event(self, run_dir: Path, kind: str, /, **fields: Any) -> None:
        record = {"t": round((time.monotonic_ns() - self.start_ns) / 1e9, 6), "wall": round(time.time(), 6),
                  "kind": kind, "target": self.target, "engine": "locust", **fields}
        with open(run_dir / "events.jsonl", "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")


def attach_result_writer(environment: Any, *, out: str = "reports", target: str = "locust",
                         render: Callable[[Path, Path], Any] | None = None) -> ResultWriter:
    """Record this Locust run into a wsbench Result (call from an ``events.init`` listener);
    ``render(result_path, html_path)`` writes report.html beside it (e.g. ``wsbench.render_report``)."""
    return ResultWriter(environment, out=out, target=target, render=render)
