"""The verdict rules of the ingress group, in one place (pure code).

A probe (:mod:`wsbench.conform.ingress`, asyncio) records what it saw in one of the
observation dataclasses below; a rule turns it into a :class:`Finding`: the verdict,
a one-line reason, and a short ``value`` (``"3.0 s, TCP cut (1006)"``, ``"1 MiB"``)
that the lab matrix compares across targets. :func:`bisect_sizes` is the search for
the largest message, as a generator: it yields sizes to try and is sent whether each
passed; the probe does the sending.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from wsbench.conform.model import Verdict

__all__ = [
    "Finding",
    "Whoami",
    "IdleObservation",
    "MaxMessageObservation",
    "NegotiationObservation",
    "HeaderObservation",
    "AffinityObservation",
    "HeaderRoutingObservation",
    "UpgradeObservation",
    "TlsObservation",
    "bisect_sizes",
    "human_size",
    "judge_idle_timeout",
    "judge_ping_keepalive",
    "judge_max_message",
    "judge_subprotocol",
    "judge_deflate",
    "judge_origin",
    "judge_forwarded_for",
    "judge_host",
    "judge_affinity",
    "judge_header_routing",
    "judge_upgrade_no_key",
    "judge_upgrade_bad_version",
    "judge_tls_chain",
    "judge_tls_hostname",
    "NOT_A_POD",
]

NOT_A_POD = "not a wsbench pod"


@dataclass(frozen=True)
class Finding:
    verdict: str
    reason: str
    value: str = ""
    observed: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Whoami:
    """What a ``wsbench serve`` pod says about a session (header names lower-case)."""

    pod: str
    peer: str
    path: str
    headers: Mapping[str, str]
    subprotocol: str | None

    @classmethod
    def parse(cls, reply: bytes) -> Whoami | None:
        """The pod's answer to ``whoami``; None when ``reply`` is not one (another server)."""
        try:
            data = json.loads(reply)
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("headers"), dict) or "pod" not in data:
            return None
        headers = {str(k).lower(): str(v) for k, v in data["headers"].items()}
        protocol = data.get("subprotocol")
        return cls(str(data["pod"]), str(data.get("peer", "")), str(data.get("path", "")),
                   headers, str(protocol) if protocol is not None else None)


def human_size(n: int) -> str:
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _failed_upgrade(error: str) -> Finding:
    return Finding(Verdict.FAILED, f"upgrade failed: {error}", "upgrade failed")


# -- idle timeout and pings -------------------------------------------------------------


@dataclass(frozen=True)
class IdleObservation:
    """Two sessions side by side: one idle, one pinged every ``ping_interval_s``.

    ``closed_after_s``: seconds from the last echo to the end of the idle session
    (None: still open at ``bound_s``); ``how``: what ended it. The ``pinged_*``
    fields are the same for the pinged session, watched until ``pinged_for_s``.
    """

    bound_s: float
    closed_after_s: float | None = None
    how: str = ""
    close_code: int | None = None
    ping_interval_s: float = 1.0
    pinged_closed_after_s: float | None = None
    pinged_how: str = ""
    pinged_for_s: float = 0.0
    pongs: int = 0
    error: str | None = None


def judge_idle_timeout(obs: IdleObservation) -> Finding:
    observed = {"bound_s": obs.bound_s, "idle_timeout_s": obs.closed_after_s,
                "closed_how": obs.how or None, "close_code": obs.close_code}
    if obs.error is not None:
        return _failed_idle(obs.error)
    if obs.closed_after_s is None:
        pinged = obs.how.partition("; ")[2]  # the server's own pings keep a session busy
        note = f" ({pinged}: its keepalive hides any idle timeout of the path)" if pinged else ""
        return Finding(Verdict.INFORMATIONAL,
                       f"no idle timeout within {obs.bound_s:g} s: the idle session stayed open{note}",
                       f"none within {obs.bound_s:g} s", observed)
    seconds = f"{obs.closed_after_s:.1f} s"
    return Finding(Verdict.INFORMATIONAL, f"idle session closed after {seconds}: {obs.how}",
                   f"{seconds}, {_short_how(obs)}", observed)


def _failed_idle(error: str) -> Finding:
    what = error if error.startswith("no echo") else f"upgrade failed: {error}"
    return Finding(Verdict.FAILED, f"could not start the idle sessions: {what}", "failed")


def _short_how(obs: IdleObservation) -> str:
    if obs.close_code is not None:
        return f"close {obs.close_code}"
    return "TCP cut (1006)"


def judge_ping_keepalive(obs: IdleObservation) -> Finding:
    observed = {"ping_interval_s": obs.ping_interval_s, "pongs": obs.pongs,
                "pinged_for_s": round(obs.pinged_for_s, 3),
                "pinged_closed_after_s": obs.pinged_closed_after_s,
                "idle_timeout_s": obs.closed_after_s}
    if obs.error is not None:
        return _failed_idle(obs.error)
    every = f"a ping every {obs.ping_interval_s:g} s"
    if obs.pinged_closed_after_s is not None:
        idle = (f" (the idle one after {obs.closed_after_s:.1f} s)"
                if obs.closed_after_s is not None else "")
        return Finding(Verdict.FAILED,
                       f"client pings did not keep the session open: closed after "
                       f"{obs.pinged_closed_after_s:.1f} s with {every}{idle}: {obs.pinged_how}",
                       f"closed after {obs.pinged_closed_after_s:.1f} s", observed)
    if obs.closed_after_s is None:
        return Finding(Verdict.INFORMATIONAL,
                       f"no idle timeout within {obs.bound_s:g} s to outlive; the pinged session "
                       f"stayed open too ({obs.pongs} pongs)", "no idle timeout", observed)
    return Finding(Verdict.OK,
                   f"with {every} the session stayed open {obs.pinged_for_s:.1f} s, past the "
                   f"idle timeout of {obs.closed_after_s:.1f} s ({obs.pongs} pongs)",
                   "kept open", observed)


# -- largest message ---------------------------------------------------------------------


def bisect_sizes(bound: int, *, resolution: int = 1024) -> Generator[int, bool, tuple[int | None, int | None]]:
    """Sizes to try, largest message first; send True/False for each. Returns
    ``(largest that passed or None, smallest that failed or None)``, the two at most
    ``resolution`` bytes apart."""
    if bound < 1 or resolution < 1:
        raise ValueError("bound and resolution must be positive")
    if (yield bound):
        return bound, None
    largest: int | None = None
    low, high = 0, bound  # low passed (or nothing yet), high failed
    while high - low > resolution:
        middle = (low + high) // 2
        if (yield middle):
            low, largest = middle, middle
        else:
            high = middle
    return largest, high


@dataclass(frozen=True)
class MaxMessageObservation:
    bound: int
    largest_ok: int | None
    smallest_failed: int | None
    how_failed: str = ""
    tries: int = 0


def judge_max_message(obs: MaxMessageObservation) -> Finding:
    observed = {"bound": obs.bound, "largest_ok": obs.largest_ok,
                "smallest_failed": obs.smallest_failed, "how_failed": obs.how_failed or None,
                "tries": obs.tries}
    if obs.smallest_failed is None:
        return Finding(Verdict.OK, f"a message of {human_size(obs.bound)} ({obs.bound} bytes, the "
                       "bound) comes back intact", f"≥ {human_size(obs.bound)}", observed)
    if obs.largest_ok is None:
        return Finding(Verdict.FAILED, f"no message of {obs.smallest_failed} bytes or more "
                       f"came back: {obs.how_failed}", "nothing passes", observed)
    return Finding(Verdict.INFORMATIONAL,
                   f"largest message that passes: {human_size(obs.largest_ok)} ({obs.largest_ok} "
                   f"bytes); {obs.smallest_failed} bytes failed: {obs.how_failed}",
                   human_size(obs.largest_ok), observed)


# -- negotiation end to end --------------------------------------------------------------


@dataclass(frozen=True)
class NegotiationObservation:
    """An upgrade with an offer (subprotocols or permessage-deflate) and the pod's view.

    ``offered`` / ``answered``: the header as sent and as in the 101 (None: absent);
    ``problem``: why the answer is invalid; ``echo_ok`` / ``echo_compressed``: the
    echo after the upgrade (deflate); ``error``: the upgrade failed.
    """

    offered: str
    answered: str | None = None
    problem: str | None = None
    pod: Whoami | None = None
    echo_ok: bool | None = None
    echo_compressed: bool | None = None
    error: str | None = None


def _tokens(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def judge_subprotocol(obs: NegotiationObservation) -> Finding:
    observed = {"offered": obs.offered, "selected": obs.answered,
                "pod_saw": obs.pod.headers.get("sec-websocket-protocol") if obs.pod else None,
                "pod_selected": obs.pod.subprotocol if obs.pod else None}
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    offered = _tokens(obs.offered)
    chosen = obs.answered
    if chosen is not None and chosen not in offered:
        return Finding(Verdict.FAILED, f"the answer selects {chosen!r}, which was not offered",
                       f"selected {chosen}", observed)
    if obs.problem is not None:
        return Finding(Verdict.FAILED, f"invalid answer: {obs.problem}", "invalid answer", observed)
    shown = chosen or "none"
    if obs.pod is None:
        return Finding(Verdict.INFORMATIONAL, f"{NOT_A_POD}: the server selected {shown}",
                       f"selected {shown}", observed)
    seen = _tokens(obs.pod.headers.get("sec-websocket-protocol"))
    if seen != offered:
        what = "never reached the pod" if not seen else f"reached the pod as {', '.join(seen)}"
        return Finding(Verdict.FAILED, f"the offer {obs.offered!r} {what}", "offer dropped", observed)
    if chosen != obs.pod.subprotocol:
        return Finding(Verdict.FAILED, f"the pod selected {obs.pod.subprotocol or 'none'} but the "
                       f"client got {shown}", "answer changed", observed)
    return Finding(Verdict.OK, f"the offer reached the pod and its choice ({shown}) reached the "
                   "client", f"selected {shown}", observed)


def judge_deflate(obs: NegotiationObservation) -> Finding:
    observed = {"offered": obs.offered, "answered": obs.answered,
                "pod_saw": obs.pod.headers.get("sec-websocket-extensions") if obs.pod else None,
                "echo_ok": obs.echo_ok, "echo_compressed": obs.echo_compressed}
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    if obs.problem is not None:
        return Finding(Verdict.FAILED, f"invalid permessage-deflate answer: {obs.problem}",
                       "invalid answer", observed)
    pod_saw = obs.pod.headers.get("sec-websocket-extensions") if obs.pod else None
    if obs.answered is None:
        if obs.pod is not None and not pod_saw:
            return Finding(Verdict.INFORMATIONAL, "permessage-deflate stripped: the offer never "
                           "reached the pod", "stripped", observed)
        where = "the offer reached the pod, " if obs.pod is not None else ""
        return Finding(Verdict.UNIMPLEMENTED, f"{where}the answer has no permessage-deflate",
                       "declined", observed)
    if not obs.echo_ok:
        return Finding(Verdict.FAILED, "permessage-deflate was agreed but the echo did not come "
                       "back intact", "echo broken", observed)
    how = "compressed" if obs.echo_compressed else "uncompressed"
    pod = "" if obs.pod is not None else f" ({NOT_A_POD}: the pod's view is unknown)"
    return Finding(Verdict.OK, f"negotiated end to end ({obs.answered}); the echo came back "
                   f"intact, {how}{pod}", "negotiated", observed)


# -- forwarded headers -------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderObservation:
    """One upgrade + ``whoami``. ``sent``: headers as wsbench sent them (lower-case names);
    ``client``: wsbench's own ``host:port``; ``reply``: the start of a non-pod's answer."""

    sent: Mapping[str, str]
    client: str = ""
    pod: Whoami | None = None
    reply: str = ""
    error: str | None = None
    status: int | None = None


def _not_a_pod(obs: HeaderObservation, what: str) -> Finding:
    return Finding(Verdict.INFORMATIONAL, f"{NOT_A_POD} (its answer to 'whoami' was "
                   f"{obs.reply!r}): {what} cannot be checked", NOT_A_POD, {"reply": obs.reply})


def judge_origin(obs: HeaderObservation) -> Finding:
    if obs.error is not None and obs.status == 403:
        return Finding(Verdict.INFORMATIONAL, f"the upgrade with Origin {obs.sent.get('origin')} "
                       "was refused with HTTP 403 (an origin policy, or a Host the pod does not "
                       "recognise as its own)", "refused (403)", {"sent": obs.sent.get("origin")})
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    if obs.pod is None:
        return _not_a_pod(obs, "the Origin the pod saw")
    sent, seen = obs.sent.get("origin"), obs.pod.headers.get("origin")
    observed = {"sent": sent, "pod_saw": seen}
    if seen == sent:
        return Finding(Verdict.OK, f"the pod saw Origin {seen}", "as sent", observed)
    if seen is None:
        return Finding(Verdict.FAILED, "the Origin header never reached the pod", "dropped", observed)
    return Finding(Verdict.FAILED, f"the pod saw Origin {seen!r}, not {sent!r}", "changed", observed)


def _host_of(address: str) -> str:
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 or address.startswith("[") else address
    return host.strip("[]")


def judge_forwarded_for(obs: HeaderObservation) -> Finding:
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    if obs.pod is None:
        return _not_a_pod(obs, "the client address the pod saw")
    headers = obs.pod.headers
    forwarded = {name: headers[name] for name in ("x-forwarded-for", "forwarded", "x-real-ip",
                                                  "x-envoy-external-address") if name in headers}
    observed = {"client": obs.client, "pod_peer": obs.pod.peer, **forwarded}
    if obs.pod.peer == obs.client:
        return Finding(Verdict.OK, f"direct connection: the pod sees the client itself "
                       f"({obs.client})", "direct", observed)
    client_host = _host_of(obs.client)
    chain = [_host_of(a.strip()) for a in headers.get("x-forwarded-for", "").split(",") if a.strip()]
    if client_host in chain:
        return Finding(Verdict.OK, f"through a proxy (pod peer {obs.pod.peer}); X-Forwarded-For: "
                       f"{headers['x-forwarded-for']}", "X-Forwarded-For", observed)
    for name in ("forwarded", "x-envoy-external-address", "x-real-ip"):
        if client_host in headers.get(name, ""):
            return Finding(Verdict.OK, f"through a proxy (pod peer {obs.pod.peer}); the client "
                           f"address is in {name}: {headers[name]}", name, observed)
    shown = ", ".join(f"{k}: {v}" for k, v in forwarded.items()) or "no forwarding header"
    return Finding(Verdict.FAILED, f"through a proxy (pod peer {obs.pod.peer}) the client address "
                   f"{client_host} is not forwarded ({shown})", "hidden", observed)


def judge_host(obs: HeaderObservation) -> Finding:
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    if obs.pod is None:
        return _not_a_pod(obs, "the Host the pod saw")
    sent, seen = obs.sent.get("host", ""), obs.pod.headers.get("host")
    observed = {"sent": sent, "pod_saw": seen}
    if seen == sent:
        return Finding(Verdict.OK, f"the pod saw Host {seen}", "as sent", observed)
    if seen is None:
        return Finding(Verdict.FAILED, "no Host header reached the pod", "dropped", observed)
    if _host_of(seen).lower() == _host_of(sent).lower():
        return Finding(Verdict.OK, f"the pod saw Host {seen} (sent {sent}: the port was changed "
                       "or dropped)", "port dropped", observed)
    return Finding(Verdict.FAILED, f"the pod saw Host {seen!r}, not {sent!r}", "rewritten", observed)


# -- affinity ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AffinityObservation:
    """``pods``: the pod of each session in order ("" when not a pod); ``cookie``: what
    wsbench sent back from the first upgrade's Set-Cookie (None: it set none)."""

    path: str
    pods: tuple[str, ...] = ()
    cookie: str | None = None
    expected: bool = False
    error: str | None = None


def judge_affinity(obs: AffinityObservation) -> Finding:
    observed = {"path": obs.path, "pods": list(obs.pods), "cookie": obs.cookie,
                "expected": obs.expected}
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    if not obs.pods or not all(obs.pods):
        return Finding(Verdict.INFORMATIONAL, f"{NOT_A_POD}: cannot tell which pod served a session",
                       NOT_A_POD, observed)
    landed = sorted(set(obs.pods))
    how = f"with cookie {obs.cookie}" if obs.cookie else "from one source address, no cookie set"
    if len(landed) == 1:
        return Finding(Verdict.OK, f"{len(obs.pods)} sessions {how} all landed on {landed[0]}",
                       "honoured", observed)
    spread = f"{len(obs.pods)} sessions {how} spread over {', '.join(landed)}"
    if obs.expected:
        return Finding(Verdict.FAILED, f"affinity not honoured: {spread}", "not honoured", observed)
    return Finding(Verdict.INFORMATIONAL, f"no affinity on {obs.path}: {spread}", "none", observed)


# -- header-based routing --------------------------------------------------------------------


@dataclass(frozen=True)
class HeaderRoutingObservation:
    """The pod of each session sent with ``header`` and of each sent without it ("" when
    not a pod); ``header`` None: no routing header was given for this target."""

    header: str | None
    pod_prefix: str = ""
    with_header: tuple[str, ...] = ()
    without_header: tuple[str, ...] = ()
    error: str | None = None


def judge_header_routing(obs: HeaderRoutingObservation) -> Finding:
    observed = {"header": obs.header, "pod_prefix": obs.pod_prefix,
                "with_header": list(obs.with_header), "without_header": list(obs.without_header)}
    if obs.header is None:
        return Finding(Verdict.INFORMATIONAL, "no routing header given for this target", "not checked",
                       observed)
    if obs.error is not None:
        return _failed_upgrade(obs.error)
    pods = obs.with_header + obs.without_header
    if not pods or not all(pods):
        return Finding(Verdict.INFORMATIONAL, f"{NOT_A_POD}: cannot tell which pod served a session",
                       NOT_A_POD, observed)
    routed = [p for p in obs.with_header if p.startswith(obs.pod_prefix)]
    leaked = [p for p in obs.without_header if p.startswith(obs.pod_prefix)]
    said = (f"with {obs.header}: {len(routed)}/{len(obs.with_header)} on {obs.pod_prefix}* pods; "
            f"without: {len(leaked)}/{len(obs.without_header)}")
    if len(routed) == len(obs.with_header) and not leaked:
        return Finding(Verdict.OK, said, "routed", observed)
    return Finding(Verdict.FAILED, f"header routing not honoured: {said}", "not routed", observed)


# -- broken upgrades -------------------------------------------------------------------------


@dataclass(frozen=True)
class UpgradeObservation:
    """The answer to a deliberately broken upgrade (``status`` None: none came: ``error``)."""

    status: int | None
    reason: str = ""
    version_header: str | None = None
    error: str | None = None


def _broken(obs: UpgradeObservation) -> Finding | None:
    observed = {"status": obs.status, "sec_websocket_version": obs.version_header}
    if obs.status is None:
        return Finding(Verdict.NON_STRICT, f"no HTTP answer: {obs.error}", "no answer", observed)
    if obs.status == 101:
        return Finding(Verdict.FAILED, "HTTP 101: upgraded anyway", "101", observed)
    if obs.status >= 500:
        return Finding(Verdict.FAILED, f"HTTP {obs.status} {obs.reason}: a server error for a "
                       "client's broken request", str(obs.status), observed)
    return None


def judge_upgrade_no_key(obs: UpgradeObservation) -> Finding:
    found = _broken(obs)
    if found is not None:
        return found
    observed = {"status": obs.status}
    if obs.status == 400:
        return Finding(Verdict.OK, "HTTP 400 Bad Request", "400", observed)
    verdict = Verdict.NON_STRICT if obs.status is not None and 400 <= obs.status < 500 else Verdict.FAILED
    return Finding(verdict, f"HTTP {obs.status} {obs.reason} (RFC 6455 4.2.1 wants 400)".strip(),
                   str(obs.status), observed)


def judge_upgrade_bad_version(obs: UpgradeObservation) -> Finding:
    found = _broken(obs)
    if found is not None:
        return found
    observed = {"status": obs.status, "sec_websocket_version": obs.version_header}
    versions = _tokens(obs.version_header)
    if obs.status == 426 and "13" in versions:
        return Finding(Verdict.OK, f"HTTP 426 with Sec-WebSocket-Version: {obs.version_header}",
                       "426", observed)
    if obs.status is not None and 400 <= obs.status < 500:
        header = (f"Sec-WebSocket-Version: {obs.version_header}" if obs.version_header
                  else "no Sec-WebSocket-Version")
        return Finding(Verdict.NON_STRICT, f"HTTP {obs.status} {obs.reason}, {header} (RFC 6455 "
                       "4.4 wants 426 listing version 13)", str(obs.status), observed)
    return Finding(Verdict.FAILED, f"HTTP {obs.status} {obs.reason}", str(obs.status), observed)


# -- TLS ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsObservation:
    """Two TLS handshakes on the wss URL: chain only, then chain + host name."""

    url: str | None
    chain_error: str | None = None
    hostname_error: str | None = None
    subject: str = ""
    issuer: str = ""
    not_after: str = ""
    error: str | None = None


def _tls_observed(obs: TlsObservation) -> dict[str, Any]:
    return {"url": obs.url, "subject": obs.subject or None, "issuer": obs.issuer or None,
            "not_after": obs.not_after or None}


def _tls_unavailable(obs: TlsObservation) -> Finding | None:
    """The finding when there was no TLS to judge: no wss:// URL, or no connection."""
    if obs.url is None:
        return Finding(Verdict.UNIMPLEMENTED, "no wss:// URL to check", "no TLS")
    if obs.error is not None:
        return Finding(Verdict.FAILED, f"TLS connection failed: {obs.error}", "no connection",
                       _tls_observed(obs))
    return None


def judge_tls_chain(obs: TlsObservation) -> Finding:
    unavailable = _tls_unavailable(obs)
    if unavailable is not None:
        return unavailable
    if obs.chain_error is not None:
        return Finding(Verdict.FAILED, f"the certificate chain does not verify: {obs.chain_error}",
                       "untrusted", _tls_observed(obs))
    return Finding(Verdict.OK, f"the chain verifies: {obs.subject} issued by {obs.issuer}, valid "
                   f"until {obs.not_after}", "verifies", _tls_observed(obs))


def judge_tls_hostname(obs: TlsObservation) -> Finding:
    unavailable = _tls_unavailable(obs)
    if unavailable is not None:
        return unavailable
    if obs.chain_error is not None:
        return Finding(Verdict.FAILED, "the host name cannot be trusted: the chain does not "
                       f"verify ({obs.chain_error})", "untrusted", _tls_observed(obs))
    if obs.hostname_error is not None:
        return Finding(Verdict.FAILED, f"the certificate is not valid for the URL's host: "
                       f"{obs.hostname_error}", "wrong name", _tls_observed(obs))
    return Finding(Verdict.OK, "the certificate is valid for the URL's host name", "matches",
                   _tls_observed(obs))
