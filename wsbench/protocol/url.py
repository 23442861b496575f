"""The one parser of ws:// and wss:// URLs (pure: no I/O, no name lookups).

Used by the engine (:mod:`wsbench.engine.dial`), the conformance client
(:mod:`wsbench.conform.connection`) and the scenario checks (:mod:`wsbench.scenario`). A URL
that cannot be dialled raises :class:`~wsbench.errors.UsageError` with one line naming the
URL (credentials hidden): a scheme other than ws/wss, a malformed authority (``ws://[::1/``),
no host, a port that is not a number in 1..65535.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from wsbench.errors import UsageError

__all__ = ["WsUrl", "parse_ws_url", "hide_credentials"]

_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")


def hide_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` shown as ``***@`` (no parsing: never raises)."""
    return _USERINFO.sub(r"\1***@", url)


@dataclass(frozen=True)
class WsUrl:
    """Where a ws:// or wss:// URL points."""

    url: str
    secure: bool
    host: str  # without brackets: an IPv6 literal is "::1"
    port: int
    resource: str  # path and query, as sent in the request line ("/" at least)
    literal_ip: bool  # host is an IP address: no DNS lookup

    @classmethod
    def parse(cls, url: str) -> WsUrl:
        """:func:`parse_ws_url`."""
        return parse_ws_url(url)

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.secure else 80)

    @property
    def host_header(self) -> str:
        """The Host header's value: IPv6 in brackets, the port unless it is the default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"


def parse_ws_url(url: str) -> WsUrl:
    """Parse ``url``; :class:`UsageError` (one line) when it cannot be dialled."""
    shown = hide_credentials(url)
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. "Invalid IPv6 URL"
        raise UsageError(f"malformed URL {shown!r}: {exc}") from None
    if parts.scheme not in ("ws", "wss"):
        raise UsageError(f"expected a ws:// or wss:// URL, got {shown!r}")
    try:
        port = parts.port
    except ValueError:  # not a number, or out of 0..65535
        raise UsageError(f"bad port in {shown!r}") from None
    host = parts.hostname
    if not host:
        raise UsageError(f"no host in {shown!r}")
    if port == 0:
        raise UsageError(f"port 0 in {shown!r}")
    secure = parts.scheme == "wss"
    try:
        ipaddress.ip_address(host)
        literal = True
    except ValueError:
        literal = False
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return WsUrl(url=url, secure=secure, host=host, port=port or (443 if secure else 80),
                 resource=resource, literal_ip=literal)
