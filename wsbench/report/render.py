"""Render the single-run HTML report from a Result (typed, or the dict of its file).

One self-contained file: plots are inline SVG, CSS and the table-sorting script are inline,
nothing is fetched (the page opens from ``file://`` with no network).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from wsbench import __version__
from wsbench.files import write_atomic
from wsbench.report import charts, model, svg
from wsbench.result.distribution import Distribution, HdrDecodeError, distribution_of
from wsbench.result.model import Result, TargetResult
from wsbench.result.ranking import Floor, rank_result
from wsbench.result.verdict import GateVerdict

__all__ = ["render_report", "report_html", "environment", "write_html"]


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs (jinja2 compiles them from source in every new
    process otherwise: ~40-60 ms of CPU per report, measured with ``bench/peers``). An entry
    is checked against its template's source; an entry that cannot be read or written only
    means compiling again, never a lost report."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a damaged entry (jinja2 reads a pickle, then marshal)
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _template_cache() -> jinja2.BytecodeCache | None:
    """``$XDG_CACHE_HOME/wsbench/templates`` (``~/.cache/...``), or None when it cannot be made
    or is not the user's own: compiled code is loaded from it, so a folder that someone else
    owns or can write to (a shared ``XDG_CACHE_HOME``) is not used."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "wsbench", "templates")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        return None
    return _TemplateCache(folder)


def environment() -> jinja2.Environment:
    """The template environment (package templates, HTML autoescaping, strict undefined)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("wsbench.report", "templates"),
        bytecode_cache=_template_cache(),
        autoescape=jinja2.select_autoescape(["html", "j2"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _distributions(result: Result, path: Sequence[str], notes: list[str]) -> dict[str, Distribution]:
    out: dict[str, Distribution] = {}
    for name, target in result.targets.items():
        try:
            dist = distribution_of(target.summary(path))
        except HdrDecodeError as exc:
            notes.append(f"{name}: {'.'.join(path)} histogram unreadable ({exc})")
            continue
        if dist is not None and dist.total:
            out[str(name)] = dist
    return out


def _cost_table(targets: Mapping[str, TargetResult]) -> model.Table | None:
    """The proxies' cost (lab runs record ``proxy_cost`` per target), or None."""
    from wsbench.report.cost import cost_table

    costs = {str(n): t.extra["proxy_cost"] for n, t in targets.items() if isinstance(t.extra.get("proxy_cost"), Mapping)}
    return cost_table(costs) if costs else None


def report_html(
    result: Result | Mapping[str, Any],
    *,
    verdict: GateVerdict | None = None,
    conformance: Sequence[tuple[str, Mapping[str, Any]]] = (),
    source: str = "",
    floor: Floor | None = None,
) -> str:
    """The report page as a string (with several targets, the ranked verdict on top)."""
    result = Result.coerce(result, source=source or "result")
    notes: list[str] = []
    targets = result.targets
    rtt = _distributions(result, ("rtt",), notes)
    phases = {
        str(n): {p: model.summary_value(t.summary(("upgrade", p)), "p50") or 0.0 for p in svg.PHASE_COLOURS}
        for n, t in targets.items()
    }
    has_phases = any(any(v.values()) for v in phases.values())
    conformance_tables = model.conformance_tables(conformance)
    scenario = result.scenario
    context = {
        "title": f"wsbench report · {_text(result, 'run_id', 'run')}",
        "result": result,
        "run_id": _text(result, "run_id", "–"),
        "started_at": _text(result, "started_at", "–"),
        "duration_s": result.duration_s,
        "complete": result.complete is not False,
        "scenario_name": scenario.get("name", "") if scenario is not None else "",
        "banners": (model.banners(result, verdict) + model.diagnosis_banners(result)
                    + model.conformance_banners(conformance)),
        "ranking": rank_result(result, floor=floor) if len(targets) >= 2 else None,
        "cards": model.cards(result, verdict),
        "verdict": verdict,
        "notes": notes,
        "rtt_table": model.histogram_table([(str(n), t.rtt) for n, t in targets.items()], caption="Message round-trip time"),
        "spectrum_chart": charts.spectrum_chart(rtt) if rtt else None,
        "cdf_chart": charts.cdf_chart(rtt) if rtt else None,
        "upgrade_table": model.upgrade_table(result),
        "phases_svg": svg.upgrade_phases_svg(phases) if has_phases else None,
        "timeline_charts": charts.timeline_charts({str(n): t for n, t in targets.items()}),
        "disruption_charts": charts.disruption_charts([(str(n), t) for n, t in targets.items()]),
        "closes_table": model.count_table(result, ("closes", "by_code"), first="close code", caption="Closes by code", order=("1000", "1001", "1006")),
        "sides_table": model.count_table(result, ("closes", "by_side"), first="closed by", caption="Closes by side", order=("client", "server", "abnormal")),
        "failures_table": model.count_table(result, ("upgrade_failures",), first="upgrade failure", caption="Failed upgrades by status or error"),
        "disruption_table": model.disruption_table(result),
        "conformance": conformance_tables,
        "conformance_labels": [label for label, _ in conformance],
        "generator_table": model.generator_table(result),
        "cost_table": _cost_table(targets),
        "fingerprint": model.scenario_fingerprint(result),
        "scenario_json": json.dumps(scenario, indent=2, sort_keys=True, default=str) if scenario is not None else None,
        "versions": model.versions(result),
        "lab": dict(result.section("lab")),
        "source": source,
        "generated_by": f"wsbench {__version__}",
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "schema": result.schema,
    }
    return environment().get_template("report.html.j2").render(context)


def _text(result: Result, key: str, missing: str) -> Any:
    """A top-level value as the page shows it: ``missing`` when absent (None when null)."""
    value = getattr(result, key)
    return value if value is not None or key in result.extra else missing


def write_html(out_path: str | Path, html: str) -> Path:
    """Write a page atomically (a reader never sees half a report)."""
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, html)
    return path


def render_report(
    result: Result | Mapping[str, Any],
    out_path: str | Path,
    *,
    verdict: GateVerdict | None = None,
    conformance: Sequence[tuple[str, Mapping[str, Any]]] = (),
    source: str = "",
    floor: Floor | None = None,
) -> Path:
    """Write the report of ``result`` to ``out_path``; return the path.

    ``verdict`` (a gate verdict) adds pass/fail to the cards and a banner when it failed;
    ``conformance`` is ``(label, conform@1 dict)`` pairs for the conformance matrix.
    """
    return write_html(out_path, report_html(result, verdict=verdict, conformance=conformance, source=source,
                                            floor=floor))
