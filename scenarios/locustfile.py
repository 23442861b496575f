"""Locust users through an ingress, recorded as a wsbench Result.

    locust -f scenarios/locustfile.py --headless -u 200 -r 50 -t 1m --host ws://127.0.0.1:8080/echo

Locust's own stats show ``WS upgrade`` and ``WS echo``; at the end a wsbench Result is
written to reports/<run-id>/result.json (HDR histograms, split upgrade phases, closes),
so `wsbench report`, `compare` and `gate` work on it. Distributed mode (--master /
--worker) works too: workers send their shards to the master, which merges them exactly.
"""

from __future__ import annotations

import os
from typing import Any

from locust import between, events, task

from wsbench.locust import WebSocketUser, attach_result_writer


def write_report(result_path: Any, html_path: Any) -> Any:
    """report.html beside the Result, as `wsbench run` writes it."""
    from wsbench import load_result, render_report

    return render_report(load_result(result_path), html_path)


@events.init.add_listener
def record_results(environment: Any, **_: Any) -> None:
    attach_result_writer(environment, out=os.environ.get("WSBENCH_OUT", "reports"),
                         target=os.environ.get("WSBENCH_TARGET", "locust"), render=write_report)


class EchoUser(WebSocketUser):
    """Holds one session and sends a 32-byte stamped message every 50-150 ms."""

    wait_time = between(0.05, 0.15)
    message_size = 32

    @task
    def echo_once(self) -> None:
        self.echo()
