"""From a typed :class:`~wsbench.result.model.Result` to what the report templates show.

Pure: no I/O, no plotting. Every section tolerates its absence from the Result (older or
partial runs, runs without disruptions or conformance): missing sections become ``None``
or empty lists and the template says "not measured" instead of failing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wsbench.result import fmt
from wsbench.result.calibration import describe_floor, has_same_load
from wsbench.result.diagnosis import diagnose, failure_text
from wsbench.result.infrastructure import LAB_FAILURE, lab_failed, lab_failure_lines
from wsbench.result.model import Disruption, Result, TargetResult
from wsbench.result.summary import Summary
from wsbench.result.verdict import GateVerdict

__all__ = [
    "UPGRADE_PHASES",
    "HISTOGRAM_COLUMNS",
    "Cell",
    "Card",
    "Table",
    "Banner",
    "section",
    "summary_value",
    "scenario_fingerprint",
    "banners",
    "cards",
    "histogram_table",
    "upgrade_table",
    "count_table",
    "disruption_table",
    "diagnosis_banners",
    "generator_table",
    "conformance_tables",
    "conformance_banners",
    "versions",
    "has_samples",
]

UPGRADE_PHASES = ("dns", "tcp", "tls", "http", "total")
HISTOGRAM_COLUMNS = ("count", "min", "mean", "p50", "p90", "p99", "p999", "max")
_STAT_TITLES = {"p999": "p99.9", "count": "samples"}
VERDICTS = ("OK", "NON-STRICT", "INFORMATIONAL", "UNIMPLEMENTED", "FAILED")


@dataclass(frozen=True)
class Cell:
    """One table cell: the text shown, the value sorted on, and an optional CSS class."""

    text: str
    sort: float | str | None = None
    css: str = ""


@dataclass(frozen=True)
class Table:
    """A sortable table."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""
    numeric_from: int = 1  # columns from this index on are right-aligned numbers


@dataclass(frozen=True)
class Card:
    """The summary card of one target."""

    name: str
    url: str
    figures: tuple[tuple[str, str], ...]  # (label, value)
    alerts: tuple[str, ...] = ()
    gate: str | None = None  # "passed" / "failed" / None
    gate_detail: str = ""


@dataclass(frozen=True)
class Banner:
    """A warning shown at the top of the page."""

    level: str  # "partial", "lab-failure", "saturated", "gate-failed", "info"
    title: str
    detail: str = ""
    items: tuple[str, ...] = field(default_factory=tuple)


def section(mapping: Any, key: str) -> dict[str, Any]:
    """``mapping[key]`` when it is an object, else ``{}``."""
    value = mapping.get(key) if isinstance(mapping, Mapping) else None
    return dict(value) if isinstance(value, Mapping) else {}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def summary_value(summary: Summary | None, stat: str) -> float | None:
    """One statistic of a summary ``H`` (ms, or the sample count); None when unknown or empty."""
    return summary.statistic(stat) if summary is not None else None


def _ms_cell(value: float | None) -> Cell:
    return Cell(fmt.ms(value), value)


def _count_cell(value: Any) -> Cell:
    number = _num(value)
    return Cell(fmt.count(number) if number is not None else "–", number)


def scenario_fingerprint(result: Result) -> str:
    """A short hash of the scenario as loaded: two runs with the same one are comparable."""
    scenario = result.scenario
    canonical = json.dumps(scenario, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def versions(result: Result) -> dict[str, str]:
    """Software versions: the ``versions`` object, plus top-level ``*_version`` and ``python`` keys."""
    found = {str(k): str(v) for k, v in result.section("versions").items()}
    tops = {"wsbench_version": result.wsbench_version, "python": result.python, **result.extra}
    for key, value in tops.items():
        if (key.endswith("_version") or key == "python") and isinstance(value, str | int | float):
            found.setdefault(key.removesuffix("_version"), str(value))
    return found


def banners(result: Result, verdict: GateVerdict | None = None) -> list[Banner]:
    """Warnings for the top of the page: partial run, saturated generator, failed gate."""
    out: list[Banner] = []
    incomplete = [n for n, t in result.targets.items() if t.complete is False]
    if result.complete is False or incomplete:
        duration = _num(result.duration_s)
        detail = "The run was interrupted" + (f" after {duration:g} s" if duration is not None else "")
        detail += "; everything below is what was measured until then, not the full scenario."
        if incomplete:
            detail += f" Incomplete targets: {', '.join(incomplete)}."
        out.append(Banner("partial", "Partial result (complete: false)", detail))
    for name, target in result.targets.items():
        if lab_failed(target):
            out.append(Banner(
                "lab-failure", f"{name}: {LAB_FAILURE}",
                f"A lab member broke while {name} was measured, and no planned disruption explains "
                "it: the figures of this target describe the broken lab, not the controller.",
                tuple(lab_failure_lines(target))))
    for name, target in result.targets.items():
        machine = target.extra.get("machine_cpu")
        if isinstance(machine, Mapping) and machine.get("bounded_by_machine"):
            out.append(Banner(
                "info", f"{name}: bounded by the machine, not only the controller",
                str(machine.get("note") or ""),
                tuple(_pinning_lines(result))))
    generator = result.generator
    if generator is not None and generator.saturated:
        reasons = tuple(str(r) for r in generator.saturation_reasons or ())
        out.append(
            Banner(
                "saturated",
                "Load generator saturated",
                "wsbench itself was the bottleneck: latencies and rates below describe the "
                "load generator as much as the target. Use more processes or a bigger machine.",
                reasons,
            )
        )
    if verdict is not None and not verdict.passed:
        out.append(
            Banner(
                "gate-failed",
                f"Gate failed: {len(verdict.failed_checks)} of {len(verdict.checks)} checks, "
                f"{len(verdict.failed_rows)} of {len(verdict.rows)} rows",
                "",
                tuple(c.name for c in verdict.failed_checks),
            )
        )
    return out


def cards(result: Result, verdict: GateVerdict | None = None) -> list[Card]:
    """One summary card per target."""
    out: list[Card] = []
    for name, target in result.targets.items():
        sessions = target.sessions or {}
        messages = target.messages or {}
        rtt = target.rtt
        total = target.summary(("upgrade", "total"))
        attempted, opened = _num(sessions.get("attempted")), _num(sessions.get("opened"))
        figures = [
            ("sessions opened", f"{fmt.count(opened)} / {fmt.count(attempted)}" if opened is not None else "–"),
            ("upgrade p50", fmt.ms(summary_value(total, "p50"))),
            ("upgrade p99", fmt.ms(summary_value(total, "p99"))),
            ("RTT p50", fmt.ms(summary_value(rtt, "p50"))),
            ("RTT p99", fmt.ms(summary_value(rtt, "p99"))),
            ("RTT p99.9", fmt.ms(summary_value(rtt, "p999"))),
            ("sessions dropped", fmt.count(_num(sessions.get("dropped")))),
            ("messages lost", f"{fmt.count(_num(messages.get('lost')))} of {fmt.count(_num(messages.get('sent')))}"),
        ]
        alerts = []
        failed = _num(sessions.get("failed"))
        if failed:
            alerts.append(f"{fmt.count(failed)} upgrades failed")
        if target.complete is False:
            alerts.append("incomplete")
        gate = detail = None
        if verdict is not None:
            mine = [o for c in verdict.checks for o in c.observations if o.target == name]
            if mine:
                bad = [o for o in mine if not o.passed]
                gate = "failed" if bad else "passed"
                detail = f"{len(mine) - len(bad)} of {len(mine)} rows passed"
        out.append(Card(str(name), target.url if target.url is not None else "", tuple(figures), tuple(alerts),
                        gate, detail or ""))
    return out


def histogram_table(rows: Sequence[tuple[str, Summary | None]], *, caption: str = "", first: str = "target") -> Table:
    """A table of summaries ``H``: one row per (label, summary)."""
    body = []
    for label, summary in rows:
        cells = [Cell(label, label)]
        for stat in HISTOGRAM_COLUMNS:
            value = summary_value(summary, stat)
            cells.append(_count_cell(value) if stat == "count" else _ms_cell(value))
        body.append(tuple(cells))
    columns = (first, *(_STAT_TITLES.get(s, s) for s in HISTOGRAM_COLUMNS))
    return Table(columns, tuple(body), caption)


def upgrade_table(result: Result) -> Table:
    """Upgrade phases: p50 and p99 of each phase per target (phases absent everywhere are dropped)."""
    targets = result.targets
    present = [
        phase
        for phase in UPGRADE_PHASES
        if any(summary_value(t.summary(("upgrade", phase)), "count") for t in targets.values())
    ]
    columns = ["target"]
    for phase in present:
        columns += [f"{phase.upper()} p50", f"{phase.upper()} p99"]
    rows = []
    for name, target in targets.items():
        cells = [Cell(str(name), str(name))]
        for phase in present:
            summary = target.summary(("upgrade", phase))
            cells += [_ms_cell(summary_value(summary, "p50")), _ms_cell(summary_value(summary, "p99"))]
        rows.append(tuple(cells))
    return Table(tuple(columns), tuple(rows), "Time to a working WebSocket, by phase")


def count_map(target: TargetResult, path: tuple[str, ...]) -> Mapping[str, Any]:
    """The counters at ``path``: ``("closes", "by_code")``, ``("closes", "by_side")``, ``("upgrade_failures",)``."""
    found: Mapping[str, Any] | None = None
    if path == ("upgrade_failures",):
        found = target.upgrade_failures
    elif path[:1] == ("closes",) and len(path) == 2 and target.closes is not None:
        found = getattr(target.closes, path[1], None)
    return found if found is not None else {}


def count_table(result: Result, path: tuple[str, ...], *, first: str, caption: str, order: Sequence[str] = ()) -> Table:
    """Rows = keys of a count map found at ``path`` in each target, columns = targets."""
    maps = {str(name): count_map(target, path) for name, target in result.targets.items()}
    keys = list(dict.fromkeys([*order, *(k for m in maps.values() for k in m)]))
    keys = [k for k in keys if any(_num(m.get(k)) for m in maps.values()) or k in order]
    rows = [
        (Cell(key, key), *(_count_cell(maps[n].get(key, 0)) for n in maps))
        for key in keys
    ]
    return Table((first, *maps), tuple(rows), caption)


def has_samples(summary: Summary | None) -> bool:
    """Whether a summary ``H`` holds at least one sample."""
    return bool(summary_value(summary, "count"))


def _shown(item: Disruption, key: str, missing: str) -> str:
    """A disruption's field as text (``None`` when the file says null), ``missing`` when absent."""
    value = getattr(item, key)
    return str(value) if value is not None or key in item.extra else missing


def disruption_table(result: Result) -> Table:
    """Blast radius of each disruption (one row each): what it dropped and lost, the upgrades
    that failed during it by status or class, how many sessions came back and how fast."""
    rows = []
    for name, target in result.targets.items():
        for item in target.disruption_list:
            recovery = item.recovery
            at = _num(item.at_s)
            failures = item.extra.get("upgrade_failures")
            failed = {str(k): int(v) for k, v in failures.items() if _num(v)} if isinstance(failures, Mapping) else {}
            failed_text = ", ".join(failure_text(k, v) for k, v in sorted(failed.items(), key=lambda kv: -kv[1]))
            recovered = _num(item.extra.get("recovered"))
            rows.append(
                (
                    Cell(str(name), str(name)),
                    Cell(_shown(item, "kind", "?"), _shown(item, "kind", "")),
                    Cell(f"{at:g} s" if at is not None else "–", at),
                    Cell(_shown(item, "pod", "–"), _shown(item, "pod", "")),
                    _count_cell(item.sessions_dropped),
                    _count_cell(item.messages_lost),
                    Cell(failed_text or "none", sum(failed.values()), "bad" if failed else ""),
                    _count_cell(recovered),
                    _ms_cell(summary_value(recovery, "p50")),
                    _ms_cell(summary_value(recovery, "p99")),
                    _ms_cell(summary_value(recovery, "max")),
                )
            )
    columns = ("target", "disruption", "at", "pod", "sessions dropped", "messages lost", "failed upgrades during it",
               "recovered", "recovery p50", "recovery p99", "recovery max")
    return Table(columns, tuple(rows), "Blast radius of each disruption (from its second to the next disruption)",
                 numeric_from=4)


def diagnosis_banners(result: Result) -> list[Banner]:
    """One banner per target that never worked, naming the likely cause."""
    return [Banner("gate-failed", f"{name}: never worked", line)
            for name, target in result.targets.items() if (line := diagnose(target)) is not None]


def generator_table(result: Result) -> Table:
    """Load-generator health as a two-column table."""
    generator = result.generator.to_json() if result.generator is not None else {}
    labels = {
        "processes": "worker processes",
        "cpu_percent_max": "max CPU of a worker (%)",
        "loop_lag_ms_p99": "event-loop lag p99 (ms)",
        "saturated": "saturated",
    }
    rows = []
    for key, label in labels.items():
        if key in generator:
            value = generator[key]
            text = ("yes" if value else "no") if isinstance(value, bool) else fmt.number(_num(value))
            rows.append((Cell(label, label), Cell(text, _num(value), "bad" if key == "saturated" and value else "")))
    for key, value in generator.items():
        if key not in labels and key != "saturation_reasons" and not isinstance(value, dict | list):
            rows.append((Cell(key, key), Cell(str(value), _num(value))))
    machine = generator.get("machine")
    if isinstance(machine, Mapping):
        text = (f"{machine.get('host', '?')}: {machine.get('cpus', '?')} × {machine.get('cpu_model', '?')}, "
                f"kernel {machine.get('kernel', '?')}")
        rows.append((Cell("machine", "machine"), Cell(text, text)))
    rows.extend(_calibration_rows(result))
    rows.extend(_send_lag_rows(result))
    return Table(("measure", "value"), tuple(rows), "Load generator")


def _send_lag_rows(result: Result) -> list[tuple[Cell, Cell]]:
    """Rate mode, per target: how late the generator sent on its own, and the RTT without it."""
    rows = []
    for name, target in result.targets.items():
        lag, service = target.send_lag, target.rtt_service
        if lag is None or not lag.count or service is None:
            continue
        for label, summary in ((f"{name}: send lag p50 / p99 (in rtt)", lag),
                               (f"{name}: rtt from the actual send p50 / p99", service)):
            text = f"{fmt.ms(summary.p50)} / {fmt.ms(summary.p99)}"
            rows.append((Cell(label, label), Cell(text, summary.p99)))
    return rows


def _calibration_rows(result: Result) -> list[tuple[Cell, Cell]]:
    """The noise floor (``generator.calibration``): what the machine adds on its own."""
    calibration = result.generator.calibration if result.generator is not None else None
    floor = describe_floor(calibration)
    if calibration is None or not floor:
        return []
    rows = [(Cell("noise floor", "noise floor"), Cell(floor, floor))]
    if calibration.open is not None and calibration.open.p50 is not None:
        text = f"{calibration.open.p50:.3g} ms p50 / {calibration.open.p99:.3g} ms p99 (TCP + upgrade on loopback)"
        rows.append((Cell("open cost", "open cost"), Cell(text, text)))
    if calibration.cpu_us_per_round_trip is not None:
        text = f"{calibration.cpu_us_per_round_trip:g} µs"
        rows.append((Cell("CPU per round trip", "CPU per round trip"), Cell(text, calibration.cpu_us_per_round_trip)))
    for target, summary in (calibration.during or {}).items():
        how = (f"the same load to the reference path, taking turns with {target}" if has_same_load(calibration, target)
               else f"while {target} ran")
        text = (f"{summary.p50:.3g} ms p50 / {summary.p99:.3g} ms p99 (mean {summary.mean:.3g} ms) "
                f"{how}: the machine factor the gate uses")
        rows.append((Cell(f"machine while {target} ran", target), Cell(text, text)))
    return rows


def _pinning_lines(result: Result) -> list[str]:
    """Which cores ran what (``pinning``, lab runs), one line."""
    pinning = result.section("pinning")
    return [str(pinning["note"])] if pinning.get("note") else []


def conformance_banners(conformance: Sequence[tuple[str, Mapping[str, Any]]]) -> list[Banner]:
    """A banner on each conformance target whose lab broke while it ran (``conform --lab``)."""
    out = []
    for label, data in conformance:
        if lab_failed(data):
            infrastructure = section(data, "infrastructure")
            out.append(Banner(
                "lab-failure", f"{label}: {LAB_FAILURE}",
                f"A lab member broke while {label} was checked, and no planned disruption explains it: "
                f"its {infrastructure.get('invalid_cases', 0)} cases from "
                f"{float(infrastructure.get('invalid_from_s') or 0):.1f} s on are INVALID, not the "
                "controller's verdicts.",
                tuple(lab_failure_lines(data))))
    return out


def conformance_tables(conformance: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[Table, Table] | None:
    """Verdict counts per group (rows) and per file (columns), and every case in detail;
    next to each file's Autobahn verdicts, its wsbench checks in a column of their own."""
    if not conformance:
        return None
    labels = [label for label, _ in conformance]
    groups: dict[str, dict[str, dict[str, int]]] = {}
    checks: dict[str, dict[str, dict[str, int]]] = {}
    cases: dict[str, dict[str, Mapping[str, Any]]] = {}
    for label, data in conformance:
        for case_id, case in section(data, "cases").items():
            group = str(case.get("group", "other"))
            verdict = str(case.get("verdict", "?")).upper()
            groups.setdefault(group, {}).setdefault(label, {})
            groups[group][label][verdict] = groups[group][label].get(verdict, 0) + 1
            tally = checks.setdefault(group, {}).setdefault(label, {})
            for check in _checks_of(case).values():
                check_verdict = str(check.get("verdict", "?")).upper()
                tally[check_verdict] = tally.get(check_verdict, 0) + 1
            cases.setdefault(str(case_id), {})[label] = case
    matrix = []
    for group, per_label in groups.items():
        cells = [Cell(group, group)]
        for label in labels:
            tally = per_label.get(label, {})
            failed = tally.get("FAILED", 0)
            cells.append(Cell(_tally_text(tally), failed, "bad" if failed else ("good" if tally else "")))
            own = checks.get(group, {}).get(label, {})
            cells.append(Cell(_tally_text(own), own.get("FAILED", 0),
                              "bad" if own.get("FAILED") else ("warn" if own.get("NON-STRICT") else "")))
        matrix.append(tuple(cells))
    detail = []
    for case_id in sorted(cases, key=_case_key):
        per_label = cases[case_id]
        first = next(iter(per_label.values()))
        cells = [Cell(case_id, ".".join(f"{p:>4}" for p in case_id.split("."))), Cell(str(first.get("group", "")), str(first.get("group", "")))]
        for label in labels:
            case = per_label.get(label)
            verdict = str(case.get("verdict", "?")).upper() if case else "–"
            observed = str(case.get("observed", "")) if case else ""
            css = {"FAILED": "bad", "OK": "good", "NON-STRICT": "warn", "UNIMPLEMENTED": "warn",
                   "INVALID": "warn"}.get(verdict, "")
            cells.append(Cell(verdict + (f" ({observed})" if observed else ""), verdict, css))
            own = _checks_of(case) if case else {}
            bad = {name: c for name, c in own.items() if str(c.get("verdict")).upper() != "OK"}
            text = "; ".join(f"{name}: {c.get('verdict')} ({c.get('reason', '')})" for name, c in bad.items())
            cells.append(Cell(text or ("OK" if own else "–"), len(bad),
                              "bad" if any(str(c.get("verdict")).upper() == "FAILED" for c in bad.values())
                              else ("warn" if bad else "")))
        detail.append(tuple(cells))
    own_columns = [name for label in labels for name in (label, f"{label}: wsbench checks")]
    return (
        Table(("group", *own_columns), tuple(matrix),
              "Verdicts per group (Autobahn|Testsuite grouping and judgement; wsbench's own checks apart)"),
        Table(("case", "group", *own_columns), tuple(detail), "Every case", numeric_from=99),
    )


def _checks_of(case: Mapping[str, Any]) -> Mapping[str, Mapping[str, Any]]:
    own = case.get("wsbench_checks")
    return own if isinstance(own, Mapping) else {}


def _tally_text(tally: Mapping[str, int]) -> str:
    order = [*VERDICTS, *sorted(set(tally) - set(VERDICTS))]
    return " · ".join(f"{tally[v]} {v}" for v in order if tally.get(v)) or "–"


def _case_key(case_id: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (0, p) for p in case_id.split("."))
