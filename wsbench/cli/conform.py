"""``wsbench conform URL``: the RFC 6455 conformance cases against one endpoint.

A thin layer: parses options, calls :func:`wsbench.conform.runner.run_conformance`,
prints the table by group and writes the JSON / JUnit results.
"""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import click

from wsbench.conform.cases import catalogue, select, split_patterns
from wsbench.conform.connection import HandshakeError, Target, WireLog, open_connection
from wsbench.conform.result import ConformResult, render_table, to_junit_xml
from wsbench.conform.runner import RunOptions, run_conformance
from wsbench.errors import InputFileError, UsageError

__all__ = ["conform", "RESULT_FILE"]

RESULT_FILE = "conform.json"
_POSITIVE = click.FloatRange(min=0, min_open=True)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@click.option("--cases", "include", multiple=True, metavar="PATTERNS",
              help="Run only these cases: comma-separated patterns such as '1.*,5.*' or '6.4.1'. "
                   "Repeatable. Default: all.")
@click.option("--exclude", multiple=True, metavar="PATTERNS",
              help="Skip these cases (same patterns), e.g. '9.*'.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML here: one testcase per case, FAILED is a <failure>.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Write the JSON result (schema wsbench/conform@1) to DIR/{RESULT_FILE}.")
@click.option("--scale-9", "scale", type=_POSITIVE, default=1.0, show_default=True,
              help="Multiply group 9's message sizes and counts (e.g. 0.0625 for a quick run; "
                   "1 = Autobahn's sizes, up to 16 MiB).")
@click.option("--timeout", type=_POSITIVE, default=2.0, show_default=True,
              help="Seconds to wait for the server at any step (upgrade, echo, close).")
@click.option("--wait", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Seconds given to the server where only time can show that nothing happens "
                   "(mid-frame fail-fast checks, 6.4.3/6.4.4).")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Cases in flight at once (one connection each).")
@click.option("--insecure", is_flag=True, help="wss: do not verify the server certificate.")
@click.option("--strict", is_flag=True,
              help="Exit with code 1 when any case is FAILED (default: 0 whenever the suite ran).")
@click.option("--list", "list_only", is_flag=True, help="List the selected cases and exit.")
def conform(url: str, include: tuple[str, ...], exclude: tuple[str, ...], junit: Path | None,
            out: Path | None, scale: float, timeout: float, wait: float, concurrency: int,
            insecure: bool, strict: bool, list_only: bool) -> int:
    """Run RFC 6455 conformance cases against the echo endpoint at URL (ws:// or wss://).

    Cases are numbered and judged as Autobahn|Testsuite does (groups 1-7, 9, 10):
    each gets a verdict OK, NON-STRICT, INFORMATIONAL, UNIMPLEMENTED or FAILED, and
    a close behaviour OK, WRONG CODE, UNCLEAN or FAILED, with a one-line reason.

    \b
    Exit codes: 0 the suite ran (also with FAILED cases, unless --strict);
                1 --strict and at least one case FAILED;
                2 bad input (URL, pattern, option) or the URL gives no WebSocket.
    """
    target = Target.parse(url)
    patterns_in, patterns_out = split_patterns(include), split_patterns(exclude)
    chosen = select(catalogue(scale=scale), include=patterns_in, exclude=patterns_out)
    if list_only:
        for case in chosen:
            click.echo(f"{case.id:<10} {case.group:<20} {case.description}")
        return 0
    if not chosen:
        raise UsageError("the selection leaves no case to run")
    context = _ssl_context(insecure) if target.secure else None
    _preflight(target, timeout, context)
    options = RunOptions(timeout=timeout, wait=wait, concurrency=concurrency, ssl_context=context)
    result = run_conformance(url, cases=patterns_in, exclude=patterns_out, scale=scale,
                             options=options)
    click.echo(render_table(result))
    _write_outputs(result, out, junit)
    return 1 if strict and result.failed else 0


def _ssl_context(insecure: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _preflight(target: Target, timeout: float, context: ssl.SSLContext | None) -> None:
    """One plain upgrade first: a URL that gives no WebSocket is bad input, not 301 failures."""

    async def probe() -> None:
        conn = await open_connection(target, timeout=timeout, log=WireLog(), ssl_context=context)
        await conn.aclose()

    try:
        asyncio.run(probe())
    except HandshakeError as exc:
        raise UsageError(f"no WebSocket at {target.url}: {exc}") from exc


def _write_outputs(result: ConformResult, out: Path | None, junit: Path | None) -> None:
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / RESULT_FILE).write_text(result.dumps() + "\n", encoding="utf-8")
            click.echo(f"result: {out / RESULT_FILE}")
        if junit is not None:
            junit.write_text(to_junit_xml(result), encoding="utf-8")
            click.echo(f"junit: {junit}")
    except OSError as exc:
        raise InputFileError(f"cannot write results: {exc}") from exc
