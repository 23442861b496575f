"""Facts about the machine a run was measured on (recorded in ``generator.machine``).

Baselines are only comparable between runs on the same kind of machine; the gate warns
when a baseline's machine differs from the run's (see ``wsbench.gate.evaluate``).
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path
from typing import Any

__all__ = ["machine_facts", "ephemeral_ports", "crowded_sources"]


def _cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_facts() -> dict[str, Any]:
    """Host name, CPU model and count, kernel: what makes two runs comparable or not."""
    return {
        "host": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count() or 0,
        "kernel": platform.release(),
    }


def ephemeral_ports(port_range: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """How many local ports the kernel gives out to connect() (0 when unknown)."""
    try:
        low, high = port_range.read_text().split()
        return int(high) - int(low) + 1
    except (OSError, ValueError):
        return 0


def crowded_sources(sessions: int, sources: int, ports: int) -> str | None:
    """A warning when ``sessions`` to one target from ``sources`` local addresses take more
    than half of each address's ``ports`` ephemeral ports (None: they do not, or unknown).

    Linux gives a connect() a local port of one parity first; once all of them are in use
    towards the target, every connect() scans them all before it takes one of the other
    parity, in the kernel: 18 us per connect below half the range, ~1 ms above (measured at
    28,232 ports, bench/README.md), enough to stall the opening of a large run.
    """
    per_source = -(-sessions // max(1, sources))
    if not ports or per_source <= ports // 2:
        return None
    return (f"{per_source:,} sessions per local address, over half of its {ports:,} ephemeral ports: "
            f"past {ports // 2:,} each connect() scans the used half first (~1 ms of kernel CPU each); "
            f"add source_addresses")
