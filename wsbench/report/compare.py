"""Compare targets (controllers) within one Result or across Results, side by side.

On top, the ranked verdict (:mod:`wsbench.result.ranking`): the targets ordered on their
disruptions' blast radius, failed upgrades, recovery, upgrade and RTT tails, each line
saying why. Below, every target is compared with a reference target on p50 and p99 of RTT
and of the total upgrade time: a ratio and a difference, each with a bootstrap confidence
interval (RTT by blocks of time, :mod:`wsbench.result.blocks`, when the Result has them),
and a plain verdict ("nginx p99 RTT 1.8× envoy [1.6–2.0]", "within noise", "same: under the
practical floor"). Pure except :func:`render_compare`, which writes the page.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsbench import __version__
from wsbench.errors import UsageError
from wsbench.report import charts, model, svg
from wsbench.report.model import Cell, Table
from wsbench.report.render import environment, write_html
from wsbench.result import fmt
from wsbench.result.blocks import block_histograms, block_samples
from wsbench.result.distribution import Distribution, HdrDecodeError, distribution_of
from wsbench.result.infrastructure import LAB_FAILURE, lab_failed
from wsbench.result.model import Result, TargetResult
from wsbench.result.ranking import Floor, Ranking, generator_lag, machine_noise, rank_targets
from wsbench.result.stats import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    RatioEstimate,
    bootstrap_statistics,
    compare,
)
from wsbench.result.summary import Summary

__all__ = ["Entry", "Comparison", "entries_of", "compare_entries", "verdict_text", "compare_html", "render_compare",
           "rank_entries"]

#: (path of the summary in a target, how the verdict names it)
METRICS: tuple[tuple[tuple[str, ...], str], ...] = ((("rtt",), "RTT"), (("upgrade", "total"), "upgrade"))
STATISTICS = ("p50", "p99")


@dataclass(frozen=True)
class Entry:
    """One target of one Result."""

    label: str
    target: str
    run_label: str
    result: Result

    @property
    def data(self) -> TargetResult:
        """The target's section of the Result."""
        return self.result.targets[self.target]

    def summary(self, path: Sequence[str]) -> Summary | None:
        """The summary ``H`` at ``path`` in the target, or None."""
        return self.data.summary(path)


@dataclass(frozen=True)
class Comparison:
    """One statistic of one entry against the reference."""

    entry: str
    reference: str
    metric: str
    statistic: str
    estimate: RatioEstimate | None
    verdict: str


def _typed(results: Sequence[tuple[str, Result | Mapping[str, Any]]]) -> list[tuple[str, Result]]:
    return [(label, Result.coerce(result, source=label)) for label, result in results]


def entries_of(results: Sequence[tuple[str, Result | Mapping[str, Any]]]) -> list[Entry]:
    """Every target of every Result; labels gain the run's label only where names repeat."""
    typed = _typed(results)
    names = [name for _label, result in typed for name in result.targets]
    out = []
    for run_label, result in typed:
        for name in result.targets:
            label = name if names.count(name) == 1 else f"{name} · {run_label}"
            out.append(Entry(label, str(name), run_label, result))
    labels = [e.label for e in out]
    if len(set(labels)) != len(labels):
        raise UsageError("two inputs have the same label and target names; give distinct files")
    return out


def verdict_text(entry: str, reference: str, metric: str, estimate: RatioEstimate, floor: Floor | None = None) -> str:
    """A plain sentence: who is slower, by how much, with the interval; "within noise"; or
    "same" when the difference is under the practical floor, significant or not."""
    ratio = estimate.ratio
    if floor is not None and floor.under(estimate.a_ms, estimate.b_ms, latency=True):
        return (f"same: under the practical floor ({estimate.difference_ms.point:+.3g} ms, "
                f"{fmt.ratio(ratio.point)}; floor {floor})")
    if not estimate.significant:
        return f"within noise ({fmt.ratio(ratio.point)} [{ratio.low:.2f}–{ratio.high:.2f}])"
    if ratio.point >= 1.0:
        slow, fast, point, low, high = entry, reference, ratio.point, ratio.low, ratio.high
    else:
        slow, fast = reference, entry
        point, low, high = 1.0 / ratio.point, 1.0 / ratio.high, 1.0 / ratio.low
    return f"{slow} {estimate.statistic} {metric} {fmt.ratio(point)} {fast} [{low:.2f}–{high:.2f}]"


def _distribution(entry: Entry, path: Sequence[str]) -> Distribution | None:
    try:
        dist = distribution_of(entry.summary(path))
    except HdrDecodeError:
        return None
    return dist if dist is not None and dist.total else None


def compare_entries(
    entries: Sequence[Entry],
    *,
    reference: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    floor: Floor | None = None,
) -> list[Comparison]:
    """Each entry against the reference (default: the first) on p50/p99 of RTT and upgrade."""
    floor = floor or Floor()
    if not entries:
        return []
    labels = [e.label for e in entries]
    if reference is None:
        reference = labels[0]
    elif reference not in labels:
        raise UsageError(f"--reference {reference!r}: no such target (choose from {', '.join(labels)})")
    base = entries[labels.index(reference)]
    samples: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}

    def resampled(entry: Entry, path: tuple[str, ...], dist: Distribution) -> dict[str, Any]:
        key = (entry.label, path)
        if key not in samples:
            seed = zlib.crc32(f"{entry.label}/{'.'.join(path)}".encode())
            blocks = block_histograms(entry.data.extra, path) if path == ("rtt",) else []
            by_blocks = {stat: block_samples(blocks, stat, resamples=resamples, seed=seed) for stat in STATISTICS} \
                if blocks else {}
            if by_blocks and all(v is not None for v in by_blocks.values()):
                samples[key] = by_blocks  # samples close in time are not independent: resample time
            else:
                samples[key] = bootstrap_statistics(dist, STATISTICS, resamples=resamples, seed=seed)
        return samples[key]

    out: list[Comparison] = []
    for entry in entries:
        if entry.label == reference:
            continue
        for path, metric in METRICS:
            a, b = _distribution(entry, path), _distribution(base, path)
            for statistic in STATISTICS:
                if a is None or b is None:
                    out.append(Comparison(entry.label, reference, metric, statistic, None, "no data"))
                    continue
                estimate = compare(
                    a, b, statistic, confidence=confidence,
                    a_samples=resampled(entry, path, a)[statistic],
                    b_samples=resampled(base, path, b)[statistic],
                )
                out.append(
                    Comparison(entry.label, reference, metric, statistic, estimate,
                               verdict_text(entry.label, reference, metric, estimate, floor))
                )
    return out


def _side_by_side(entries: Sequence[Entry]) -> Table:
    rows = []
    for entry in entries:
        data = entry.data
        sessions, messages = data.sessions or {}, data.messages or {}
        rtt, total = entry.summary(("rtt",)), entry.summary(("upgrade", "total"))
        flags = []
        if entry.result.complete is False or data.complete is False:
            flags.append("partial")
        if entry.result.generator is not None and entry.result.generator.saturated:
            flags.append("generator saturated")
        if lab_failed(data):
            flags.append(LAB_FAILURE)

        def ms(summary: Summary | None, stat: str) -> Cell:
            value = model.summary_value(summary, stat)
            return Cell(fmt.ms(value), value)

        def count(value: Any) -> Cell:
            return Cell(fmt.count(value) if isinstance(value, int | float) else "–", value if isinstance(value, int | float) else None)

        rows.append((
            Cell(entry.label, entry.label), count(sessions.get("opened")), count(sessions.get("failed")),
            count(sessions.get("dropped")), count(messages.get("lost")),
            ms(rtt, "p50"), ms(rtt, "p99"), ms(rtt, "p999"), ms(total, "p50"), ms(total, "p99"),
            Cell(", ".join(flags) or "–", ", ".join(flags), "bad" if flags else ""),
        ))
    columns = ("target", "opened", "upgrades failed", "dropped", "lost", "RTT p50", "RTT p99", "RTT p99.9",
               "upgrade p50", "upgrade p99", "warnings")
    return Table(columns, tuple(rows), "Side by side", numeric_from=1)


def _comparison_table(comparisons: Sequence[Comparison], confidence: float, resamples: int) -> Table:
    rows = []
    for c in comparisons:
        e = c.estimate
        if e is None:
            rows.append((Cell(c.entry, c.entry), Cell(f"{c.metric} {c.statistic}", f"{c.metric} {c.statistic}"),
                         Cell("–"), Cell("–"), Cell("–"), Cell("–"), Cell("no data", "", "warn")))
            continue
        rows.append((
            Cell(c.entry, c.entry),
            Cell(f"{c.metric} {c.statistic}", f"{c.metric} {c.statistic}"),
            Cell(f"{fmt.ms(e.a_ms)} vs {fmt.ms(e.b_ms)}", e.a_ms),
            Cell(f"{fmt.ratio(e.ratio.point)} [{e.ratio.low:.2f}–{e.ratio.high:.2f}]", e.ratio.point),
            Cell(f"{e.difference_ms.point:+.3g} ms [{e.difference_ms.low:+.3g}, {e.difference_ms.high:+.3g}]", e.difference_ms.point),
            Cell("yes" if e.significant else "no", int(e.significant)),
            Cell(c.verdict, c.verdict, "" if not e.significant or c.verdict.startswith("same")
                 else ("bad" if e.ratio.point > 1 else "good")),
        ))
    reference = comparisons[0].reference if comparisons else ""
    columns = ("target", "statistic", f"value vs {reference}", f"ratio [{confidence:.0%} CI]",
               f"difference [{confidence:.0%} CI]", "significant", "verdict")
    return Table(columns, tuple(rows), f"Against {reference} (bootstrap, {resamples} resamples)", numeric_from=2)


def _runs_table(results: Sequence[tuple[str, Result]]) -> Table:
    rows = []
    for label, result in results:
        name = (result.scenario or {}).get("name", "")
        run_id, started = result.run_id, result.started_at
        rows.append((
            Cell(label, label), Cell(str(run_id) if run_id is not None else "–", str(run_id or "")),
            Cell(str(started) if started is not None else "–", str(started or "")),
            Cell(str(name) or "–", str(name)), Cell(model.scenario_fingerprint(result), model.scenario_fingerprint(result)),
            Cell("no" if result.complete is False else "yes", "", "bad" if result.complete is False else ""),
            Cell(", ".join(result.targets), ""),
        ))
    return Table(("input", "run", "started", "scenario", "fingerprint", "complete", "targets"), tuple(rows), "Inputs", numeric_from=99)


def rank_entries(entries: Sequence[Entry], *, floor: Floor | None = None,
                 resamples: int = DEFAULT_RESAMPLES) -> Ranking:
    """The ranked verdict across ``entries`` (each judged with its own Result's generator lag).

    Across Results (runs at different times), an RTT p99 difference below the machine's own
    p99 while the two ran (their calibration probes) is "same"."""
    lags = {e.label: lag for e in entries if (lag := generator_lag(e.result, e.target)) is not None}
    across = len({id(e.result) for e in entries}) > 1
    noise = {e.label: n for e in entries if across and (n := machine_noise(e.result, e.target)) is not None}
    return rank_targets([(e.label, e.data) for e in entries], floor=floor, resamples=resamples, generator_lag_ms=lags,
                        machine_noise_ms=noise or None)


def compare_html(
    results: Sequence[tuple[str, Result | Mapping[str, Any]]],
    *,
    reference: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    floor: Floor | None = None,
    ranking: Ranking | None = None,
) -> str:
    """The comparison page as a string; ``results`` are ``(label, Result)`` pairs."""
    results = _typed(results)
    entries = entries_of(results)
    if len(entries) < 2:
        raise UsageError("compare needs at least two targets (in one Result or across Results)")
    comparisons = compare_entries(entries, reference=reference, resamples=resamples, confidence=confidence,
                                  floor=floor)
    ranking = ranking or rank_entries(entries, floor=floor, resamples=resamples)
    rtt = {e.label: d for e in entries if (d := _distribution(e, ("rtt",))) is not None}
    phases = {
        e.label: {p: model.summary_value(e.summary(("upgrade", p)), "p50") or 0.0 for p in svg.PHASE_COLOURS}
        for e in entries
    }
    banners: list[model.Banner] = []
    fingerprints = {model.scenario_fingerprint(r) for _l, r in results}
    if len(fingerprints) > 1:
        banners.append(model.Banner("partial", "Different scenarios",
                                    "These Results ran different scenarios (fingerprints differ): differences may come from the scenario, not the targets."))
    for label, result in results:
        for banner in model.banners(result):
            banners.append(model.Banner(banner.level, f"{label}: {banner.title}", banner.detail, banner.items))
    context = {
        "title": f"wsbench comparison · {', '.join(e.label for e in entries)}",
        "entries": entries,
        "banners": banners,
        "reference": comparisons[0].reference if comparisons else entries[0].label,
        "verdicts": [c for c in comparisons if c.metric == "RTT"],
        "side_table": _side_by_side(entries),
        "comparison_table": _comparison_table(comparisons, confidence, resamples),
        "runs_table": _runs_table(results),
        "ranking": ranking,
        "spectrum_chart": charts.spectrum_chart(rtt) if rtt else None,
        "cdf_chart": charts.cdf_chart(rtt) if rtt else None,
        "disruption_charts": charts.disruption_charts([(e.label, e.data) for e in entries]),
        "phases_svg": svg.upgrade_phases_svg(phases) if any(any(v.values()) for v in phases.values()) else None,
        "source": "",
        "generated_by": f"wsbench {__version__}",
        "generated_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "confidence": confidence,
    }
    return environment().get_template("compare.html.j2").render(context)


def render_compare(
    results: Sequence[tuple[str, Result | Mapping[str, Any]]],
    out_path: str | Path,
    *,
    reference: str | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    floor: Floor | None = None,
    ranking: Ranking | None = None,
) -> Path:
    """Write the comparison of ``results`` (``(label, Result)`` pairs) to ``out_path``."""
    return write_html(out_path, compare_html(results, reference=reference, resamples=resamples, floor=floor,
                                             ranking=ranking))
