"""``wsbench report`` and ``wsbench compare``: HTML pages from Result files (thin layer)."""

from __future__ import annotations

from pathlib import Path

import click

from wsbench.errors import InputFileError
from wsbench.files import read_json
from wsbench.report.load import load_conformance, read_result
from wsbench.result.verdict import GateVerdict

__all__ = ["report", "compare", "result_label", "read_verdict"]


def read_verdict(path: Path) -> GateVerdict:
    """A saved gate verdict (``gate.json``)."""
    return GateVerdict.from_json(read_json(path), source=str(path))


def result_label(path: Path) -> str:
    """How a Result file is named in a comparison: ``reports/<run-id>/result.json`` -> run-id."""
    if path.stem == "result" and path.parent.name:
        return path.parent.name
    return path.stem


@click.command("report")
@click.argument("result", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="HTML file to write [default: report.html next to RESULT].")
@click.option("--conform", "conform", type=click.Path(path_type=Path, dir_okay=False), multiple=True,
              help="A conformance file (wsbench/conform@1) to show as a matrix; repeatable.")
@click.option("--no-gate", is_flag=True,
              help="Show no gate verdict (neither the saved gate.json nor the scenario's thresholds).")
@click.option("--practical-floor", "practical_floor", default="5%,0.1ms", show_default=True, metavar="PCT[,MS]",
              help="In the ranked verdict (several targets), differences under PCT % or MS ms count as the same.")
def report(result: Path, out: Path | None, conform: tuple[Path, ...], no_gate: bool, practical_floor: str) -> int:
    """Render RESULT.json as one self-contained HTML page (opens offline, from file://).

    The gate verdict shown is the one saved beside the Result (gate.json, written by
    `wsbench run --gate` and `wsbench gate`, baseline checks included); without one, the
    scenario's own thresholds are judged.
    """
    from wsbench.gate import evaluate_gate, scenario_thresholds
    from wsbench.report.render import render_report
    from wsbench.result.ranking import Floor

    floor = Floor.parse(practical_floor)
    data = read_result(result)
    conformance = []
    for path in conform:
        loaded = load_conformance(path)
        conformance.append((str(loaded.get("target") or path.stem), loaded))
    verdict = None
    saved = result.with_name("gate.json")
    if not no_gate and saved.exists():
        verdict = read_verdict(saved)
        if verdict.run_id and data.run_id and verdict.run_id != data.run_id:
            click.echo(f"wsbench: warning: {saved} judged run {verdict.run_id}, not {data.run_id}; not shown", err=True)
            verdict = None
    if verdict is None and not no_gate and scenario_thresholds(data):
        verdict = evaluate_gate(data, allow_partial=True, allow_saturated=True)
    target = out or result.with_name("report.html")
    try:
        written = render_report(data, target, verdict=verdict, conformance=conformance, source=str(result),
                                floor=floor)
    except OSError as exc:
        raise InputFileError(f"{target}: cannot write the report ({exc.strerror or exc})") from None
    click.echo(f"report: {written}")
    return 0


@click.command("compare")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path, dir_okay=False), default=Path("compare.html"),
              show_default=True, help="HTML file to write.")
@click.option("--reference", default=None,
              help="Target every other target is compared with [default: the first].")
@click.option("--resamples", type=click.IntRange(200, 100_000), default=1000, show_default=True,
              help="Bootstrap resamples per statistic.")
@click.option("--practical-floor", "practical_floor", default="5%,0.1ms", show_default=True, metavar="PCT[,MS]",
              help="Differences under PCT % or MS ms count as the same, significant or not.")
def compare(results: tuple[Path, ...], out: Path, reference: str | None, resamples: int, practical_floor: str) -> int:
    """Compare targets (controllers) side by side, within one Result or across several.

    Prints the ranked verdict (best first, each line saying why) and writes compare.html.
    """
    from wsbench.report.compare import entries_of, rank_entries, render_compare
    from wsbench.result.ranking import Floor

    floor = Floor.parse(practical_floor)
    loaded = [(result_label(path), read_result(path)) for path in results]
    labels = [label for label, _ in loaded]
    if len(set(labels)) != len(labels):
        loaded = [(str(path), data) for path, (_label, data) in zip(results, loaded, strict=True)]
    entries = entries_of(loaded)
    ranking = rank_entries(entries, floor=floor, resamples=resamples) if len(entries) >= 2 else None
    try:
        written = render_compare(loaded, out, reference=reference, resamples=resamples, floor=floor,
                                 ranking=ranking)
    except OSError as exc:
        raise InputFileError(f"{out}: cannot write the comparison ({exc.strerror or exc})") from None
    if ranking is not None:
        click.echo("\n".join(ranking.lines()))
    click.echo(f"compare: {written}")
    return 0
