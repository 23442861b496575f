"""``wsbench run``: load, measure, write the Result (thin: parse, call, print)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from wsbench.cli.summary import summary_table
from wsbench.errors import UsageError
from wsbench.result.model import Result
from wsbench.scenario import Scenario, load_scenario

__all__ = ["run", "write_report"]


@click.command(context_settings={"show_default": True})
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Target ws:// or wss:// URL (repeatable; named after host:port).")
@click.option("--target", "targets", multiple=True, metavar="NAME=URL",
              help="Named target (repeatable); targets are measured one after the other.")
@click.option("--name", default=None, help="Names the run folder (scenario key name).")
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
@click.option("--max-message-size", type=int, default=None,
              help="Largest message accepted from the server, bytes (default 1 MiB); beyond it: close 1009.")
@click.option("--send-high-water", type=int, default=None,
              help="Bytes a session may leave unsent before it holds messages back (the peer stopped "
                   "reading; default 256 KiB): counted as unsent, not sent.")
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
@click.option("--shard", default=None, metavar="I/N",
              help="Run only sessions i with i % N == I (I from 0, e.g. $JOB_COMPLETION_INDEX/N), "
                   "one of N machines; put the N Results together with `wsbench merge`.")
@click.option("--connect-timeout", default=None, metavar="SECONDS",
              help="DNS + TCP + TLS + upgrade must finish within this (default 10).")
@click.option("--reply-timeout", default=None, metavar="SECONDS",
              help="Wait this long for an echo before counting it missing.")
@click.option("--no-reconnect", is_flag=True, default=False, help="Do not reopen dropped sessions.")
@click.option("--transport", type=click.Choice(["auto", "picows", "lean", "websockets"]), default=None,
              help="Client implementation (auto: picows, websockets when deflate is on).")
@click.option("--calibrate/--no-calibrate", "calibrate", default=None,
              help="Measure the generator against a reference echo on loopback before the load "
                   "(~0.6 s; generator.calibration: the noise floor and the machine factor the "
                   "gate uses) [default: on].")
@click.option("--interleave", default=None, metavar="SECONDS",
              help="Targets take turns in windows of this length (A B B A ...) until each has "
                   "run --duration, so drift and the machine cancel out of an A/B comparison "
                   "(judge it with `wsbench gate --baseline-target NAME`).")
@click.option("--reference-interleave", default=None, metavar="SECONDS",
              help="With --lab: each proxy takes turns in windows of this length with the same "
                   "load to the lab's reference echo behind that proxy; those round trips are the "
                   "run's machine reference (generator.calibration.same_load), which the gate's "
                   "calibrated checks scale by (baselines/README.md).")
@click.option("--out", default=None, help="Folder for reports/<run-id>/.")
@click.option("--lab", "lab", default=None, metavar="PROXIES",
              help="Measure through the lab's proxies, one target each (nginx,haproxy,... or all); "
                   "uses the running lab or starts one for the run.")
@click.option("--lab-name", default=None, metavar="NAME",
              help="With --lab: the lab to use (default $WSBENCH_LAB_NAME, else 'default'); "
                   "started for the run under that name when it is not up.")
@click.option("--lab-tls", is_flag=True, help="With --lab: wss:// through the proxies (the lab's CA).")
@click.option("--pin/--no-pin", default=True,
              help="With --lab: the generator's workers and the lab's proxies and pods on separate "
                   "cores (where the machine has two or more); recorded in the Result's pinning.")
@click.option("--cost-from-prometheus", "cost_from", nargs=2, default=None, metavar="URL QUERY",
              help="Each target's proxy_cost from Prometheus at URL: QUERY is the label selector of "
                   "the controller pods' containers, e.g. '{namespace=\"ingress-nginx\",container=\"controller\"}' "
                   "(sum of container_cpu_usage_seconds_total and container_memory_working_set_bytes).")
@click.option("--disrupt", "disrupt", multiple=True, metavar="KIND@TIME[:ARG]",
              help="Inject a fault on the run's clock (repeatable): pod-restart@10s:pod-0, "
                   "pod-kill@5s:pod-1, network-cut@10s:pod-2/3s, proxy-reload@20s (these need --lab), "
                   "exec@15s:'kubectl delete pod echo-0'.")
@click.option("--threshold", "thresholds", multiple=True, metavar="EXPR",
              help="Gate expression, e.g. 'rtt.p99 < 50ms' (repeatable; adds to the scenario's).")
@click.option("--gate", "gate_run", is_flag=True,
              help="Judge the run at the end (thresholds, --baseline): exit 1 when it fails.")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --gate: a baseline Result to check regressions against.")
@click.option("--baseline-target", default=None, metavar="NAME",
              help="With --gate: judge the other targets against target NAME of this run (A/B).")
@click.option("--max-regression", "max_regressions", multiple=True, metavar="METRIC=PCT",
              help="With --gate and --baseline or --baseline-target, e.g. rtt.p99=10%.")
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="With --gate: write JUnit XML here.")
@click.option("--result-to-stdout", is_flag=True, default=False,
              help="Also print the Result as one line ('wsbench-result@1 {...}') on stdout, for "
                   "`kubectl logs` of a Job pod; `wsbench merge` reads such logs.")
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help="Serve Prometheus metrics of the run on http://ADDR:PORT/metrics while it goes.")
@click.option("--metrics-addr", default="0.0.0.0", help="With --metrics-port: the address to listen on.")
@click.option("--practical-floor", "practical_floor", default="5%,0.1ms", metavar="PCT[,MS]",
              help="In the ranked verdict, differences under PCT % or MS ms count as the same.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def run(scenario_file: str | None, urls: tuple[str, ...], targets: tuple[str, ...],
        quiet: bool, no_reconnect: bool, binary: bool | None, gate_run: bool,
        baseline: Path | None, max_regressions: tuple[str, ...], junit: Path | None,
        lab_tls: bool, lab_name: str | None, disrupt: tuple[str, ...], result_to_stdout: bool,
        metrics_port: int | None, metrics_addr: str, baseline_target: str | None, practical_floor: str,
        pin: bool, cost_from: tuple[str, str] | None,
        **options: Any) -> int:
    """Open WebSocket sessions against targets and measure them.

    With no SCENARIO, no --url and no --target, wsbench starts its own echo server and
    runs the default scenario. CLI options override the scenario file. Writes
    reports/<run-id>/result.json, events.jsonl and report.html; prints a summary.
    With --gate, judges the run like `wsbench gate` and exits 1 when it fails.
    """
    from wsbench.engine import orchestrate
    from wsbench.gate import evaluate_gate, parse_max_regression, parse_thresholds
    from wsbench.report.load import read_result
    from wsbench.result.ranking import Floor

    floor = Floor.parse(practical_floor)
    parse_thresholds(options.get("thresholds") or ())  # bad expressions fail before the run
    for text in max_regressions:
        parse_max_regression(text)
    base = read_result(baseline) if gate_run and baseline is not None else None

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

    if lab_name is not None and not scenario.extra.get("lab"):
        raise UsageError("--lab-name goes with --lab PROXIES")
    source = None
    if cost_from is not None:
        from wsbench.cost.prometheus import PrometheusSource

        source = PrometheusSource(*cost_from)
        source.instant()  # Prometheus answers and the selector matches, before the run
    live = None
    if metrics_port is not None:
        from wsbench.live import LiveMetrics, serve_metrics

        live = LiveMetrics()
        _, port = serve_metrics(live, metrics_port, metrics_addr)
        say(f"metrics: http://{metrics_addr}:{port}/metrics")
    outcome = orchestrate.run(scenario, disruptions=disrupt, lab_tls=lab_tls, lab_name=lab_name,
                              pin=pin, cost_from=source, say=say, watcher=live)
    click.echo(summary_table(outcome.typed, floor=floor))
    for warning in outcome.warnings:
        click.secho(f"WARNING: load generator saturated: {warning}; "
                    "figures may be the generator's, not the target's", fg="yellow", err=True)
    verdict = None
    if gate_run and not outcome.workers_died:
        from wsbench.cli.gate import VERDICT_FILE, save_verdict

        verdict = evaluate_gate(outcome.typed, baseline=base, max_regressions=max_regressions,
                                baseline_target=baseline_target)
        save_verdict(verdict, outcome.run_dir / VERDICT_FILE)
    # interrupted: out at once with the Result; the page can be drawn later
    report = None if outcome.interrupted else write_report(outcome.typed, outcome.run_dir / "report.html",
                                                           verdict, floor=floor)
    click.echo(f"result: {outcome.result_path}")
    click.echo(f"events: {outcome.run_dir / 'events.jsonl'}")
    if verdict is not None:
        click.echo(f"gate: {outcome.run_dir / 'gate.json'}")
    if report is not None:
        click.echo(f"report: {report}")
    elif outcome.interrupted:
        click.echo(f"report: not drawn (interrupted): wsbench report {outcome.result_path}")
    if result_to_stdout:  # the file on disk is the contract: print what it holds
        from wsbench.k8s.result_log import result_line

        click.echo(result_line(json.loads(outcome.result_path.read_text())))
    if scenario.shard:
        index, count = scenario.shard
        click.echo(f"shard {index}/{count}: sessions i % {count} == {index}; merge the {count} shards' "
                   "result.json with `wsbench merge`", err=True)
    if outcome.interrupted:
        click.echo("interrupted: the Result is partial (complete: false)", err=True)
        sys.exit(130)
    if outcome.workers_died:  # wsbench itself failed: its figures are not the target's
        click.echo(f"wsbench: error: {len(outcome.workers_died)} worker process(es) died "
                   f"({'; '.join(outcome.workers_died)}): the Result is partial (complete: false)", err=True)
        sys.exit(3)
    if verdict is not None:
        from wsbench.cli.gate import emit_verdict

        emit_verdict(verdict, junit)
        if verdict.exit_code:
            raise click.exceptions.Exit(verdict.exit_code)
    return 0


def write_report(result: Result, path: Path, verdict: Any, *, floor: Any = None) -> Path | None:
    """The HTML report; a failure to draw it is a warning, never a lost Result."""
    from wsbench.report import render_report

    try:
        return render_report(result, path, verdict=verdict, floor=floor)
    except Exception as exc:  # noqa: BLE001 - the Result is already safe on disk
        click.echo(f"wsbench: warning: could not write the report ({type(exc).__name__}: {exc}); "
                   f"rebuild it with `wsbench report {path.parent / 'result.json'}`", err=True)
        return None
