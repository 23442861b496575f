"""``wsbench capacity``: the highest load that keeps an SLO (thin: parse, call, print)."""

from __future__ import annotations

import sys
from typing import Any

import click

from wsbench.scenario import Scenario, load_scenario

__all__ = ["capacity", "capacity_table"]

#: defaults of --start and --max per dial
_DEFAULTS = {"sessions": (50, 5000), "ramp": (50, 2000), "rate": (500, 50_000)}


@click.command("capacity", context_settings={"show_default": True})
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--slo", "slos", multiple=True, required=True, metavar="EXPR",
              help="SLO as a gate expression (repeatable), e.g. 'rtt.p99 < 50ms', "
                   "'upgrade_failures.total / sessions.attempted < 0.001'.")
@click.option("--over", type=click.Choice(["sessions", "ramp", "rate"]), default="sessions",
              help="The load: sessions held, sessions opened per second, or messages per second (all sessions).")
@click.option("--start", type=float, default=None, help="First load [sessions 50, ramp 50, rate 500].")
@click.option("--factor", type=float, default=2.0, help="Each step up multiplies the load by this.")
@click.option("--max", "maximum", type=float, default=None, help="Highest load to try [sessions 5000, ramp 2000, rate 50000].")
@click.option("--precision", type=float, default=0.1,
              help="Bisect until the bracket is narrower than this share of its upper end.")
@click.option("--max-steps", type=click.IntRange(min=1), default=None,
              help="Stop after this many steps (default: the search's own bound, printed at the start).")
@click.option("--hold", "hold", default="10", metavar="SECONDS", help="How long each step holds its load.")
@click.option("--url", "urls", multiple=True, metavar="URL", help="Target URL (repeatable).")
@click.option("--target", "targets", multiple=True, metavar="NAME=URL", help="Named target (repeatable).")
@click.option("--lab", "lab", default=None, metavar="PROXIES",
              help="Through the lab's proxies (nginx,envoy,... or all), one search each; records each "
                   "proxy's cost per step.")
@click.option("--lab-tls", is_flag=True, help="With --lab: wss:// through the proxies.")
@click.option("--no-pin", is_flag=True, help="With --lab: do not pin the generator and the proxies to separate cores.")
@click.option("--sessions", type=int, default=None, help="Sessions (--over ramp/rate: the sessions that share the load).")
@click.option("--ramp", type=float, default=None, help="Sessions opened per second (--over sessions/rate).")
@click.option("--rate", type=float, default=None, help="Messages per second per session (--over sessions/ramp).")
@click.option("--mode", type=click.Choice(["closed", "rate"]), default=None, help="closed or rate (--over rate: rate).")
@click.option("--message-size", type=int, default=None, help="Bytes per message (>= 32).")
@click.option("--processes", type=int, default=None, help="Worker processes (0 = one per core, or per pinned core).")
@click.option("--transport", type=click.Choice(["auto", "picows", "lean", "websockets"]), default=None,
              help="Client implementation.")
@click.option("--ca-file", default=None, help="CA bundle for wss:// targets.")
@click.option("--insecure", is_flag=True, default=None, help="Do not verify wss:// certificates.")
@click.option("--shard", default=None, metavar="I/N",
              help="This machine runs its share (sessions i % N == I) of every step; needs --shard-dir.")
@click.option("--shard-dir", default=None, metavar="DIR",
              help="With --shard: a folder every shard reads and writes; steps start together and are "
                   "judged on the merged Result.")
@click.option("--out", default=None, help="Folder for <run-id>/ (capacity.json, steps/, report.html).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def capacity(scenario_file: str | None, slos: tuple[str, ...], over: str, start: float | None, factor: float,
             maximum: float | None, precision: float, max_steps: int | None, hold: str, urls: tuple[str, ...],
             targets: tuple[str, ...], lab: str | None, lab_tls: bool, no_pin: bool, shard_dir: str | None,
             quiet: bool, **options: Any) -> int:
    """Find the highest load that keeps the SLO: steps up geometrically, then bisects.

    Each step is a real run (its Result under steps/), judged by the SLO expressions on
    every target. A step where the load generator saturates ends the search with
    "generator limit, not the target's". Writes <run-id>/capacity.json and report.html.
    Exit code 0 when every target's search ended with a figure, 1 when one did not
    (below --start, or the generator's limit), 130 when interrupted.
    """
    from wsbench.capacity.driver import CapacityOptions, run_capacity
    from wsbench.capacity.search import SearchPlan
    from wsbench.errors import UsageError
    from wsbench.gate import parse_thresholds
    from wsbench.lab.for_run import parse_lab_names

    parse_thresholds(slos)
    if not options.get("insecure"):
        options.pop("insecure", None)
    overrides: dict[str, Any] = {k: v for k, v in options.items() if v not in (None, ())}
    if urls or targets:
        overrides["targets"] = [*urls, *targets]
    overrides["duration"] = hold
    scenario: Scenario = load_scenario(scenario_file, overrides)
    first, last = _DEFAULTS[over]
    try:
        plan = SearchPlan(start=start if start is not None else first, factor=factor,
                          maximum=maximum if maximum is not None else max(last, start or 0),
                          precision=precision, integer=over == "sessions", max_steps=max_steps)
    except ValueError as exc:
        raise UsageError(f"capacity: {exc}") from exc
    lab_names = parse_lab_names(lab) if lab else ()

    def say(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    run = run_capacity(scenario, CapacityOptions(over=over, plan=plan, hold_s=scenario.duration,  # type: ignore[arg-type]
                                                 slos=slos, lab=lab_names, lab_tls=lab_tls, pin=not no_pin,
                                                 shard_dir=shard_dir), say=say)
    click.echo(capacity_table(run.capacity))
    report = _write_report(run.capacity, run.run_dir)
    click.echo(f"capacity: {run.capacity_path}")
    if report is not None:
        click.echo(f"report: {report}")
    if run.interrupted:
        click.echo("interrupted: capacity.json holds the steps measured so far", err=True)
        sys.exit(130)
    entries = run.capacity["targets"].values()
    if not all(e["verdict"] in ("capacity", "at-least-maximum", "step-bound") for e in entries):
        raise click.exceptions.Exit(1)
    return 0


def capacity_table(capacity: dict[str, Any]) -> str:
    """One line per target: the figure, what broke, the steps against their bound."""
    lines = [f"capacity over {capacity['over']} ({capacity['unit']}), SLO: {'; '.join(capacity['slo'])}"]
    for name, entry in capacity["targets"].items():
        lines.append(f"  {name}: {entry['summary']} [{entry['steps']}/{entry['bound']} steps]")
        if entry.get("suggestion"):
            lines.append(f"    suggestion: {entry['suggestion']}")
        if entry.get("machine_note"):
            lines.append(f"    note: {entry['machine_note']}")
    pinning = capacity.get("pinning") or {}
    if pinning.get("note"):
        lines.append(f"  cores: {pinning['note']}")
    return "\n".join(lines)


def _write_report(capacity: dict[str, Any], run_dir: Any) -> Any:
    """report.html of the capacity run; a failure to draw it is a warning, never a lost result."""
    try:
        from wsbench.report.capacity import render_capacity_report
    except ModuleNotFoundError:
        return None
    try:
        return render_capacity_report(capacity, run_dir / "report.html")
    except Exception as exc:  # noqa: BLE001 - capacity.json is already safe on disk
        click.echo(f"wsbench: warning: could not write the capacity report ({type(exc).__name__}: {exc})",
                   err=True)
        return None
