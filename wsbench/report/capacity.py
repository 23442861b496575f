"""The capacity report (``report.html`` beside ``capacity.json``), from that file only.

Per target: the verdict, the highest passing load, what broke first; per SLO a plot of its
metric against load with the SLO's limit and each target's knee; the curve as a table (each
step's readings, the machine's CPU, the proxy's cost through the lab); which cores ran what.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wsbench import __version__
from wsbench.report import plots
from wsbench.report.cost import cost_table
from wsbench.report.model import Banner, Cell, Table
from wsbench.report.render import environment, write_html

__all__ = ["capacity_html", "render_capacity_report", "summary_table", "curve_table"]

_VERDICT_TEXT = {
    "capacity": "capacity found",
    "at-least-maximum": "held at --max",
    "below-start": "fails below --start",
    "step-bound": "step bound reached",
    "generator-limit": "generator limit, not the target's",
    "interrupted": "interrupted",
}


def _load_cell(value: Any) -> Cell:
    return Cell("–", None) if value is None else Cell(f"{value:g}", float(value))


def summary_table(capacity: Mapping[str, Any]) -> Table:
    """One row per target: verdict, capacity, lowest fail, what broke first, steps of the bound."""
    rows = []
    for name, entry in capacity.get("targets", {}).items():
        broke = entry.get("broke_first") or {}
        rows.append((
            Cell(str(name)),
            Cell(_VERDICT_TEXT.get(entry.get("verdict"), str(entry.get("verdict"))),
                 css="fail" if entry.get("verdict") in ("generator-limit", "below-start") else ""),
            _load_cell(entry.get("capacity")),
            _load_cell(entry.get("lowest_fail")),
            Cell(f"{broke['slo']} ({broke.get('shown', '')})" if broke else "–", broke.get("slo")),
            Cell(f"{entry.get('steps')} / {entry.get('bound')}", entry.get("steps")),
        ))
    unit = capacity.get("unit", "")
    return Table(("target", "verdict", f"capacity ({unit})", f"first fail ({unit})", "broke first", "steps / bound"),
                 tuple(rows), caption="Capacity per target", numeric_from=2)


def curve_table(name: str, entry: Mapping[str, Any], slos: Sequence[str]) -> Table:
    """Every step of one target, in the order it ran."""
    rows = []
    for number, point in enumerate(entry.get("curve", []), start=1):
        readings = {r["slo"]: r for r in point.get("readings", [])}
        verdict = "saturated" if point.get("saturated") else ("pass" if point.get("passed") else "FAIL")
        cells = [Cell(str(number), number), _load_cell(point.get("load")),
                 Cell(verdict, verdict, "fail" if verdict != "pass" else "pass")]
        for slo in slos:
            reading = readings.get(slo)
            cells.append(Cell(reading["shown"], reading.get("observed"), "" if reading["passed"] else "fail")
                         if reading else Cell("–", None))
        busy = point.get("machine_cpu_percent")
        cells.append(Cell("–" if busy is None else f"{busy:.0f}%", busy))
        cost = point.get("proxy_cost") or {}
        for key in ("cpu_us_per_message", "cpu_us_per_upgrade", "kib_per_session"):
            value = cost.get(key)
            cells.append(Cell("–" if value is None else f"{value:,.1f}", value))
        rows.append(tuple(cells))
    columns = ("step", "load", "verdict", *slos, "machine CPU", "proxy CPU µs/msg", "proxy CPU µs/upgrade",
               "proxy KiB/session")
    return Table(columns, tuple(rows), caption=f"{name}: every step", numeric_from=1)


def _banners(capacity: Mapping[str, Any]) -> list[Banner]:
    banners = []
    if capacity.get("complete") is False:
        banners.append(Banner("partial", "Interrupted search (complete: false)",
                              "the curves hold the steps measured so far"))
    for name, entry in capacity.get("targets", {}).items():
        if entry.get("verdict") == "generator-limit":
            banners.append(Banner("saturated", f"{name}: generator limit, not the target's",
                                  entry.get("summary", ""), (entry.get("suggestion", ""),)))
        if entry.get("machine_note"):
            banners.append(Banner("info", f"{name}: bounded by the machine?", entry["machine_note"]))
    return banners


def _plots(capacity: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(svg, caption) per SLO: its metric against load for every target."""
    figures = []
    targets = capacity.get("targets", {})
    for index, slo in enumerate(capacity.get("slo", [])):
        curves: dict[str, list[tuple[float, float | None, bool]]] = {}
        limit = None
        for name, entry in targets.items():
            for point in entry.get("curve", []):
                for reading in point.get("readings", []):
                    if reading["slo"] == slo:
                        curves.setdefault(str(name), []).append((point["load"], reading.get("observed"),
                                                                 bool(reading["passed"])))
                        limit = reading.get("limit") if reading.get("limit") is not None else limit
        if not any(v is not None for points in curves.values() for _, v, _ in points):
            continue
        knees = {str(n): e.get("capacity") for n, e in targets.items() if e.get("verdict") == "capacity"}
        svg = plots.capacity_svg(curves, metric=slo.split("<")[0].split(">")[0].split("=")[0].strip(),
                                 limit=limit, knees=knees, unit=str(capacity.get("unit", "")),
                                 key=f"capacity-{index}")
        figures.append((svg, f"{slo}: the metric at each step (hollow: the step failed), the SLO line, "
                             "each target's knee (its capacity)"))
    return figures


def capacity_html(capacity: Mapping[str, Any], *, source: str = "") -> str:
    """The capacity page as a string."""
    slos = list(capacity.get("slo", []))
    targets = capacity.get("targets", {})
    last_costs = {}
    for name, entry in targets.items():
        passing = [p for p in entry.get("curve", []) if p.get("proxy_cost") and p.get("passed")]
        if passing:
            last_costs[str(name)] = passing[-1]["proxy_cost"]
    context = {
        "title": f"wsbench capacity · {capacity.get('run_id', 'run')}",
        "capacity": capacity,
        "banners": _banners(capacity),
        "summary": summary_table(capacity),
        "lines": [(str(n), e.get("summary", "")) for n, e in targets.items()],
        "figures": _plots(capacity),
        "curves": [curve_table(str(n), e, slos) for n, e in targets.items()],
        "cost": cost_table(last_costs, caption="Proxy cost at the highest passing step") if last_costs else None,
        "pinning": capacity.get("pinning") or {},
        "source": source,
        "generated_by": f"wsbench {__version__}",
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return environment().get_template("capacity.html.j2").render(context)


def render_capacity_report(capacity: Mapping[str, Any], out_path: str | Path, *, source: str = "") -> Path:
    """Write the capacity page of ``capacity`` (a capacity.json dict) to ``out_path``."""
    return write_html(out_path, capacity_html(capacity, source=source))
