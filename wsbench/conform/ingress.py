"""The ingress group's probes (asyncio, raw sockets): what each check does on the wire.

Each probe records what it saw in an observation of
:mod:`wsbench.conform.ingress_rules`, which holds the verdict rules. Checks that
share a probe share one run of it (``origin``, ``x-forwarded-for`` and ``host`` read
one ``whoami``; both idle checks come from one pair of sessions). Every wait is
bounded by the run's ``timeout``; only the idle probe waits longer, up to
:attr:`IngressOptions.idle_bound`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wsbench.conform.cases.ingress import IngressCheck
from wsbench.conform.connection import Connection, HandshakeError, Target, WireLog, open_connection
from wsbench.conform.ingress_rules import (
    AffinityObservation,
    Finding,
    HeaderObservation,
    HeaderRoutingObservation,
    IdleObservation,
    MaxMessageObservation,
    NegotiationObservation,
    TlsObservation,
    UpgradeObservation,
    Whoami,
    bisect_sizes,
    judge_affinity,
    judge_deflate,
    judge_forwarded_for,
    judge_header_routing,
    judge_host,
    judge_idle_timeout,
    judge_max_message,
    judge_origin,
    judge_ping_keepalive,
    judge_subprotocol,
    judge_tls_chain,
    judge_tls_hostname,
    judge_upgrade_bad_version,
    judge_upgrade_no_key,
)
from wsbench.conform.model import Blob, CloseVerdict
from wsbench.conform.result import CaseResult
from wsbench.errors import UsageError
from wsbench.protocol.deflate import DeflateOffer

__all__ = ["IngressOptions", "IngressRun", "RULES"]

_MIB = 1 << 20
#: bytes per second assumed when bounding the wait for a big echo (on top of the timeout)
_SLOW_PATH_BPS = 5 * _MIB


@dataclass(frozen=True)
class IngressOptions:
    """How to run the ingress checks.

    ``idle_bound``: seconds to wait for the idle timeout (None: the idle checks do not run).
    ``max_message_bound`` / ``max_message_resolution``: the largest message tried, and
    how close the bisection gets. ``affinity_path``: the path of the affinity sessions
    (None: the URL's); ``expect_affinity``: spreading over pods is FAILED, not
    INFORMATIONAL. ``tls_url``: a wss:// URL for the certificate checks (None: the URL
    itself when it is wss://); ``ca_file``: CAs to trust there (None: the system's).
    """

    idle_bound: float | None = None
    max_message_bound: int = 16 * _MIB
    max_message_resolution: int = 1024
    affinity_path: str | None = None
    expect_affinity: bool = False
    affinity_sessions: int = 5
    tls_url: str | None = None
    ca_file: str | None = None
    subprotocols: tuple[str, ...] = ("wsbench.echo", "chat")
    #: the Origin to send; None: the target's own (``http://host:port``, https for wss)
    origin: str | None = None
    #: header-based routing: ``NAME: VALUE`` that should route to pods named ``route_pod_prefix*``
    #: (the lab: ``X-Canary: always`` -> ``alt-*``); None: the check is not run
    route_header: str | None = None
    route_pod_prefix: str = "alt-"
    route_sessions: int = 4

    def __post_init__(self) -> None:
        if self.idle_bound is not None and not self.idle_bound > 0:
            raise UsageError(f"idle bound must be > 0 seconds, got {self.idle_bound}")
        if self.max_message_bound < 1 or self.max_message_resolution < 1:
            raise UsageError("max message bound and resolution must be >= 1 byte")
        if self.affinity_sessions < 2:
            raise UsageError("affinity needs at least 2 sessions")
        if self.tls_url is not None and not self.tls_url.startswith("wss://"):
            raise UsageError(f"the TLS URL must start with wss://, got {self.tls_url!r}")

    def to_json(self) -> dict[str, Any]:
        return {"idle_bound_s": self.idle_bound, "max_message_bound": self.max_message_bound,
                "affinity_path": self.affinity_path, "expect_affinity": self.expect_affinity,
                "tls_url": self.tls_url}


#: check id -> (the observation -> finding) rule
RULES: dict[str, Callable[[Any], Finding]] = {
    "ingress.idle-timeout": judge_idle_timeout,
    "ingress.ping-keepalive": judge_ping_keepalive,
    "ingress.max-message": judge_max_message,
    "ingress.subprotocol": judge_subprotocol,
    "ingress.deflate": judge_deflate,
    "ingress.origin": judge_origin,
    "ingress.x-forwarded-for": judge_forwarded_for,
    "ingress.host": judge_host,
    "ingress.affinity": judge_affinity,
    "ingress.header-routing": judge_header_routing,
    "ingress.upgrade-no-key": judge_upgrade_no_key,
    "ingress.upgrade-bad-version": judge_upgrade_bad_version,
    "ingress.tls-chain": judge_tls_chain,
    "ingress.tls-hostname": judge_tls_hostname,
}


class IngressRun:
    """The ingress checks against one target; each probe runs at most once."""

    def __init__(self, target: Target, *, options: IngressOptions, timeout: float,
                 ssl_context: ssl.SSLContext | None = None, wire_log_lines: int = 40) -> None:
        self.target = target
        self.options = options
        self.timeout = timeout
        self._ssl = ssl_context
        self._log_lines = wire_log_lines
        self._probes: dict[str, asyncio.Task[Any]] = {}
        self._logs: dict[str, WireLog] = {}
        self._probe_ms: dict[str, float] = {}

    async def run(self, check: IngressCheck) -> CaseResult:
        """Run (or join) the check's probe and judge what it saw."""
        observation = await self._shared(check.probe)
        finding = RULES[check.id](observation)
        return CaseResult(
            id=check.id, group=check.group, description=check.description,
            expectation=check.expectation, verdict=finding.verdict, close=CloseVerdict.NOT_JUDGED,
            reason=finding.reason, duration_ms=round(self._probe_ms.get(check.probe, 0.0), 3),
            observed={"value": finding.value, **finding.observed},
            wire_log=self._logs[check.probe].export())

    def _shared(self, probe: str) -> Awaitable[Any]:
        if probe not in self._probes:
            self._logs[probe] = WireLog(limit=self._log_lines)
            self._probes[probe] = asyncio.ensure_future(self._timed(probe))
        return self._probes[probe]

    async def _timed(self, probe: str) -> Any:
        started = time.monotonic_ns()
        method: Callable[[WireLog], Awaitable[Any]] = getattr(self, f"_probe_{probe.replace('-', '_')}")
        try:
            return await method(self._logs[probe])
        finally:
            self._probe_ms[probe] = (time.monotonic_ns() - started) / 1e6

    # -- helpers ------------------------------------------------------------------------

    async def _open(self, log: WireLog, target: Target | None = None, **kwargs: Any) -> Connection:
        return await open_connection(target or self.target, timeout=self.timeout, log=log,
                                     ssl_context=self._ssl, **kwargs)

    async def _close(self, conn: Connection) -> None:
        try:
            if conn.can_send:
                await conn.send_close(1000)
            await conn.wait_for(lambda: conn.finished, self.timeout)
        finally:
            await conn.aclose()

    async def _exchange(self, conn: Connection, payload: bytes, *, is_binary: bool = False,
                        timeout: float | None = None) -> bytes | None:
        """Send one message and return the next message that comes back (None: none did)."""
        before = len(conn.events)

        def answered() -> bool:
            return any(e.kind == "message" for e in conn.events[before:]) or not conn.can_send

        await conn.send_frames(conn.message_frames(payload, is_binary=is_binary))
        await conn.wait_for(answered, timeout or self.timeout)
        for event in conn.events[before:]:
            if event.kind == "message":
                return event.data.materialise()
        return None

    async def _whoami(self, conn: Connection) -> tuple[Whoami | None, str]:
        reply = await self._exchange(conn, b"whoami")
        if reply is None:
            return None, "(no answer)"
        shown = reply[:60].decode("utf-8", "replace") + ("…" if len(reply) > 60 else "")
        return Whoami.parse(reply), shown

    @staticmethod
    def _ending(conn: Connection) -> tuple[str, int | None]:
        """How the connection ended, and the code of the close frame if one came."""
        if conn.server_close is not None:
            code = conn.server_close.code
            reason = f" {conn.server_close.reason!r}" if conn.server_close.reason else ""
            return f"close frame {code if code is not None else '(no code)'}{reason}", code
        if conn.violation is not None:
            return f"protocol violation: {conn.violation}", None
        if conn.reset:
            return "TCP reset without a close frame (the client sees 1006)", None
        if conn.eof:
            return "TCP closed without a close frame (the client sees 1006)", None
        return "still open", None

    # -- probes -------------------------------------------------------------------------

    async def _probe_idle(self, log: WireLog) -> IdleObservation:
        bound = self.options.idle_bound
        if bound is None:  # pragma: no cover - choose_cases leaves the idle checks out
            raise UsageError("the idle checks need an idle bound")
        interval = max(0.05, min(1.0, bound / 10))
        idle_log = WireLog(limit=self._log_lines)
        try:
            idle = await self._open(idle_log)
        except HandshakeError as exc:
            return IdleObservation(bound, error=str(exc), ping_interval_s=interval)
        try:
            pinged = await self._open(log)
        except HandshakeError as exc:
            await self._close(idle)
            return IdleObservation(bound, error=str(exc), ping_interval_s=interval)
        idle_closed: asyncio.Future[float | None] = asyncio.get_running_loop().create_future()
        try:
            (closed_after, how, code, error), pinged_result = await asyncio.gather(
                self._idle_session(idle, bound, idle_closed),
                self._pinged_session(pinged, bound, interval, idle_closed))
        finally:
            await asyncio.gather(self._close(idle), self._close(pinged))
        for line in idle_log.export():
            log.add("..", f"[idle session] {line}")
        pinged_closed, pinged_how, pinged_for, pongs = pinged_result
        return IdleObservation(bound, closed_after, how, code, interval, pinged_closed, pinged_how,
                               pinged_for, pongs, error=error)

    async def _idle_session(self, conn: Connection, bound: float, closed: asyncio.Future[float | None]
                            ) -> tuple[float | None, str, int | None, str | None]:
        try:
            if await self._exchange(conn, b"wsbench idle session") is None:
                how, _ = self._ending(conn)
                return None, "", None, f"no echo before going idle: {how}"
            started = time.monotonic()
            before = len(conn.events)
            conn.log.add("..", f"idle: no pings, waiting up to {bound:g} s")
            ended = await conn.wait_for(lambda: not conn.can_send, bound)
            elapsed = time.monotonic() - started
            pings = sum(1 for e in conn.events[before:] if e.kind == "ping")
            note = f"; the server pinged {pings} times meanwhile" if pings else ""
            if not ended:
                return None, f"still open{note}", None, None
            how, code = self._ending(conn)
            closed.set_result(elapsed)
            return round(elapsed, 3), how + note, code, None
        finally:
            if not closed.done():
                closed.set_result(None)

    async def _pinged_session(self, conn: Connection, bound: float, interval: float,
                              idle_closed: asyncio.Future[float | None]
                              ) -> tuple[float | None, str, float, int]:
        if await self._exchange(conn, b"wsbench pinged session") is None:
            how, _ = self._ending(conn)
            return 0.0, f"no echo before pinging: {how}", 0.0, 0
        started = time.monotonic()
        deadline = started + bound
        pongs = 0
        while True:
            if idle_closed.done():
                idle = idle_closed.result()
                if idle is not None:  # outlive the idle session by a clear margin
                    deadline = started + max(idle * 1.5, idle + 1.0)
            now = time.monotonic()
            if now >= deadline:
                return None, "", now - started, pongs
            if await conn.sync(min(self.timeout, interval * 4)):
                pongs += 1
            # the deadline moves at most one interval late: it always lies >= 1 s past the
            # idle timeout, and an interval is at most 1 s
            pause = max(0.0, min(interval, deadline - time.monotonic()))
            if await conn.wait_for(lambda: not conn.can_send, pause):
                elapsed = time.monotonic() - started
                how, _ = self._ending(conn)
                return round(elapsed, 3), how, elapsed, pongs

    async def _probe_max_message(self, log: WireLog) -> MaxMessageObservation:
        bound = self.options.max_message_bound
        search = bisect_sizes(bound, resolution=self.options.max_message_resolution)
        size = next(search)
        tries = 0
        how_failed = ""
        while True:
            passed, how = await self._try_message(log, size)
            tries += 1
            if not passed:
                how_failed = how
            log.add("..", f"{size} bytes: {'intact' if passed else how}")
            try:
                size = search.send(passed)
            except StopIteration as stop:
                largest, smallest = stop.value
                return MaxMessageObservation(bound, largest, smallest, how_failed, tries)

    async def _try_message(self, log: WireLog, size: int) -> tuple[bool, str]:
        quiet = WireLog(limit=4)  # one line per try in the check's own log
        try:
            conn = await self._open(quiet)
        except HandshakeError as exc:
            return False, f"upgrade failed: {exc}"
        try:
            payload = Blob(b"wsbench-max-message/", size).materialise()
            reply = await self._exchange(conn, payload, is_binary=True,
                                         timeout=self.timeout + size / _SLOW_PATH_BPS)
            if reply is None:
                how, _ = self._ending(conn)
                return False, ("no echo within the timeout" if how == "still open" else how)
            if reply != payload:
                return False, f"the echo differs ({len(reply)} bytes came back)"
            return True, ""
        finally:
            await self._close(conn)

    async def _probe_whoami(self, log: WireLog, headers: dict[str, str] | None = None
                            ) -> HeaderObservation:
        sent = {"host": self.target.host_header, **{k.lower(): v for k, v in (headers or {}).items()}}
        try:
            conn = await self._open(log, extra_headers=headers)
        except HandshakeError as exc:
            status = exc.response.status if exc.response is not None else None
            return HeaderObservation(sent, error=str(exc), status=status)
        try:
            pod, reply = await self._whoami(conn)
            return HeaderObservation(sent, conn.local_address, pod, reply)
        finally:
            await self._close(conn)

    async def _probe_origin(self, log: WireLog) -> HeaderObservation:
        scheme = "https" if self.target.secure else "http"
        origin = self.options.origin or f"{scheme}://{self.target.host_header}"
        return await self._probe_whoami(log, {"Origin": origin})

    async def _probe_subprotocol(self, log: WireLog) -> NegotiationObservation:
        offered = ", ".join(self.options.subprotocols)
        try:
            conn = await self._open(log, protocols=self.options.subprotocols)
        except HandshakeError as exc:
            if exc.response is not None and exc.response.status == 101:
                return NegotiationObservation(
                    offered, exc.response.header("sec-websocket-protocol"), problem=str(exc))
            return NegotiationObservation(offered, error=str(exc))
        try:
            answered = conn.response.header("sec-websocket-protocol") if conn.response else None
            pod, _ = await self._whoami(conn)
            return NegotiationObservation(offered, answered, pod=pod)
        finally:
            await self._close(conn)

    async def _probe_deflate(self, log: WireLog) -> NegotiationObservation:
        offer = DeflateOffer(client_max_window_bits=True)
        offered = offer.header_value()
        try:
            conn = await self._open(log, deflate=(offer,))
        except HandshakeError as exc:
            if exc.response is not None and exc.response.status == 101:
                return NegotiationObservation(
                    offered, exc.response.header("sec-websocket-extensions"), problem=str(exc))
            return NegotiationObservation(offered, error=str(exc))
        try:
            answered = conn.agreement.response if conn.agreement is not None else None
            pod, _ = await self._whoami(conn)
            payload = (b'{"wsbench": "deflate end to end", "padding": "' + b"abc" * 1000 + b'"}')
            before = conn.deflate_stats.received_compressed
            reply = await self._exchange(conn, payload)
            if conn.violation is not None:
                return NegotiationObservation(offered, answered, problem=conn.violation, pod=pod)
            return NegotiationObservation(
                offered, answered, pod=pod, echo_ok=reply == payload,
                echo_compressed=conn.deflate_stats.received_compressed > before)
        finally:
            await self._close(conn)

    async def _probe_affinity(self, log: WireLog) -> AffinityObservation:
        path = self.options.affinity_path or self.target.resource
        target = self.target.with_resource(path)
        pods: list[str] = []
        cookie: str | None = None
        for index in range(self.options.affinity_sessions):
            headers = {"Cookie": cookie} if cookie else {}
            try:
                conn = await self._open(log, target, extra_headers=headers)
            except HandshakeError as exc:
                return AffinityObservation(path, tuple(pods), cookie, self.options.expect_affinity,
                                           error=str(exc))
            try:
                if index == 0 and conn.response is not None:
                    pairs = [v.split(";", 1)[0].strip() for v in conn.response.header_list("set-cookie")]
                    cookie = "; ".join(p for p in pairs if "=" in p) or None
                pod, _ = await self._whoami(conn)
                pods.append(pod.pod if pod is not None else "")
            finally:
                await self._close(conn)
        return AffinityObservation(path, tuple(pods), cookie, self.options.expect_affinity)

    async def _probe_header_routing(self, log: WireLog) -> HeaderRoutingObservation:
        header, prefix = self.options.route_header, self.options.route_pod_prefix
        if header is None:
            return HeaderRoutingObservation(None)
        name, _, value = header.partition(":")
        seen: dict[bool, list[str]] = {True: [], False: []}
        for index in range(2 * self.options.route_sessions):
            carry = index % 2 == 0
            try:
                conn = await self._open(log, extra_headers={name.strip(): value.strip()} if carry else {})
            except HandshakeError as exc:
                return HeaderRoutingObservation(header, prefix, error=str(exc))
            try:
                pod, _ = await self._whoami(conn)
                seen[carry].append(pod.pod if pod is not None else "")
            finally:
                await self._close(conn)
        return HeaderRoutingObservation(header, prefix, tuple(seen[True]), tuple(seen[False]))

    async def _broken_upgrade(self, log: WireLog, **kwargs: Any) -> UpgradeObservation:
        try:
            conn = await self._open(log, **kwargs)
        except HandshakeError as exc:
            response = exc.response
            if response is None:
                return UpgradeObservation(None, error=str(exc))
            return UpgradeObservation(response.status, response.reason,
                                      response.header("sec-websocket-version"))
        await self._close(conn)
        return UpgradeObservation(101, "Switching Protocols")

    async def _probe_upgrade_no_key(self, log: WireLog) -> UpgradeObservation:
        return await self._broken_upgrade(log, key=None)

    async def _probe_upgrade_bad_version(self, log: WireLog) -> UpgradeObservation:
        return await self._broken_upgrade(log, version="12")

    async def _probe_tls(self, log: WireLog) -> TlsObservation:
        url = self.options.tls_url or (self.target.url if self.target.secure else None)
        if url is None:
            log.add("..", "no wss:// URL: nothing to check")
            return TlsObservation(None)
        target = Target.parse(url)
        chain = ssl.create_default_context(cafile=self.options.ca_file)
        chain.check_hostname = False
        try:
            cert = await self._tls_handshake(log, target, chain)
        except ssl.SSLCertVerificationError as exc:
            return TlsObservation(url, chain_error=exc.verify_message or str(exc))
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            return TlsObservation(url, error=f"{type(exc).__name__}: {exc}")
        names = ssl.create_default_context(cafile=self.options.ca_file)
        hostname_error = None
        try:
            await self._tls_handshake(log, target, names)
        except ssl.SSLCertVerificationError as exc:
            hostname_error = exc.verify_message or str(exc)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            return TlsObservation(url, error=f"{type(exc).__name__}: {exc}")
        return TlsObservation(url, None, hostname_error, _name(cert.get("subject")),
                              _name(cert.get("issuer")), str(cert.get("notAfter", "")))

    async def _tls_handshake(self, log: WireLog, target: Target,
                             context: ssl.SSLContext) -> dict[str, Any]:
        check = "chain + host name" if context.check_hostname else "chain"
        log.add("tx", f"TLS handshake with {target.host}:{target.port} (verify {check})")
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port, ssl=context,
                                    server_hostname=target.host), self.timeout)
        try:
            cert: dict[str, Any] = writer.get_extra_info("peercert") or {}
            log.add("rx", f"TLS ok: {_name(cert.get('subject'))}")
            return cert
        finally:
            writer.transport.abort()


def _name(rdns: Any) -> str:
    """``CN=..., O=...`` from ``getpeercert()``'s nested tuples."""
    if not rdns:
        return ""
    parts = [f"{key}={value}" for rdn in rdns for key, value in rdn]
    return ", ".join(parts)
