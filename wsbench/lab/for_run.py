"""The lab as a source of targets for ``wsbench run --lab`` (and ``conform --lab``).

Uses the running lab (``wsbench lab up``) when it has every proxy asked for; otherwise
brings one up for the run and takes it down afterwards.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from wsbench.errors import UsageError
from wsbench.lab.lab import Lab, LabOptions, missing_proxies
from wsbench.lab.proxies import MUST_WORK, PROXIES
from wsbench.lab.state import LAB_NAME_ENV
from wsbench.scenario import Target

__all__ = ["LabTargets", "lab_targets", "parse_lab_names"]


@dataclass(frozen=True)
class LabTargets:
    """Where to send load, and what to record about the lab in the Result."""

    urls: dict[str, str]
    ca_file: str | None
    fingerprint: dict[str, Any]
    lab: Lab

    def targets(self) -> tuple[Target, ...]:
        """One target per proxy; its calibration probe goes through the same proxy to the
        lab's reference echo (so the machine factor follows the proxy path, not the pods)."""
        return tuple(Target(name, url, calibration_url=self.lab.reference_url(name))
                     for name, url in self.urls.items())


def parse_lab_names(value: Any) -> tuple[str, ...]:
    """``nginx,haproxy`` / a list / ``all`` (every must-work proxy) -> proxy names."""
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, (list, tuple)):
        names = [str(part).strip() for part in value]
    else:
        raise UsageError(f"lab: expected proxy names like nginx,haproxy or all, got {value!r}")
    if names == ["all"]:
        return MUST_WORK
    unknown = [n for n in names if n not in PROXIES]
    if unknown or not names:
        raise UsageError(f"lab: unknown proxy {unknown[0] if unknown else '(none)'!r} "
                         f"(known: {', '.join(PROXIES)}, or all)")
    return tuple(dict.fromkeys(names))


def _fingerprint(lab: Lab, names: tuple[str, ...]) -> dict[str, Any]:
    status = lab.status()
    proxies = status.get("proxies", {})
    assert isinstance(proxies, dict)
    return {
        "name": lab.name,
        "profile": lab.state.profile,
        "pods": len(status.get("pods", []) or []),  # type: ignore[arg-type]
        **({"pod_delay_ms": lab.state.pod_delay_ms} if lab.state.pod_delay_ms else {}),
        "proxies": {
            name: {"version": proxies[name].get("version"), "profile": proxies[name].get("profile")}
            for name in names
            if name in proxies
        },
    }


@contextlib.contextmanager
def lab_targets(
    names: tuple[str, ...],
    *,
    tls: bool = False,
    netns: bool = False,
    lab_name: str | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> Iterator[LabTargets]:
    """Targets through the lab's proxies.

    ``lab_name`` (or ``$WSBENCH_LAB_NAME``) names the lab: it must run those proxies, or, when
    it is not up, one is started under that name for the run and stopped afterwards. Without
    a name: the ``default`` lab when it runs those proxies, else a lab started for the run.
    """
    explicit = lab_name or os.environ.get(LAB_NAME_ENV) or None
    existing = Lab.find(explicit or "default")
    if existing is not None and existing.alive():
        urls = existing.targets(tls=tls)
        fits = all(name in urls for name in names) and (not netns or existing.state.net is not None)
        if fits:
            say(f"using the running lab {existing.name!r}")
            yield LabTargets({n: urls[n] for n in names}, existing.ca_file, _fingerprint(existing, names),
                             existing)
            return
        if explicit:
            has = ", ".join(existing.state.proxies) or "no proxy"
            need = " with --netns" if netns and existing.state.net is None else ""
            raise UsageError(f"lab {explicit!r} runs {has}; this run needs {', '.join(names)}{need} "
                             f"(wsbench lab down --name {explicit}, then lab up)")
    missing = missing_proxies(names)
    if missing:
        raise UsageError("lab: " + "; ".join(missing.values()))
    name = explicit or f"run-{os.getpid()}"
    say(f"starting lab {name!r} for this run: {', '.join(names)}")
    with Lab.up(LabOptions(proxies=names, tls=tls, netns=netns, name=name)) as lab:
        urls = lab.targets(tls=tls)
        yield LabTargets({n: urls[n] for n in names}, lab.ca_file, _fingerprint(lab, names), lab)
