"""A Locust user that holds one WebSocket session and measures it like wsbench's engine.

The upgrade is timed phase by phase (DNS, TCP, TLS, HTTP until 101) and every echo is
matched to its request by the stamp's sequence number. Measurements go to Locust as
``request`` events (so Locust's own stats and UI work) and carry the exact values in
``context`` for :mod:`wsbench.locust.results`, which builds a wsbench Result.

    from wsbench.locust import WebSocketUser
    class Echo(WebSocketUser):
        @task
        def echo(self):
            self.echo()
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from locust import User
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from wsbench.protocol.failures import classify_error
from wsbench.protocol.stamp import read_seq, stamp_factory

__all__ = ["WebSocketUser", "REQUEST_TYPE"]

REQUEST_TYPE = "WS"


def _ms(ns: int) -> float:
    return ns / 1e6


class WebSocketUser(User):  # type: ignore[misc]
    """One WebSocket session per user; ``host`` is the ws:// or wss:// URL."""

    abstract = True
    message_size: int = 32
    binary: bool = False
    reply_timeout: float = 5.0
    connect_timeout: float = 10.0
    ca_file: str | None = None
    insecure: bool = False
    headers: dict[str, str] = {}  # noqa: RUF012 - class-level default, copied per user
    subprotocols: tuple[str, ...] = ()

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.ws: ClientConnection | None = None
        self._make = stamp_factory(self.message_size)
        self._seq = 0

    # --- Locust hooks ---------------------------------------------------------------

    def on_start(self) -> None:
        self.connect()

    def on_stop(self) -> None:
        self.close()

    # --- session ----------------------------------------------------------------------

    def _fire(self, name: str, ms: float, *, length: int = 0, exception: BaseException | None = None,
              **context: Any) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name, response_time=ms, response_length=length,
            exception=exception, context=context,
        )

    def connect(self) -> bool:
        """Open the session; fires ``upgrade`` (success with phases, or failure with its class)."""
        parts = urlsplit(self.host or "")
        secure = parts.scheme == "wss"
        host, port = parts.hostname or "", parts.port or (443 if secure else 80)
        start = time.monotonic_ns()
        phases: dict[str, int] = {}
        sock: socket.socket | None = None
        try:
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
                address: tuple[Any, ...] = (host, port)
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
            except OSError:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                family, address = infos[0][0], infos[0][4]
                phases["dns"] = time.monotonic_ns() - start
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tcp_start = time.monotonic_ns()
            sock.connect(address)
            phases["tcp"] = time.monotonic_ns() - tcp_start
            mark = time.monotonic_ns()
            if secure:
                context = ssl.create_default_context(cafile=self.ca_file)
                if self.insecure:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                sock = context.wrap_socket(sock, server_hostname=host)
                phases["tls"] = time.monotonic_ns() - mark
                mark = time.monotonic_ns()
            self.ws = connect(
                self.host, sock=sock, compression=None, additional_headers=self.headers or None,
                subprotocols=list(self.subprotocols) or None,  # type: ignore[arg-type]
                open_timeout=self.connect_timeout, max_size=None,
            )
            phases["http"] = time.monotonic_ns() - mark
        except Exception as exc:  # every failure is a measurement: classify it
            if sock is not None:
                sock.close()
            self._fire("upgrade", _ms(time.monotonic_ns() - start), exception=exc,
                       failure=_failure_kind(exc))
            return False
        phases["total"] = time.monotonic_ns() - start
        self._fire("upgrade", _ms(phases["total"]), phases=phases)
        return True

    def echo(self) -> float | None:
        """Send one stamped message and wait for its echo; fires ``echo`` (RTT ms) or a loss."""
        if self.ws is None and not self.connect():
            return None
        assert self.ws is not None
        seq = self._seq
        self._seq += 1
        sent_ns = time.monotonic_ns()
        message = self._make(seq, sent_ns)
        try:
            self.ws.send(message if self.binary else message.decode("ascii"))
            deadline = sent_ns + int(self.reply_timeout * 1e9)
            while True:
                remaining = (deadline - time.monotonic_ns()) / 1e9
                if remaining <= 0:
                    raise TimeoutError(f"no echo of message {seq} within {self.reply_timeout} s")
                reply = self.ws.recv(timeout=remaining)
                data = reply if isinstance(reply, bytes) else reply.encode()
                got = read_seq(data)
                if got == seq:
                    break
                self._fire("unmatched", 0.0, duplicate=0 <= got < seq)
        except TimeoutError as exc:
            self._fire("echo", _ms(time.monotonic_ns() - sent_ns), exception=exc, lost=True)
            return None
        except ConnectionClosed as exc:
            self._closed(exc, lost=1)
            return None
        rtt_ns = time.monotonic_ns() - sent_ns
        self._fire("echo", _ms(rtt_ns), length=len(data), rtt_ns=rtt_ns)
        return rtt_ns / 1e6

    def close(self) -> None:
        """Close from the client side (code 1000)."""
        if self.ws is None:
            return
        ws, self.ws = self.ws, None
        ws.close()
        self._fire("close", 0.0, code=1000, side="client", dropped=False)

    def _closed(self, exc: ConnectionClosed, *, lost: int) -> None:
        self.ws = None
        received = exc.rcvd
        code = received.code if received is not None else 1006
        side = "server" if received is not None else "abnormal"
        self._fire("close", 0.0, exception=exc, code=code, side=side, dropped=True, lost=lost)


def _failure_kind(exc: BaseException) -> str:
    """The upgrade failure in the one vocabulary (:mod:`wsbench.protocol.failures`)."""
    if isinstance(exc, InvalidStatus):
        return f"http_{exc.response.status_code}"
    if isinstance(exc, socket.gaierror):
        return "dns"
    if isinstance(exc, ConnectionClosed):
        return "closed_before_101"
    return classify_error(exc).kind
