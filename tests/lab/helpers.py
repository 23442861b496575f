"""Client-side helpers for the lab tests: sessions through a proxy, whoami, checks."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections import Counter
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from tests.utils import UNIT
from wsbench.lab import AFFINITY_COOKIE, Lab, LabNet
from wsbench.lab.probe import echo_once, open_session, whoami


async def ask(lab: Lab, proxy: str, path: str = "/", *, tls: bool = False, host: str | None = None,
              source: str | None = None, cookie: str | None = None) -> tuple[dict, list[str]]:
    """One session: upgrade, echo, whoami; returns (whoami, Set-Cookie headers)."""
    headers = {"Cookie": cookie} if cookie else None
    async with open_session(lab.url(proxy, path, tls=tls), host_header=host, ca_file=lab.ca_file,
                            source=source, headers=headers, timeout=10 * UNIT) as ws:
        await echo_once(ws)
        me = await whoami(ws)
        me["headers"] = {str(k).lower(): v for k, v in me["headers"].items()}
        return me, ws.response.headers.get_all("Set-Cookie")


async def spread(lab: Lab, proxy: str, sessions: int, concurrency: int = 60) -> Counter[str]:
    """Open ``sessions`` sessions (at most ``concurrency`` at once); pods that served them."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> str:
        async with gate:
            me, _ = await ask(lab, proxy)
            return str(me["pod"])

    return Counter(await asyncio.gather(*(one() for _ in range(sessions))))


async def idle_close_after(lab: Lab, proxy: str, limit: float) -> float | None:
    """Seconds until the proxy closes an idle session (no pings), None if still open at ``limit``."""
    async with open_session(lab.url(proxy), ca_file=lab.ca_file) as ws:
        await echo_once(ws)
        started = time.monotonic()
        try:
            await asyncio.wait_for(ws.recv(), limit)
        except TimeoutError:
            await echo_once(ws)  # still usable
            return None
        except Exception:  # noqa: BLE001 - any close counts
            pass
        return time.monotonic() - started


def route_cookie(set_cookie: list[str], pod: str) -> str:
    """The cookie to send back: the proxy's, or (httpd, which sets none on a 101) the route."""
    for header in set_cookie:
        if header.startswith(AFFINITY_COOKIE + "="):
            return header.split(";", 1)[0]
    return f"{AFFINITY_COOKIE}=.{pod}"


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state on this machine (IPv4 and IPv6)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A":
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _ip_lines(*args: str) -> list[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.splitlines()


def net_leftovers(net: LabNet | None) -> list[str]:
    """What of a ``--netns`` lab's network still exists: namespaces, veths, its route."""
    if net is None:
        return []
    namespaces = {line.split()[0] for line in _ip_lines("netns", "list") if line.strip()}
    left = [f"namespace {pod.netns}" for pod in net.pods if pod.netns in namespaces]
    left += [f"veth {pod.host_if}" for pod in net.pods if Path(f"/sys/class/net/{pod.host_if}").exists()]
    block = IPv4Network(net.block)
    for line in _ip_lines("-4", "-o", "addr", "show"):
        words = line.split()
        if "inet" in words and IPv4Interface(words[words.index("inet") + 1]).ip in block:
            left.append(f"address {words[words.index('inet') + 1]} on {words[1]}")
    if any(line.split()[:2] == ["unreachable", net.block] for line in _ip_lines("-4", "-o", "route", "show", "table", "all")):
        left.append(f"route unreachable {net.block}")
    return left


def tcp_listeners(pid: int) -> set[tuple[str, int]]:
    """(address, port) of IPv4 TCP listeners in the network namespace of ``pid``."""
    found = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":
            address, port = fields[1].split(":")
            found.add((str(IPv4Address(socket.ntohl(int(address, 16)))), int(port, 16)))
    return found
