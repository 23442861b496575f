"""A controller's cost in a real cluster, from Prometheus (``--cost-from-prometheus URL QUERY``).

``QUERY`` is the label selector of the controller pods' containers, as cAdvisor (the
kubelet) labels them, e.g. ``{namespace="ingress-nginx",container="controller"}``. From it
two PromQL queries are asked of Prometheus' HTTP API:

- CPU: ``sum(container_cpu_usage_seconds_total{...})`` — CPU seconds, all pods together;
- memory: ``sum(container_memory_working_set_bytes{...})`` — bytes, all pods together.

``/api/v1/query`` (instant) before the run (:meth:`PrometheusSource.instant`, the CLI
calls it) checks that Prometheus answers and the selector matches; ``/api/v1/query_range`` (``step`` 1 s) after each target gives the readings from
``idle_s`` before its t = 0 to its end, mapped onto the run's clock (Prometheus timestamps
are wall clock; the target's t = 0 is ``t0_unix_s``). The figures are then the same as
from ``/proc`` (:func:`wsbench.cost.figures.proxy_cost`): CPU per upgrade and per message,
KiB per session. Prometheus only knows what it scraped: between scrapes (cAdvisor: 10-15 s
usually) a series holds its last value, so hold each step long against the scrape interval.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsbench.cost.figures import proxy_cost
from wsbench.errors import UsageError

__all__ = ["PrometheusSource", "PrometheusCostObserver", "CPU_METRIC", "MEMORY_METRIC", "cost_queries"]

CPU_METRIC = "container_cpu_usage_seconds_total"
MEMORY_METRIC = "container_memory_working_set_bytes"


def cost_queries(selector: str) -> dict[str, str]:
    """The PromQL of each reading for the controller containers ``selector`` matches."""
    text = selector.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise UsageError(f"--cost-from-prometheus: QUERY must be a label selector such as "
                         f"'{{namespace=\"ingress-nginx\",container=\"controller\"}}', got {selector!r}")
    return {"cpu_s": f"sum({CPU_METRIC}{text})", "memory_bytes": f"sum({MEMORY_METRIC}{text})"}


@dataclass(frozen=True)
class PrometheusSource:
    """Where to ask: Prometheus' base URL and the controller containers' selector."""

    url: str
    selector: str
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise UsageError(f"--cost-from-prometheus: {self.url!r} is not an http(s):// URL of Prometheus")
        cost_queries(self.selector)  # a bad selector fails before the run

    @property
    def queries(self) -> dict[str, str]:
        return cost_queries(self.selector)

    def _get(self, path: str, params: Mapping[str, str]) -> Any:
        url = f"{self.url.rstrip('/')}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_s) as response:  # noqa: S310 - http(s) only
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:200]
            raise UsageError(f"Prometheus at {self.url} answered {exc.code} to {params.get('query')!r}: {detail}") from exc
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read Prometheus at {self.url}: {exc}") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            raise UsageError(f"Prometheus at {self.url}: {body.get('error') if isinstance(body, dict) else body!r}")
        return body.get("data") or {}

    def instant(self) -> dict[str, float]:
        """Each query's value now (``/api/v1/query``); UsageError when one matches nothing."""
        values = {}
        for key, query in self.queries.items():
            result = self._get("/api/v1/query", {"query": query}).get("result") or []
            if not result:
                raise UsageError(f"Prometheus at {self.url}: {query} matched no series "
                                 "(check the selector against the controller pods' labels)")
            values[key] = float(result[0]["value"][1])
        return values

    def series(self, start_unix: float, end_unix: float, step_s: float = 1.0) -> dict[str, list[tuple[float, float]]]:
        """Each query's ``(unix time, value)`` points from ``start_unix`` to ``end_unix`` (``query_range``)."""
        out = {}
        for key, query in self.queries.items():
            data = self._get("/api/v1/query_range", {"query": query, "start": f"{start_unix:.3f}",
                                                     "end": f"{end_unix:.3f}", "step": f"{step_s:g}"})
            result = data.get("result") or []
            points = [(float(t), float(v)) for t, v in (result[0].get("values") or [])] if result else []
            out[key] = [(t, v) for t, v in points if math.isfinite(v)]
        return out


def readings(series: Mapping[str, list[tuple[float, float]]], t0_unix: float) -> list[dict[str, float]]:
    """Samples on the run's clock (``t_s`` from ``t0_unix``) where both series have a point."""
    memory = dict(series.get("memory_bytes", []))
    return [{"t_s": round(t - t0_unix, 6), "cpu_s": cpu, "rss_kib": memory[t] / 1024, "processes": 0}
            for t, cpu in series.get("cpu_s", []) if t in memory]


class PrometheusCostObserver:
    """A runner observer: one target's ``proxy_cost`` from Prometheus instead of ``/proc``."""

    def __init__(self, target: str, source: PrometheusSource, *, idle_s: float = 5.0, step_s: float = 1.0) -> None:
        self.target = target
        self.source = source
        self.idle_s = idle_s
        self.step_s = step_s
        self._t0_unix = 0.0
        self._begin_unix = 0.0

    def begin(self) -> None:
        self._begin_unix = time.time()

    def start(self, start_ns: int) -> None:
        self._t0_unix = time.time() + (start_ns - time.monotonic_ns()) / 1e9

    def finish(self, target: dict[str, Any]) -> dict[str, Any]:
        t0 = float(target.get("t0_unix_s") or self._t0_unix)
        end = time.time()
        try:
            series = self.source.series(math.floor(min(self._begin_unix, t0) - self.idle_s), math.ceil(end),
                                        self.step_s)
        except UsageError as exc:  # the run is measured: say what is missing, keep the Result
            return {"proxy_cost": {"source": "prometheus", "error": str(exc)}}
        samples = readings(series, t0)
        cost = proxy_cost(samples, target)
        cost.update({
            "proxy": self.target,
            "source": "prometheus",
            "method": f"Prometheus {self.source.url}: query_range step {self.step_s:g} s of the controller "
                      "containers' CPU seconds and working-set memory, all pods summed",
            "queries": self.source.queries,
            "samples": {key: [s[key] for s in samples] for key in ("t_s", "cpu_s", "rss_kib")},
        })
        return {"proxy_cost": cost}
