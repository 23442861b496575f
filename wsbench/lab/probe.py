"""Talk to a lab endpoint: one real upgrade + echo (readiness), ``whoami``.

Readiness is never a TCP connect: Traffic Server accepts before it can proxy.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect

from wsbench.errors import ProbeFailed

__all__ = ["ssl_context", "open_session", "echo_once", "whoami", "wait_ready", "ProbeFailed"]


def ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context that trusts the lab's CA."""
    context = ssl.create_default_context(cafile=ca_file)
    return context


def open_session(
    url: str,
    *,
    host_header: str | None = None,
    ca_file: str | None = None,
    source: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> connect:
    """``websockets`` connect for ``url``; ``host_header`` sets Host (and SNI) but
    still connects to the address in ``url``; ``source`` binds the client address."""
    parts = urlsplit(url)
    kwargs: dict[str, Any] = {}
    target = url
    if host_header is not None:
        netloc = host_header if parts.port is None else f"{host_header}:{parts.port}"
        target = urlunsplit(parts._replace(netloc=netloc))
        kwargs["host"] = parts.hostname
        kwargs["port"] = parts.port
    if parts.scheme == "wss":
        kwargs["ssl"] = ssl_context(ca_file)
    if source is not None:
        kwargs["local_addr"] = (source, 0)
    return connect(
        target,
        proxy=None,
        ping_interval=None,
        compression=None,
        open_timeout=timeout,
        close_timeout=2,
        additional_headers=headers,
        **kwargs,
    )


async def echo_once(ws: ClientConnection, payload: str = "wsbench-lab-probe", timeout: float = 5.0) -> None:
    await ws.send(payload)
    reply = await asyncio.wait_for(ws.recv(), timeout)
    if reply != payload:
        raise ProbeFailed(f"echo mismatch: sent {payload!r}, got {reply!r:.80}")


async def whoami(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """Ask the pod behind this session who it is."""
    await ws.send("whoami")
    reply = await asyncio.wait_for(ws.recv(), timeout)
    data: dict[str, Any] = json.loads(reply)
    return data


async def wait_ready(
    url: str,
    *,
    ca_file: str | None = None,
    deadline: float,
    alive: Any = None,
) -> float:
    """Retry upgrade + echo on ``url`` until it works or ``deadline`` (monotonic) passes.

    ``alive`` is a callable returning False when the process behind died (stop early).
    Returns the seconds it took. Raises :class:`ProbeFailed`.
    """
    started = time.monotonic()
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise ProbeFailed("the process exited") from last
        try:
            remaining = max(0.5, min(3.0, deadline - time.monotonic()))
            async with open_session(url, ca_file=ca_file, timeout=remaining) as ws:
                await echo_once(ws, timeout=remaining)
            return time.monotonic() - started
        except (TimeoutError, OSError, ProbeFailed, Exception) as exc:  # noqa: BLE001
            last = exc
            await asyncio.sleep(0.05)
    raise ProbeFailed(f"no upgrade + echo on {url}: {last!r}") from last
