"""``wsbench gate``: judge a Result against thresholds and a baseline (thin layer).

Exit codes: 0 pass, 1 fail, 2 usage or unreadable input (an unknown metric, key, target or
disruption included). Markdown goes to stdout and is appended to ``$GITHUB_STEP_SUMMARY``
when that is set; the verdict is saved as ``gate.json`` beside the Result (``wsbench
report`` shows it); ``--junit`` writes one testcase per check. ``--list-metrics`` prints
every metric path a threshold may name.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from wsbench.errors import InputFileError, UsageError
from wsbench.files import write_json_atomic
from wsbench.gate import (
    evaluate_gate,
    parse_max_regression,
    parse_thresholds,
    to_junit,
    to_markdown,
)
from wsbench.report.load import read_result
from wsbench.result.schema import metric_paths
from wsbench.result.verdict import GateVerdict

__all__ = ["gate", "emit_verdict", "save_verdict", "VERDICT_FILE"]

#: The saved verdict's name, beside ``result.json``.
VERDICT_FILE = "gate.json"


@click.command("gate")
@click.argument("result", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A baseline Result to check regressions against.")
@click.option("--baseline-target", default=None, metavar="NAME",
              help="Judge every other target against target NAME of the same Result (an A/B run: "
                   "wsbench run --target base=URL1 --target cand=URL2 --interleave 5).")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help="e.g. 'rtt.p99 < 50ms', 'nginx: sessions.dropped == 0'; repeatable. "
                   "Added to the scenario's own thresholds.")
@click.option("--max-regression", "max_regressions", multiple=True, metavar="METRIC=PCT",
              help="e.g. rtt.p99=10%; judged by bootstrap on the histograms. Needs --baseline "
                   "[default with --baseline: rtt.p99=10%, upgrade.total.p99=10%].")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Write JUnit XML here (one testcase per check).")
@click.option("--target", "targets", multiple=True, metavar="NAME",
              help="Only check these targets (repeatable) [default: all].")
@click.option("--no-scenario-thresholds", is_flag=True, help="Ignore the thresholds in the Result's scenario.")
@click.option("--allow-partial", is_flag=True, help="Judge an interrupted run (complete: false) instead of failing it.")
@click.option("--allow-saturated", is_flag=True, help="Judge a run whose load generator was saturated instead of failing it.")
@click.option("--verdict", "verdict_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help=f"Where to save the verdict [default: {VERDICT_FILE} beside RESULT].")
@click.option("--list-metrics", is_flag=True,
              help="Print every metric path a threshold may name (those of RESULT when given) and exit.")
def gate(
    result: Path | None,
    baseline: Path | None,
    thresholds: tuple[str, ...],
    max_regressions: tuple[str, ...],
    junit: Path | None,
    targets: tuple[str, ...],
    no_scenario_thresholds: bool,
    allow_partial: bool,
    allow_saturated: bool,
    verdict_path: Path | None,
    list_metrics: bool,
    baseline_target: str | None,
) -> int:
    """Check RESULT.json against thresholds and a baseline; exit 0 pass, 1 fail, 2 bad input.

    Metrics are paths into a target of the Result (rtt.p99, upgrade.total.p95,
    sessions.dropped, upgrade_failures.total, closes.by_code.1006, disruptions[*].recovery.p99)
    or into generator.*; `wsbench gate --list-metrics [RESULT]` prints them all.
    """
    if list_metrics:
        click.echo("\n".join(metric_paths(read_result(result) if result is not None else None)))
        return 0
    if result is None:
        raise UsageError("RESULT: give the Result file to judge (or --list-metrics)")
    parse_thresholds(thresholds)  # a bad expression fails before any file is read
    for text in max_regressions:
        parse_max_regression(text)
    data = read_result(result)
    base = read_result(baseline) if baseline is not None else None
    verdict = evaluate_gate(
        data,
        thresholds=thresholds,
        baseline=base,
        max_regressions=max_regressions,
        targets=targets or None,
        use_scenario_thresholds=not no_scenario_thresholds,
        allow_partial=allow_partial,
        allow_saturated=allow_saturated,
        baseline_target=baseline_target,
    )
    save_verdict(verdict, verdict_path or result.with_name(VERDICT_FILE))
    emit_verdict(verdict, junit)
    if verdict.exit_code:
        raise click.exceptions.Exit(verdict.exit_code)  # honoured by main() and by CliRunner
    return 0


def save_verdict(verdict: GateVerdict, path: Path) -> Path:
    """Write ``gate.json`` (atomically); a report rendered later shows this verdict."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(path, verdict.to_json())
    except OSError as exc:
        raise InputFileError(f"{path}: cannot write the gate verdict: {exc}") from exc
    return path


def emit_verdict(verdict: GateVerdict, junit: Path | None) -> None:
    """Markdown on stdout (and $GITHUB_STEP_SUMMARY), JUnit XML when asked."""
    markdown = to_markdown(verdict)
    click.echo(markdown, nl=False)
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(markdown + "\n")
        except OSError as exc:
            click.echo(f"wsbench: warning: cannot append to $GITHUB_STEP_SUMMARY ({summary_file}): {exc}", err=True)
    if junit is not None:
        try:
            junit.parent.mkdir(parents=True, exist_ok=True)
            junit.write_text(to_junit(verdict), encoding="utf-8")
        except OSError as exc:
            raise InputFileError(f"{junit}: cannot write JUnit XML: {exc}") from exc
