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

__all__ = ["machine_facts"]


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
