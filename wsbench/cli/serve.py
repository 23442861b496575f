"""``wsbench serve``: the echo "pod" app (options -> ServeOptions -> wsbench.server.echo.run)."""

from __future__ import annotations

import logging
import math

import click

from wsbench.server.process import ServeOptions

__all__ = ["serve"]


def _ping_interval(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    if value.strip().lower() in ("off", "none", "no"):
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise click.BadParameter(f"{value!r} is neither a number of seconds > 0 nor 'off'")
    return seconds


@click.command("serve")
@click.option(
    "--host",
    "hosts",
    multiple=True,
    default=("127.0.0.1",),
    show_default=True,
    help="Address to listen on; repeat to listen on several, all on the same port.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="TCP port; 0 picks a free one.",
)
@click.option(
    "--pod-name", default=None, help="Name in whoami, X-Wsbench-Pod and /stats [pod-<pid>]."
)
@click.option(
    "--delay-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Send each echo this long after its message arrived (order kept).",
)
@click.option(
    "--upgrade-delay-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Wait this long before answering the upgrade with 101.",
)
@click.option(
    "--drain-s",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="On SIGTERM/SIGINT: how long sessions get to finish the close 1001 handshake.",
)
@click.option(
    "--processes",
    type=click.IntRange(1, 1024),
    default=1,
    show_default=True,
    help="Worker processes sharing the listening sockets (~20,000 sessions each).",
)
@click.option(
    "--close-sessions",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Close the first K sessions of each process ...",
)
@click.option(
    "--close-code", type=int, default=1000, show_default=True, help="... with this code ..."
)
@click.option(
    "--close-after-messages",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="... after their M-th echoed message.",
)
@click.option(
    "--drop-every",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Per session, do not echo the N-th, 2N-th, ... message (0 = never).",
)
@click.option(
    "--degrade-after",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Once the pod holds more than K sessions (all its processes), every echo is ...",
)
@click.option(
    "--degrade-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="... this much later (a pod that degrades at a known load; for capacity tests).",
)
@click.option(
    "--ping-interval",
    default="off",
    show_default=True,
    callback=_ping_interval,
    help="Server keepalive pings, in seconds, or 'off' (pings hide idle timeouts).",
)
@click.option(
    "--subprotocol",
    "subprotocols",
    multiple=True,
    help="Accept this subprotocol when offered (repeatable, in preference order).",
)
@click.option(
    "--deflate/--no-deflate", default=True, show_default=True, help="Accept permessage-deflate."
)
@click.option(
    "--max-size",
    type=click.IntRange(min=1),
    default=16 * 2**20,
    show_default=True,
    help="Largest incoming message in bytes (larger: close 1009).",
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Once listening, write {pod, pid, port, urls} here as JSON (atomically).",
)
def serve(
    hosts: tuple[str, ...],
    port: int,
    pod_name: str | None,
    delay_ms: float,
    upgrade_delay_ms: float,
    drain_s: float,
    processes: int,
    close_sessions: int,
    close_code: int,
    close_after_messages: int,
    drop_every: int,
    degrade_after: int,
    degrade_ms: float,
    ping_interval: float | None,
    subprotocols: tuple[str, ...],
    deflate: bool,
    max_size: int,
    ready_file: str | None,
) -> int:
    """Run the echo "pod" app: echoes messages, answers `whoami`, GET /stats and /healthz.

    SIGTERM (or SIGINT) drains it like a Kubernetes pod: it stops listening, sends
    close 1001 "pod draining" to every session, waits up to --drain-s, exits 0.
    """
    options = ServeOptions(
        hosts=hosts,
        port=port,
        pod_name=pod_name,
        delay_ms=delay_ms,
        upgrade_delay_ms=upgrade_delay_ms,
        drain_s=drain_s,
        processes=processes,
        close_sessions=close_sessions,
        close_code=close_code,
        close_after_messages=close_after_messages,
        drop_every=drop_every,
        degrade_after=degrade_after,
        degrade_ms=degrade_ms,
        ping_interval=ping_interval,
        subprotocols=subprotocols,
        deflate=deflate,
        max_size=max_size,
    )
    logging.basicConfig(
        level=logging.INFO,
        format="wsbench serve[%(process)d]: %(levelname)s %(message)s",
    )
    logging.getLogger("websockets").setLevel(logging.WARNING)
    from wsbench.server.echo import run  # websockets and uvloop only when serving

    return run(options, ready_file=ready_file)
