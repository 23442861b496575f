"""``wsbench run``: load, measure, write the Result (thin: parse, call, print)."""

from __future__ import annotations

import sys
from typing import Any

import click

from wsbench.cli.summary import summary_table
from wsbench.scenario import Scenario, load_scenario

__all__ = ["run"]


@click.command(context_settings={"show_default": True})
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Target ws:// or wss:// URL (repeatable; named after host:port).")
@click.option("--target", "targets", multiple=True, metavar="NAME=URL",
              help="Named target (repeatable); targets are measured one after the other.")
@click.option("--sessions", type=int, default=None, help="Sessions to open (all workers together).")
@click.option("--ramp", type=float, default=None, help="Sessions opened per second (0 = all at once).")
@click.option("--duration", default=None, metavar="SECONDS", help="Run length, e.g. 30 or 2m.")
@click.option("--messages", type=int, default=None,
              help="Messages per session; the run ends when all are done (or at --duration).")
@click.option("--mode", type=click.Choice(["closed", "rate"]), default=None,
              help="closed: send after each echo; rate: fixed messages/s per session.")
@click.option("--rate", type=float, default=None, help="Messages per second per session (rate mode).")
@click.option("--message-size", type=int, default=None, help="Bytes per message (>= 32).")
@click.option("--binary/--text", "binary", default=None, help="Message type.")
@click.option("--ping-interval", default=None, metavar="SECONDS|off",
              help="Client pings (off by default: pings hide idle timeouts).")
@click.option("--header", "headers", multiple=True, metavar="'NAME: VALUE'",
              help="Extra upgrade request header (repeatable); credentials are redacted in output.")
@click.option("--subprotocol", "subprotocols", multiple=True, help="Offered subprotocol (repeatable).")
@click.option("--deflate/--no-deflate", default=None, help="Offer permessage-deflate.")
@click.option("--ca-file", default=None, help="CA bundle for wss:// targets.")
@click.option("--insecure", is_flag=True, default=None, help="Do not verify wss:// certificates.")
@click.option("--source-address", "source_addresses", multiple=True, metavar="IP",
              help="Local address to connect from (repeatable, e.g. 127.0.0.2 … to pass the ephemeral-port limit).")
@click.option("--processes", type=int, default=None, help="Worker processes (0 = one per core).")
@click.option("--reply-timeout", default=None, metavar="SECONDS",
              help="Wait this long for an echo before counting it missing.")
@click.option("--no-reconnect", is_flag=True, default=False, help="Do not reopen dropped sessions.")
@click.option("--transport", type=click.Choice(["auto", "picows", "websockets"]), default=None,
              help="Client implementation (auto: picows, websockets when deflate is on).")
@click.option("--out", default=None, help="Folder for reports/<run-id>/.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def run(scenario_file: str | None, urls: tuple[str, ...], targets: tuple[str, ...],
        quiet: bool, no_reconnect: bool, binary: bool | None, **options: Any) -> int:
    """Open WebSocket sessions against targets and measure them.

    With no SCENARIO, no --url and no --target, wsbench starts its own echo server and
    runs the default scenario. CLI options override the scenario file. Writes
    reports/<run-id>/result.json and events.jsonl; prints a summary.
    """
    from wsbench.engine.runner import run_scenario

    if not options.get("insecure"):
        options.pop("insecure", None)
    overrides: dict[str, Any] = {k: v for k, v in options.items() if v not in (None, ())}
    if binary is not None:
        overrides["message_type"] = "binary" if binary else "text"
    if no_reconnect:
        overrides["reconnect"] = False
    if urls or targets:
        overrides["targets"] = [*urls, *targets]
    # No file: the built-in defaults, which scenarios/default.yaml spells out.
    scenario: Scenario = load_scenario(scenario_file, overrides)

    def say(line: str) -> None:
        if not quiet:
            click.echo(line, err=True)

    outcome = run_scenario(scenario, progress=say)
    click.echo(summary_table(outcome.result))
    for warning in outcome.warnings:
        click.secho(f"WARNING: load generator saturated: {warning}; "
                    "figures may be the generator's, not the target's", fg="yellow", err=True)
    click.echo(f"result: {outcome.result_path}")
    click.echo(f"events: {outcome.run_dir / 'events.jsonl'}")
    if outcome.interrupted:
        click.echo("interrupted: the Result is partial (complete: false)", err=True)
        sys.exit(130)
    return 0
