"""Carrying out a disruption plan on the run's clock (a thread in the runner).

Each action is recorded with the time it really started (seconds from the target's
start, the workers' clock) and what it found: for a pod, how many sessions it held just
before (the pod's own ``/stats``), which is the ground truth of the blast radius.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from wsbench.disrupt.effects import cut_pod, reload_proxy, restart_pod
from wsbench.disrupt.plan import Disruption

__all__ = ["Disruptor"]

_NS = 1_000_000_000


def _pod_sessions(url: str) -> int | None:
    """``sessions_open`` from a wsbench pod's /stats (None if it does not answer)."""
    parts = urlsplit(url)
    try:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port or 80, timeout=2)
        connection.request("GET", "/stats")
        response = connection.getresponse()
        data = json.loads(response.read()) if response.status == 200 else {}
        connection.close()
    except (OSError, ValueError):
        return None
    value = data.get("sessions_open")
    return int(value) if isinstance(value, int) else None


class Disruptor:
    """Runs ``plan`` against a lab (or commands) for one target."""

    def __init__(
        self,
        plan: tuple[Disruption, ...],
        *,
        lab: Any = None,
        proxy: str | None = None,
        event: Callable[..., None] = lambda kind, **fields: None,
        supervisor: Any = None,
    ) -> None:
        self.plan = plan
        self.lab = lab
        self.proxy = proxy
        self.event = event
        #: a :class:`wsbench.lab.supervisor.Supervisor`: told what each action plans to do
        self.supervisor = supervisor
        self.records: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_ns = 0

    def start(self, start_ns: int) -> None:
        """Begin the plan; ``start_ns`` is the workers' common start (monotonic)."""
        self._start_ns = start_ns
        self._thread = threading.Thread(target=self._run, name="wsbench-disruptor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Skip what has not started; wait for a running action; return the records."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return list(self.records)


    def _now_s(self) -> float:
        return (time.monotonic_ns() - self._start_ns) / _NS

    def _run(self) -> None:
        for disruption in self.plan:
            if self._stop.wait(max(0.0, disruption.at_s - self._now_s())):
                return
            record: dict[str, Any] = {"kind": disruption.kind, "planned_at_s": disruption.at_s,
                                      "at_s": round(self._now_s(), 3)}
            if disruption.pod:
                record["pod"] = disruption.pod
            try:
                with self._planned(disruption):
                    record.update(self._act(disruption))
                record["ok"] = not record.get("problems")
            except Exception as exc:  # noqa: BLE001 - a failed action is recorded, the run goes on
                record["ok"] = False
                record["error"] = f"{type(exc).__name__}: {exc}"[:300]
            record["done_at_s"] = round(self._now_s(), 3)
            self.records.append(record)
            self.event("disruption", **{("disruption" if k == "kind" else k): v for k, v in record.items()})

    def _act(self, disruption: Disruption) -> dict[str, Any]:
        kind = disruption.kind
        if kind == "exec":
            assert disruption.command is not None
            done = subprocess.run(disruption.command, shell=True, capture_output=True, text=True,
                                  timeout=120, check=False)
            return {"command": disruption.command, "exit_code": done.returncode,
                    "output": (done.stdout + done.stderr)[-300:]}
        lab = self.lab
        if lab is None:
            raise RuntimeError(f"{kind} needs a lab (wsbench run --lab ...)")
        if kind == "proxy-reload":
            return reload_proxy(lab, self.proxy, self._now_s)
        assert disruption.pod is not None
        held = _pod_sessions(lab.pod(disruption.pod).url)
        found: dict[str, Any] = {"pod_sessions_before": held}
        if kind in ("pod-restart", "pod-kill"):
            found.update(restart_pod(lab, disruption.pod, hard=kind == "pod-kill", now_s=self._now_s))
        elif kind == "network-cut":
            found.update(cut_pod(lab, disruption.pod, disruption.duration_s or 0.0, self._stop, self._now_s))
            found["duration_s"] = disruption.duration_s
        return found

    def _planned(self, disruption: Disruption) -> contextlib.AbstractContextManager[None]:
        if self.supervisor is None or disruption.kind == "exec":
            return contextlib.nullcontext()
        member = f"pod {disruption.pod}" if disruption.pod else f"proxy {self.proxy}"
        return self.supervisor.planned(member, disruption.describe())  # type: ignore[no-any-return]
