"""The HTTP/1.1 upgrade (RFC 6455 section 4), built by hand so it can also be broken.

Pure code. :func:`build_request` writes an upgrade request in which any header can
be changed or left out (a missing ``Sec-WebSocket-Key``, a wrong version);
:func:`parse_response` reads the server's answer once its head is complete, and
:func:`check_upgrade` lists what is wrong with a ``101`` (or why it is not one).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wsbench.errors import HandshakeParseError

__all__ = [
    "GUID",
    "Response",
    "new_key",
    "accept_for",
    "build_request",
    "parse_response",
    "check_upgrade",
    "parse_extensions",
]

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_MAX_HEAD = 64 * 1024


@dataclass(frozen=True)
class Response:
    """The head of an HTTP response; header names are lower-case, values joined by ``, ``.
    ``raw`` keeps every header line apart (``Set-Cookie`` values cannot be joined)."""

    status: int
    reason: str
    headers: Mapping[str, str] = field(default_factory=dict)
    raw: tuple[tuple[str, str], ...] = ()

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def header_list(self, name: str) -> list[str]:
        """Every value of header ``name``, one per header line."""
        key = name.lower()
        return [value for header, value in self.raw if header == key]


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


def accept_for(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key``."""
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def build_request(
    host: str,
    path: str,
    *,
    key: str | None,
    version: str | None = "13",
    extra: Mapping[str, str] | None = None,
) -> bytes:
    """An upgrade request. ``key``/``version`` None leaves that header out;
    ``extra`` adds or replaces headers (e.g. ``Sec-WebSocket-Protocol``, ``Origin``)."""
    headers: dict[str, str] = {
        "Host": host,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
    }
    if key is not None:
        headers["Sec-WebSocket-Key"] = key
    if version is not None:
        headers["Sec-WebSocket-Version"] = version
    headers["User-Agent"] = "wsbench-conform"
    for name, value in (extra or {}).items():
        headers[name] = value
    lines = [f"GET {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_response(buffer: bytes) -> tuple[Response, int] | None:
    """``(response, head_length)`` once ``buffer`` holds the whole head, else None.

    Raises :class:`~wsbench.errors.HandshakeParseError` for a head that is not HTTP/1.x or is larger than 64 KiB.
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > _MAX_HEAD:
            raise HandshakeParseError("response head larger than 64 KiB")
        return None
    lines = buffer[:end].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise HandshakeParseError(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    raw: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise HandshakeParseError(f"malformed header line: {line[:80]!r}")
        key = name.strip().lower()
        value = value.strip()
        raw.append((key, value))
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    reason = parts[2] if len(parts) > 2 else ""
    return Response(int(parts[1]), reason, headers, tuple(raw)), end + 4


def check_upgrade(response: Response, key: str, *, protocols: Sequence[str] = (),
                  extensions: bool = False) -> list[str]:
    """What is wrong with ``response`` as the answer to an upgrade with ``key`` (empty: fine).

    ``protocols``: the subprotocols offered (the answer may select one of them, or none);
    ``extensions``: whether extensions were offered (the caller checks the answer to
    them); without an offer, an answer that accepts an extension is wrong.
    """
    if response.status != 101:
        return [f"HTTP {response.status} {response.reason}".rstrip()]
    problems = []
    upgrade = (response.header("upgrade") or "").lower()
    if upgrade != "websocket":
        problems.append(f"Upgrade header is {upgrade!r}, not 'websocket'")
    connection = [t.strip().lower() for t in (response.header("connection") or "").split(",")]
    if "upgrade" not in connection:
        problems.append("Connection header lacks 'upgrade'")
    accept = response.header("sec-websocket-accept")
    if accept != accept_for(key):
        problems.append(f"Sec-WebSocket-Accept is {accept!r}, expected {accept_for(key)!r}")
    selected = response.header("sec-websocket-protocol")
    if selected is not None and selected not in protocols:
        problems.append(f"the server selected subprotocol {selected!r}, which was not offered")
    accepted = response.header("sec-websocket-extensions")
    if accepted and not extensions:
        problems.append(f"the server accepted extensions {accepted!r}, none were offered")
    return problems


def parse_extensions(value: str | None) -> list[tuple[str, dict[str, str | None]]]:
    """``Sec-WebSocket-Extensions`` as ``[(name, {param: value-or-None})]``."""
    result: list[tuple[str, dict[str, str | None]]] = []
    for item in (value or "").split(","):
        tokens = [t.strip() for t in item.split(";") if t.strip()]
        if not tokens:
            continue
        params: dict[str, str | None] = {}
        for token in tokens[1:]:
            name, sep, raw = token.partition("=")
            params[name.strip().lower()] = raw.strip().strip('"') if sep else None
        result.append((tokens[0].lower(), params))
    return result
