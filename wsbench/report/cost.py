"""The proxy cost table: CPU per message and per upgrade, KiB per session, for each proxy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsbench.report.model import Cell, Table
from wsbench.result import fmt

__all__ = ["cost_table", "COST_COLUMNS"]

COST_COLUMNS = ("proxy", "CPU µs / message", "CPU µs / upgrade", "KiB / session", "CPU s", "RSS peak MiB",
                "processes", "CPUs ran on")


def _figure(value: Any, digits: int = 1) -> Cell:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Cell("–", None)
    return Cell(f"{value:,.{digits}f}", float(value))


def cost_table(costs: Mapping[str, Mapping[str, Any]], *, caption: str = "What each proxy spent") -> Table:
    """One row per proxy from its ``proxy_cost`` section (lab runs; absent figures show –)."""
    rows = []
    for name, cost in costs.items():
        rss = (cost.get("rss_kib") or {}).get("peak")
        cores = cost.get("cpus_ran_on") or []
        pinned = cost.get("pinned_cores")
        label = f"{name} (Prometheus)" if cost.get("source") == "prometheus" else str(name)
        rows.append((
            Cell(label),
            _figure(cost.get("cpu_us_per_message")),
            _figure(cost.get("cpu_us_per_upgrade")),
            _figure(cost.get("kib_per_session")),
            _figure(cost.get("cpu_s"), 3),
            _figure(rss / 1024 if isinstance(rss, int | float) else None),
            Cell(fmt.count(len(cost.get("processes") or [])), len(cost.get("processes") or [])),
            Cell(", ".join(map(str, cores)) + (f" (pinned {', '.join(map(str, pinned))})" if pinned else ""),
                 ",".join(map(str, cores))),
        ))
    return Table(COST_COLUMNS, tuple(rows), caption=caption)
