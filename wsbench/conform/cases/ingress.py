"""The ingress group: checks that only matter through a proxy, as data (pure code).

Unlike the Autobahn cases these are not one connection each: a check may time an
idle session, bisect the largest message, compare what the client sent with what
the pod saw (``wsbench serve`` answers a text ``whoami`` with the upgrade request's
headers), or open several sessions. Each :class:`IngressCheck` names its probe
(run by :mod:`wsbench.conform.ingress`); :mod:`wsbench.conform.ingress_rules`
turns what the probe saw into a verdict.

Ids are names (``ingress.idle-timeout``); ``--cases 'ingress.*'`` selects the group.
The two idle checks wait for the path's idle timeout, so they run only when a bound
is given (``--idle-bound``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GROUP", "IngressCheck", "ingress_checks", "IDLE_CHECKS"]

GROUP = "Ingress"
#: the checks that need ``--idle-bound`` (slow: they wait for the idle timeout)
IDLE_CHECKS = ("ingress.idle-timeout", "ingress.ping-keepalive")


@dataclass(frozen=True)
class IngressCheck:
    """One ingress-path check. ``probe`` names what the runner does for it; checks with
    the same probe share one run of it (one ``whoami`` session serves two checks)."""

    id: str
    description: str
    expectation: str
    probe: str
    order: int = 0
    group: str = GROUP
    needs_idle_bound: bool = False

    @property
    def group_number(self) -> str:
        return "ingress"

    @property
    def sort_key(self) -> tuple[tuple[int, str], ...]:
        return ((1 << 30, "ingress"), (self.order, ""))


_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    ("idle-timeout", "idle",
     "Open a session, echo one message, then send nothing (no pings) until the path closes "
     "it or the bound passes.",
     "INFORMATIONAL: the idle timeout in seconds and how the session was closed (a close "
     "frame and its code, or TCP cut without one: 1006), or none within the bound."),
    ("ping-keepalive", "idle",
     "Alongside the idle session, keep a second session quiet except for a client ping every "
     "interval (each answered by a pong).",
     "OK: the pinged session outlives the idle timeout; FAILED: it is closed as if idle. "
     "INFORMATIONAL when no idle timeout shows within the bound."),
    ("max-message", "max-message",
     "Bisect the largest binary message (one frame) that comes back intact, up to a bound, "
     "each try on a new session.",
     "OK: a message of the bound's size passes; INFORMATIONAL: the largest size that passes "
     "and how a larger one failed; FAILED: nothing passes."),
    ("subprotocol", "subprotocol",
     "Offer subprotocols in Sec-WebSocket-Protocol; ask the pod (whoami) what it saw and chose.",
     "OK: the offer reaches the pod and its choice reaches the client unchanged; FAILED: the "
     "offer was dropped or the answer differs from the pod's choice or was never offered."),
    ("deflate", "deflate",
     "Offer permessage-deflate; echo a compressible message; ask the pod whether it saw the offer.",
     "OK: negotiated end to end and the compressed echo is intact; INFORMATIONAL: a proxy "
     "stripped the offer (the pod never saw it); UNIMPLEMENTED: the server declines; FAILED: "
     "an invalid answer or a corrupted echo."),
    ("origin", "origin",
     "Send an Origin header (by default the target's own origin, as a browser on that site "
     "would); ask the pod (whoami) which Origin it saw.",
     "OK: the pod sees the Origin as sent; FAILED: dropped or changed. INFORMATIONAL against a "
     "server that is not a wsbench pod, or when the upgrade is refused with 403 (an origin "
     "policy)."),
    ("x-forwarded-for", "whoami",
     "Ask the pod (whoami) which address it sees and which X-Forwarded-For / Forwarded header.",
     "OK: the pod sees the client's own address (direct) or a proxy forwards it in "
     "X-Forwarded-For or Forwarded; FAILED: a proxy hides it. INFORMATIONAL: not a wsbench pod."),
    ("host", "whoami",
     "Ask the pod (whoami) which Host header it saw.",
     "OK: the host name as sent (a dropped port is noted); FAILED: another host. "
     "INFORMATIONAL: not a wsbench pod."),
    ("affinity", "affinity",
     "Open several sessions in a row from one source address, sending back any cookie the "
     "first upgrade set; ask each pod (whoami) who it is.",
     "OK: every session lands on the same pod; FAILED when affinity is expected and they "
     "spread; INFORMATIONAL when they spread and affinity is not expected, or not a wsbench pod."),
    ("header-routing", "header-routing",
     "Open sessions alternately with and without a routing header (the lab: X-Canary: always, "
     "ingress-nginx's canary-by-header); ask each pod (whoami) who it is.",
     "OK: every session with the header lands on the routed pods (the lab: alt-*) and none "
     "without it; FAILED otherwise; INFORMATIONAL when no routing header is given or not a "
     "wsbench pod."),
    ("upgrade-no-key", "upgrade-no-key",
     "Send an upgrade request without Sec-WebSocket-Key.",
     "OK: HTTP 400 (RFC 6455 4.2.1); NON-STRICT: another 4xx or no answer; FAILED: 101 "
     "(upgraded anyway) or 5xx (a proxy turned a client error into a server error)."),
    ("upgrade-bad-version", "upgrade-bad-version",
     "Send an upgrade request with Sec-WebSocket-Version: 12.",
     "OK: HTTP 426 with Sec-WebSocket-Version: 13 (RFC 6455 4.4); NON-STRICT: 400, another "
     "4xx or 426 without the header, or no answer; FAILED: 101 or 5xx."),
    ("tls-chain", "tls",
     "Over wss: verify the server's certificate chain against the trusted CAs (--ca-file, "
     "else the system's).",
     "OK: the chain verifies; FAILED: it does not (the reason); UNIMPLEMENTED: no wss URL."),
    ("tls-hostname", "tls",
     "Over wss: check that the certificate is valid for the URL's host name.",
     "OK: it is; FAILED: it is not (or the chain does not verify); UNIMPLEMENTED: no wss URL."),
)


def ingress_checks() -> list[IngressCheck]:
    """Every ingress check, in the order they are reported."""
    return [
        IngressCheck(f"ingress.{name}", description, expectation, probe, order=index,
                     needs_idle_bound=f"ingress.{name}" in IDLE_CHECKS)
        for index, (name, probe, description, expectation) in enumerate(_CHECKS, start=1)
    ]
