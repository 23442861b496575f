"""Opening a connection phase by phase, each timed: DNS, TCP connect, TLS.

The HTTP upgrade is done by the transport (picows or websockets) on the socket made
here; TLS is timed by an ``SSLObject`` subclass that notes when its handshake
completes, so the TLS and HTTP phases are measured separately even though the
transport drives both.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from wsbench.errors import UpgradeFailure

__all__ = ["Endpoint", "UpgradeFailure", "dial", "make_ssl_context", "tls_done_ns", "classify_error",
           "upgrade_phases"]


@dataclass(frozen=True)
class Endpoint:
    """Where a URL points, parsed once per worker."""

    url: str
    host: str
    port: int
    secure: bool
    resource: str
    literal_ip: bool

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        try:
            ipaddress.ip_address(host)
            literal = True
        except ValueError:
            literal = False
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(url=url, host=host, port=port, secure=secure, resource=resource, literal_ip=literal)


class _TimedSSLObject(ssl.SSLObject):
    """Notes the monotonic time at which the TLS handshake completed."""

    handshake_done_ns = 0

    def do_handshake(self) -> None:
        super().do_handshake()
        self.handshake_done_ns = time.monotonic_ns()


def make_ssl_context(*, ca_file: str | None, insecure: bool) -> ssl.SSLContext:
    """A client context whose handshakes can be timed (see :func:`tls_done_ns`)."""
    context = ssl.create_default_context(cafile=ca_file)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.sslobject_class = _TimedSSLObject
    return context


def tls_done_ns(transport: asyncio.BaseTransport | None) -> int:
    """When the TLS handshake of ``transport`` completed (0 if unknown or not TLS)."""
    if transport is None:
        return 0
    ssl_object = transport.get_extra_info("ssl_object")
    return int(getattr(ssl_object, "handshake_done_ns", 0))


async def dial(
    endpoint: Endpoint, *, source: str | None, timeout: float
) -> tuple[socket.socket, int, int]:
    """A connected non-blocking TCP socket, the DNS time and the TCP connect time (ns)."""
    loop = asyncio.get_running_loop()
    start = time.monotonic_ns()
    if endpoint.literal_ip:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        address: tuple = (endpoint.host, endpoint.port)
        dns_ns = 0
    else:
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM), timeout
            )
        except TimeoutError:
            raise UpgradeFailure("timeout", "DNS") from None
        except OSError as exc:
            raise UpgradeFailure("dns", str(exc)) from exc
        if not infos:
            raise UpgradeFailure("dns", f"no address for {endpoint.host}")
        family, _, _, _, address = infos[0]
        dns_ns = time.monotonic_ns() - start
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            sock.bind((source, 0))
        tcp_start = time.monotonic_ns()
        await asyncio.wait_for(loop.sock_connect(sock, address), timeout)
        tcp_ns = time.monotonic_ns() - tcp_start
    except BaseException as exc:
        sock.close()
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            raise UpgradeFailure("timeout", "TCP connect") from None
        if isinstance(exc, OSError):
            raise classify_error(exc) from exc
        raise
    return sock, dns_ns, tcp_ns


def classify_error(exc: BaseException) -> UpgradeFailure:
    """Map an exception raised while opening a session to an UpgradeFailure."""
    if isinstance(exc, UpgradeFailure):
        return exc
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return UpgradeFailure("timeout", "upgrade")
    if isinstance(exc, ssl.SSLError) or isinstance(exc, ssl.CertificateError):
        return UpgradeFailure("tls", str(exc))
    if isinstance(exc, ConnectionRefusedError):
        return UpgradeFailure("refused", str(exc))
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return UpgradeFailure("reset", str(exc))
    if isinstance(exc, EOFError) or isinstance(exc, asyncio.IncompleteReadError):
        return UpgradeFailure("closed", str(exc))
    if isinstance(exc, OSError):
        return UpgradeFailure("other", f"{type(exc).__name__}: {exc}")
    return UpgradeFailure("other", f"{type(exc).__name__}: {exc}")


def upgrade_phases(
    start_ns: int, dns_ns: int, tcp_ns: int, tls_end_ns: int, done_ns: int
) -> dict[str, int]:
    """An upgrade's phases (ns): dns (if looked up), tcp, tls (if any), http until the 101, total."""
    phases = {"tcp": tcp_ns, "total": done_ns - start_ns}
    if dns_ns:
        phases["dns"] = dns_ns
    tcp_end = start_ns + dns_ns + tcp_ns
    if tls_end_ns:
        phases["tls"] = tls_end_ns - tcp_end
        phases["http"] = done_ns - tls_end_ns
    else:
        phases["http"] = done_ns - tcp_end
    return phases
