"""``wsbench conform URL | --lab PROXIES``: the conformance suite against one endpoint,
or through each lab proxy and against one pod alone.

A thin layer: parses options, calls :func:`wsbench.conform.runner.run_conformance`
(or :mod:`wsbench.conform.lab`), prints the table by group (or the lab matrix) and
writes the JSON / JUnit / HTML results.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from wsbench.conform.cases import split_patterns
from wsbench.conform.cases.ingress import IngressCheck
from wsbench.conform.connection import HandshakeError, Target, WireLog, open_connection
from wsbench.conform.ingress import IngressOptions
from wsbench.conform.result import ConformResult, render_table, to_junit_xml
from wsbench.conform.runner import RunOptions, choose_cases, run_conformance
from wsbench.errors import InputFileError, UsageError
from wsbench.scenario import redact_text, secrets_of

if TYPE_CHECKING:
    from wsbench.conform.lab import LabConformance

__all__ = ["conform", "RESULT_FILE"]

RESULT_FILE = "conform.json"
_POSITIVE = click.FloatRange(min=0, min_open=True)
_SIZE = re.compile(r"^\s*(\d+)\s*(|k|kb|kib|m|mb|mib)\s*$", re.IGNORECASE)


class _Size(click.ParamType):
    """Bytes: ``16777216``, ``512KiB``, ``16MiB`` (k/m are binary units here)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match or int(match.group(1)) < 1:
            self.fail(f"{value!r} is not a size such as 65536, 512KiB or 16MiB", param, ctx)
        unit = match.group(2).lower()[:1]
        return int(match.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20}[unit]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url", required=False)
@click.option("--lab", "lab", default=None, metavar="PROXIES",
              help="Instead of URL: run through each lab proxy (nginx,haproxy,... or all) and "
                   "against one pod alone; print where a proxy changes the outcome. Uses the "
                   "running lab or starts one (with TLS) for the run.")
@click.option("--lab-name", default=None, metavar="NAME",
              help="With --lab: the lab to use (default $WSBENCH_LAB_NAME, else 'default'); "
                   "started for the run under that name when it is not up.")
@click.option("--cases", "include", multiple=True, metavar="PATTERNS",
              help="Run only these cases: comma-separated patterns such as '1.*,5.*', '6.4.1' or "
                   "'ingress.*'. Repeatable. Default: all.")
@click.option("--exclude", multiple=True, metavar="PATTERNS",
              help="Skip these cases (same patterns), e.g. '9.*'.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path),
              help="Write JUnit XML here: one testcase per case (a testsuite per target with "
                   "--lab), FAILED is a <failure>.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help=f"Write the JSON result (schema wsbench/conform@1) to DIR/{RESULT_FILE}; with "
                   "--lab: DIR/<target>.json each, DIR/matrix.json and DIR/conform.html.")
@click.option("--scale-9", "scale", type=_POSITIVE, default=1.0, show_default=True,
              help="Multiply group 9's message sizes and counts (e.g. 0.0625 for a quick run; "
                   "1 = Autobahn's sizes, up to 16 MiB).")
@click.option("--scale-12", "deflate_scale", type=_POSITIVE, default=0.1, show_default=True,
              help="Multiply the message counts of groups 12-13 (permessage-deflate). The default "
                   "sends 100 messages per case (about 2-3 minutes against a deflate server); "
                   "1 = Autobahn's 1000 (about 25 minutes); 0.01 for a quick run.")
@click.option("--idle-bound", type=_POSITIVE, default=None, metavar="SECONDS",
              help="Run the idle checks (ingress.idle-timeout, ingress.ping-keepalive): wait up "
                   "to SECONDS for the path to close an idle session. Off by default (slow).")
@click.option("--max-message-bound", type=_Size(), default="16MiB", show_default=True,
              help="ingress.max-message: the largest message tried (bisected below it).")
@click.option("--affinity-path", default=None, metavar="PATH",
              help="ingress.affinity: the path of the sessions (default: the URL's; the lab's "
                   "sticky path with --lab).")
@click.option("--expect-affinity", is_flag=True,
              help="ingress.affinity: sessions spread over pods are FAILED (default: "
                   "INFORMATIONAL; always on with --lab).")
@click.option("--tls-url", default=None, metavar="WSS_URL",
              help="ingress.tls-*: check the certificate at this wss:// URL (default: URL itself "
                   "when it is wss://; each proxy's with --lab).")
@click.option("--ca-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="Trust these CAs for wss (default: the system's; the lab's CA with --lab).")
@click.option("--timeout", type=_POSITIVE, default=2.0, show_default=True,
              help="Seconds to wait for the server at any step (upgrade, echo, close).")
@click.option("--wait", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Autobahn's pause in 5.19, 5.20 and 6.4.x (its continueLater: 1 s); shorter "
                   "is faster but no longer Autobahn's case.")
@click.option("--concurrency", type=click.IntRange(min=1), default=8, show_default=True,
              help="Cases in flight at once (one connection each).")
@click.option("--insecure", is_flag=True, help="wss: do not verify the server certificate "
                                               "(the ingress.tls-* checks still do).")
@click.option("--strict", is_flag=True,
              help="Exit with code 1 when any case is FAILED (default: 0 whenever the suite ran).")
@click.option("--list", "list_only", is_flag=True, help="List the selected cases and exit.")
def conform(url: str | None, lab: str | None, lab_name: str | None, include: tuple[str, ...], exclude: tuple[str, ...],
            junit: Path | None, out: Path | None, scale: float, deflate_scale: float,
            idle_bound: float | None, max_message_bound: int, affinity_path: str | None,
            expect_affinity: bool, tls_url: str | None, ca_file: str | None, timeout: float,
            wait: float, concurrency: int, insecure: bool, strict: bool, list_only: bool) -> int:
    """Run conformance cases against the echo endpoint at URL (ws:// or wss://), or through
    the lab's proxies (--lab).

    Cases are numbered, sent and judged as Autobahn|Testsuite does (groups 1-7, 9, 10,
    12-13 permessage-deflate): each gets a verdict OK, NON-STRICT, INFORMATIONAL,
    UNIMPLEMENTED or FAILED, and a close behaviour OK, WRONG CODE, UNCLEAN, FAILED BY
    CLIENT or FAILED, with a one-line reason. wsbench's own stricter checks (deflate
    parameters against the offer, strict RFC 6455 frames, echo content in group 9,
    close codes 1012-1014) are reported apart, in the "wsbench checks" column. The group "ingress" checks what a path does: idle
    timeout (--idle-bound), pings, largest message, subprotocol and deflate end to
    end, forwarded headers and affinity (against a `wsbench serve` pod), broken
    upgrades, certificates.

    \b
    Exit codes: 0 the suite ran (also with FAILED cases, unless --strict);
                1 --strict and at least one case FAILED;
                2 bad input (URL, pattern, option) or the URL gives no WebSocket;
                3 the lab could not start.
    """
    if (url is None) == (lab is None):
        raise UsageError("give either URL or --lab PROXIES")
    if lab_name is not None and lab is None:
        raise UsageError("--lab-name goes with --lab PROXIES")
    patterns_in, patterns_out = split_patterns(include), split_patterns(exclude)
    if list_only:  # the idle checks too, marked, when no bound is given
        listed = choose_cases(cases=patterns_in, exclude=patterns_out, scale=scale,
                              deflate_scale=deflate_scale, idle_bound=idle_bound or 1.0)
        for case in listed:
            needs = (isinstance(case, IngressCheck) and case.needs_idle_bound and idle_bound is None)
            note = "  (needs --idle-bound)" if needs else ""
            click.echo(f"{case.id:<24} {case.group:<34} {case.description}{note}")
        return 0
    chosen = choose_cases(cases=patterns_in, exclude=patterns_out, scale=scale,
                          deflate_scale=deflate_scale, idle_bound=idle_bound)
    if not chosen:
        raise UsageError("the selection leaves no case to run")
    ingress = IngressOptions(idle_bound=idle_bound, max_message_bound=max_message_bound,
                             affinity_path=affinity_path, expect_affinity=expect_affinity,
                             tls_url=tls_url, ca_file=ca_file)
    selection: dict[str, Any] = {"cases": patterns_in, "exclude": patterns_out, "scale": scale,
                                 "deflate_scale": deflate_scale}
    if lab is not None:
        return _lab(lab, selection, ingress, timeout, wait, concurrency, out, junit, strict,
                    lab_name=lab_name)
    assert url is not None
    target = Target.parse(url)
    secrets = secrets_of((), (url,))  # user:password in the URL: never printed, never written

    def hide(text: str) -> str:
        return redact_text(text, secrets)

    context = _ssl_context(insecure, ca_file) if target.secure else None
    try:
        _preflight(target, timeout, context)
    except UsageError as exc:
        raise UsageError(hide(str(exc))) from None
    options = RunOptions(timeout=timeout, wait=wait, concurrency=concurrency, ssl_context=context)
    result = run_conformance(url, options=options, ingress=ingress, **selection)
    click.echo(hide(render_table(result)))
    _write_outputs(result, out, junit, hide)
    return 1 if strict and result.failed else 0


def _lab(names_value: str, selection: dict[str, Any], ingress: IngressOptions, timeout: float,
         wait: float, concurrency: int, out: Path | None, junit: Path | None, strict: bool,
         *, lab_name: str | None = None) -> int:
    from wsbench.conform.lab import lab_conform_targets, run_lab_conformance, write_lab_outputs
    from wsbench.conform.matrix import render_matrix
    from wsbench.lab.for_run import parse_lab_names
    from wsbench.lab.supervisor import Supervisor, tell_events

    names = parse_lab_names(names_value)

    def say(line: str) -> None:
        click.echo(line, err=True)

    with lab_conform_targets(names, say=say, lab_name=lab_name) as (targets, found):
        for target in targets:
            _preflight(Target.parse(target.url), timeout, None)
        options = RunOptions(timeout=timeout, wait=wait, concurrency=concurrency)
        with Supervisor(found.lab, on_event=tell_events(say)) as supervisor:
            outcome = run_lab_conformance(targets, options=options, ingress=ingress,
                                          ca_file=ingress.ca_file or found.ca_file,
                                          lab=found.fingerprint, supervisor=supervisor, say=say,
                                          **selection)
    click.echo(render_matrix(outcome.matrix))
    if out is not None:
        for path in write_lab_outputs(outcome, out, junit=junit, html=_lab_html):
            click.echo(f"wrote {path}")
    elif junit is not None:
        try:
            junit.write_text(to_junit_xml(*outcome.results.values()), encoding="utf-8")
        except OSError as exc:
            raise InputFileError(f"cannot write results: {exc}") from exc
        click.echo(f"junit: {junit}")
    failed = any(result.failed for result in outcome.results.values())
    return 1 if strict and failed else 0


def _lab_html(outcome: LabConformance, path: Path) -> Path:
    """The report package's conformance matrix, on a page with no load Result."""
    from wsbench.report import render_report  # the report stack only when it is used

    first = next(iter(outcome.results.values()))
    duration = sum(r.duration_s for r in outcome.results.values())
    page = {"schema": "wsbench/result@1", "run_id": "conform --lab",
            "started_at": first.to_json()["started_at"], "duration_s": round(duration, 3),
            "complete": all(r.complete for r in outcome.results.values()), "targets": {},
            "lab": outcome.lab}
    conformance = [(name, result.to_json()) for name, result in outcome.results.items()]
    return render_report(page, path, conformance=conformance, source="wsbench conform --lab")


def _ssl_context(insecure: bool, ca_file: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _preflight(target: Target, timeout: float, context: ssl.SSLContext | None) -> None:
    """One plain upgrade first: a URL that gives no WebSocket is bad input, not 530 failures."""

    async def probe() -> None:
        conn = await open_connection(target, timeout=timeout, log=WireLog(), ssl_context=context)
        await conn.aclose()

    try:
        asyncio.run(probe())
    except HandshakeError as exc:
        hint = " (trust its CA with --ca-file, or --insecure)" if "CERTIFICATE_VERIFY" in str(exc) else ""
        raise UsageError(f"no WebSocket at {target.url}: {exc}{hint}") from exc


def _write_outputs(result: ConformResult, out: Path | None, junit: Path | None,
                   hide: Callable[[str], str] = str) -> None:
    """conform.json and the JUnit file, with ``hide`` applied to their text (secrets)."""
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            (out / RESULT_FILE).write_text(hide(result.dumps()) + "\n", encoding="utf-8")
            click.echo(f"result: {out / RESULT_FILE}")
        if junit is not None:
            junit.write_text(hide(to_junit_xml(result)), encoding="utf-8")
            click.echo(f"junit: {junit}")
    except OSError as exc:
        raise InputFileError(f"cannot write results: {exc}") from exc
