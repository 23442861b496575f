"""Plain words for a target that never worked: the likely cause, in one line. Pure.

A run against nothing listening still ends with a Result full of counters; what a user
needs is "no session opened: 350 refused — is anything listening at 127.0.0.1:8080?".
:func:`diagnose` reads the target's counters (failed upgrades by class and HTTP status,
messages sent and received) and names the likely cause, or returns None when the target
worked. The summary, report.html and compare print the same line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsbench.errors import UsageError
from wsbench.protocol.url import parse_ws_url
from wsbench.result.model import TargetResult

__all__ = ["diagnose", "failure_text"]


def failure_text(kind: str, count: int) -> str:
    """``http_502`` × 9 -> ``9 × HTTP 502``; ``refused`` × 3 -> ``3 refused``."""
    if kind.startswith("http_"):
        return f"{count} × HTTP {kind[5:]}"
    return f"{count} {kind}"


def _where(url: str | None) -> tuple[str, str]:
    """``host:port`` and the path of ``url`` ("the target" when it cannot be read)."""
    if not url:
        return "the target", "/"
    try:
        parsed = parse_ws_url(url)
    except UsageError:
        return url, "/"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{host}:{parsed.port}", parsed.resource


def _cause(kind: str, host: str, path: str, secure: bool) -> str:
    if kind == "refused":
        return f"is anything listening at {host}?"
    if kind == "dns":
        return f"does {host.rsplit(':', 1)[0]} resolve from here (DNS)?"
    if kind == "tls":
        return (f"does {host} serve TLS with a certificate you trust (--ca-file, --insecure)"
                + (", or is it plain ws://?" if secure else "?"))
    if kind == "timeout":
        return f"is {host} reachable from here (firewall, wrong address, a proxy that never answers)?"
    if kind in ("reset", "closed"):
        return (f"is {host} a WebSocket endpoint? (a reset or close before the 101: "
                + ("plain HTTP on a TLS port?)" if not secure else "TLS expected but not spoken?)"))
    if kind.startswith("http_"):
        status = kind[5:]
        if status in ("401", "403"):
            return f"does {path} need credentials (--header 'Authorization: ...')?"
        if status == "404":
            return f"is the path {path} right on {host}?"
        if status in ("400", "426"):
            return "does the route pass the Upgrade and Connection headers on to a WebSocket backend?"
        if status.startswith("5"):
            return f"the proxy at {host} reached no working backend for {path}: are the pods up and ready?"
        return f"{host} answered {status} instead of 101 Switching Protocols: is {path} a WebSocket endpoint?"
    return f"see events.jsonl for what {host} did"


def diagnose(target: TargetResult | Mapping[str, Any]) -> str | None:
    """One line naming why ``target`` never worked, or None when it did."""
    if not isinstance(target, TargetResult):
        target = TargetResult.from_json(target)
    sessions, messages = target.session_counts, target.message_counts
    host, path = _where(target.url)
    secure = bool(target.url and target.url.startswith("wss://"))
    if sessions.attempted and not sessions.opened:
        failures = {k: int(v) for k, v in (target.upgrade_failures or {}).items() if v}
        if not failures:
            return f"no session opened: {sessions.attempted} attempted, none got a 101 — see events.jsonl"
        ranked = sorted(failures.items(), key=lambda item: (-item[1], item[0]))
        kind, count = ranked[0]
        others = "".join(f", {failure_text(k, v)}" for k, v in ranked[1:3])
        return f"no session opened: {failure_text(kind, count)}{others} — {_cause(kind, host, path, secure)}"
    if sessions.opened and messages.sent and not messages.received:
        return (f"sessions opened but no echo came back ({messages.sent} sent, 0 received) — does {host}{path} "
                "echo each message back unchanged (as `wsbench serve` does)?")
    return None
