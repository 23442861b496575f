"""Opening a connection phase by phase, each timed: DNS, TCP connect, TLS.

The HTTP upgrade is done by the transport (picows or websockets) on the socket made
here; TLS is timed by an ``SSLObject`` subclass that notes when its handshake
completes, so the TLS and HTTP phases are measured separately even though the
transport drives both.
"""

from __future__ import annotations

import _socket
import asyncio
import contextlib
import socket
import ssl
import time
from collections.abc import Callable

from wsbench.errors import UpgradeFailure, UsageError
from wsbench.protocol.failures import classify_error
from wsbench.protocol.url import WsUrl

__all__ = ["UpgradeFailure", "dial", "make_ssl_context", "tls_done_ns", "classify_error",
           "upgrade_phases", "tcp_end", "ended_before_101"]

_TCP_CLOSE = 7  # Linux tcp_states.h: TCP_CLOSE (after a RST); TCP_CLOSE_WAIT (8) after a FIN

class _Socket(socket.socket):
    """A ``socket.socket`` whose ``family`` and ``type`` are plain ints.

    The event loop reads both several times per connection; ``socket.socket`` makes an
    enum member each time (~10 enum calls per open, measured).
    """

    __slots__ = ()
    family = property(_socket.socket.family.__get__)  # type: ignore[assignment]
    type = property(_socket.socket.type.__get__)  # type: ignore[assignment]


#: Linux's IP_BIND_ADDRESS_NO_PORT (``socket`` has no name for it in Python 3.11)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


class _TimedSSLObject(ssl.SSLObject):
    """Notes the time (its ``clock``) at which the TLS handshake completed."""

    handshake_done_ns = 0
    clock: Callable[[], int] = staticmethod(time.monotonic_ns)

    def do_handshake(self) -> None:
        super().do_handshake()
        self.handshake_done_ns = self.clock()


def make_ssl_context(*, ca_file: str | None, insecure: bool,
                     clock: Callable[[], int] = time.monotonic_ns) -> ssl.SSLContext:
    """A client context whose handshakes are timed by ``clock`` (see :func:`tls_done_ns`)."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (ssl.SSLError, OSError, ValueError) as exc:  # not a PEM bundle, unreadable
        raise UsageError(f"ca_file: {ca_file!r} is not a readable PEM CA bundle "
                         f"({getattr(exc, 'reason', None) or type(exc).__name__})") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if clock is time.monotonic_ns:
        context.sslobject_class = _TimedSSLObject
    else:
        context.sslobject_class = type("_TimedSSLObject", (_TimedSSLObject,), {"clock": staticmethod(clock)})
    return context


def tls_done_ns(transport: asyncio.BaseTransport | None) -> int:
    """When the TLS handshake of ``transport`` completed (0 if unknown or not TLS)."""
    if transport is None:
        return 0
    ssl_object = transport.get_extra_info("ssl_object")
    return int(getattr(ssl_object, "handshake_done_ns", 0))


async def dial(
    endpoint: WsUrl, *, source: str | None, timeout: float | None,
    clock: Callable[[], int] = time.monotonic_ns,
) -> tuple[socket.socket, int, int]:
    """A connected non-blocking TCP socket, the DNS time and the TCP connect time (ns).

    ``timeout`` bounds the lookup and the connect each; None: the caller bounds them.
    """
    loop = asyncio.get_running_loop()
    start = clock()
    if endpoint.literal_ip:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        address: tuple = (endpoint.host, endpoint.port)
        dns_ns = 0
    else:
        try:
            async with asyncio.timeout(timeout):
                infos = await loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise UpgradeFailure("timeout", "DNS") from None
        except OSError as exc:
            raise UpgradeFailure("dns", str(exc)) from exc
        if not infos:
            raise UpgradeFailure("dns", f"no address for {endpoint.host}")
        family, _, _, _, address = infos[0]
        dns_ns = clock() - start
    sock = _Socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            # the port is chosen at connect(), by the whole 4-tuple: bind(port 0) alone
            # searches for a port no socket holds, O(ports in use) in the kernel (2.5 ms
            # per bind at 20k TIME_WAIT sockets), and caps a source at ~28k sessions
            with contextlib.suppress(OSError):  # not Linux: bind as before
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((source, 0))
        tcp_start = clock()
        if timeout is None:
            await loop.sock_connect(sock, address)
        else:
            async with asyncio.timeout(timeout):  # no extra Task per connect (wait_for makes one)
                await loop.sock_connect(sock, address)
        tcp_ns = clock() - tcp_start
    except BaseException as exc:
        sock.close()
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            raise UpgradeFailure("timeout", "TCP connect") from None
        if isinstance(exc, OSError):
            raise classify_error(exc) from exc
        raise
    return sock, dns_ns, tcp_ns


def tcp_end(sock: object) -> str:
    """How the peer ended a connection that closed without a close frame: ``reset`` (RST)
    or ``eof`` (FIN), from the kernel's TCP state of ``sock`` (a socket whose descriptor is
    still open); ``eof`` when it cannot be read."""
    try:
        state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]  # type: ignore[attr-defined]
    except (OSError, AttributeError, TypeError, IndexError):
        return "eof"
    return "reset" if state == _TCP_CLOSE else "eof"


def ended_before_101(spare: socket.socket | None) -> UpgradeFailure:
    """The upgrade failure of a connection the peer ended before the 101: ``reset`` or
    ``closed_before_101``, read on ``spare`` (a duplicate of its descriptor), then closed."""
    if spare is None:
        return UpgradeFailure("closed_before_101", "connection closed before the 101")
    try:
        how = tcp_end(spare)
    finally:
        spare.close()
    if how == "reset":
        return UpgradeFailure("reset", "connection reset before the 101")
    return UpgradeFailure("closed_before_101", "connection closed before the 101")


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
