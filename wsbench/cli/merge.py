"""``wsbench merge``: the Results of several machines as one (thin: read, merge, write, print)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from wsbench.cli.summary import summary_table

__all__ = ["merge"]


@click.command("merge")
@click.argument("results", nargs=-1, required=True, metavar="RESULT.json|LOGS...",
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path, file_okay=False), default=Path("reports"),
              show_default=True, help="Folder for <run-id>/ (result.json, report.html).")
def merge(results: tuple[Path, ...], out: Path) -> int:
    """Merge the Results of `wsbench run --shard I/N` (one per machine) into one Result.

    Histograms merge exactly, counters add up, timelines line up by wall clock. Missing
    shards still merge, into a partial Result (complete: false) with a warning. Plain runs
    of the same scenario (no --shard) merge too: their loads add up. Writes
    <out>/<run-id>/result.json and report.html; prints the summary.

    A file of logs (`kubectl logs -l job-name=wsbench-load --prefix --tail=-1`) counts as
    every Result line in it (printed by `wsbench run --result-to-stdout`).
    """
    from wsbench.cli.run import write_report
    from wsbench.engine.runner import new_run_id
    from wsbench.errors import LocalError
    from wsbench.files import write_json_atomic
    from wsbench.gate import evaluate_gate, scenario_thresholds
    from wsbench.k8s.result_log import load_results
    from wsbench.result.runs import merge_results

    loaded = [item for path in results for item in load_results(path)]
    scenario = loaded[0][1].get("scenario")
    name = str(scenario.get("name", "run")) if isinstance(scenario, Mapping) else "run"
    outcome = merge_results(loaded, run_id=new_run_id(f"{name}-merged"))
    merged = outcome.merged
    run_dir = out / str(merged.run_id)
    try:
        run_dir.mkdir(parents=True, exist_ok=False)
    except OSError as exc:
        raise LocalError(f"cannot create the output folder {run_dir}: {exc.strerror}") from exc
    result_path = run_dir / "result.json"
    write_json_atomic(result_path, outcome.result)

    click.echo(summary_table(merged))
    for warning in outcome.warnings:
        click.secho(f"WARNING: {warning}", fg="yellow", err=True)
    for reason in merged.generator.saturation_reasons or () if merged.generator else ():
        click.secho(f"WARNING: load generator saturated: {reason}; "
                    "figures may be the generator's, not the target's", fg="yellow", err=True)
    verdict = None
    if scenario_thresholds(merged):  # the report's summary cards show the scenario's gate
        verdict = evaluate_gate(merged, allow_partial=True, allow_saturated=True)
    report = write_report(merged, run_dir / "report.html", verdict)
    click.echo(f"result: {result_path}")
    if report is not None:
        click.echo(f"report: {report}")
    return 0
