"""Turn a Locust run of :class:`~wsbench.locust.user.WebSocketUser` into a wsbench Result.

Listens to Locust's ``request`` events and records them into the same
:class:`~wsbench.metrics.recorder.Recorder` the asyncio engine uses. In Locust's
distributed mode every worker sends its shard to the master when the test stops; the
master merges the shards exactly (HDR histograms add up bucket by bucket) and writes
``result.json`` — so reports, comparisons and gates work on Locust runs too.

    @events.init.add_listener
    def _(environment, **_):
        attach_result_writer(environment, out="reports", target="my-ingress")
"""

from __future__ import annotations

import datetime as _dt
import os
import time
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


class ResultWriter:
    """Records one Locust process's measurements; writes (or sends) them at the end."""

    def __init__(self, environment: Any, *, out: str, target: str) -> None:
        self.environment = environment
        self.out = Path(out)
        self.target = target
        self.start_ns = time.monotonic_ns()
        self.started_at = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        self.recorder = Recorder(start_ns=self.start_ns)
        self.run_id = f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-locust-{os.getpid()}"
        self.shards: list[dict[str, Any]] = []
        self.result_path: Path | None = None
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
        while True:
            gevent.sleep(1.0)
            self.recorder.tick(time.monotonic_ns())

    # --- the end ------------------------------------------------------------------------

    def shard(self) -> dict[str, Any]:
        if self._ticker is not None:
            self._ticker.kill()
            self._ticker = None
        self.recorder.tick(time.monotonic_ns())
        meta = {"target": self.target, "worker": os.getpid(), "pid": os.getpid()}
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
        write_json_atomic(path, result.to_json())
        self.result_path = path
        return path


def attach_result_writer(environment: Any, *, out: str = "reports", target: str = "locust") -> ResultWriter:
    """Record this Locust run into a wsbench Result (call from an ``events.init`` listener)."""
    return ResultWriter(environment, out=out, target=target)
