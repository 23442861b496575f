"""A disruption plan: parsed and validated, no I/O.

Text form (CLI ``--disrupt``, or a string in the scenario's ``disruptions`` list)::

    KIND@TIME[:ARG]       pod-restart@10s:pod-1    pod-kill@5:pod-0    proxy-reload@20s
                          network-cut@10s:pod-2/3s  exec@15s:kubectl delete pod echo-7d9f

or a mapping ``{kind, at, pod, duration, command}``. TIME is seconds from the start of
each target's measurement (the workers' common clock).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wsbench.errors import ScenarioError

__all__ = ["Disruption", "KINDS", "LAB_KINDS", "parse_disruption", "parse_disruptions"]

#: kind -> what it does (Kubernetes terms)
KINDS = {
    "pod-restart": "SIGTERM: the pod drains (close 1001 within its grace period), then a new pod starts",
    "pod-kill": "SIGKILL: the pod dies at once (no close frames), then a new pod starts",
    "network-cut": "the pod's link goes down for DURATION (needs lab up --netns), then comes back",
    "proxy-reload": "the proxy reloads its configuration the way its controller does",
    "exec": "run a command (e.g. kubectl rollout restart deployment/echo)",
}
LAB_KINDS = frozenset({"pod-restart", "pod-kill", "network-cut", "proxy-reload"})
_TEXT = re.compile(r"^(?P<kind>[a-z-]+)@(?P<at>[0-9.]+)(?P<unit>ms|s|m)?(?::(?P<arg>.+))?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}
_CUT = re.compile(r"^(?P<pod>[^/]+)/(?P<duration>[0-9.]+)(?P<unit>ms|s|m)?$")


@dataclass(frozen=True)
class Disruption:
    """One fault at a known time."""

    kind: str
    at_s: float
    pod: str | None = None
    duration_s: float | None = None
    command: str | None = None

    def describe(self) -> str:
        arg = self.command or (f"{self.pod}/{self.duration_s:g}s" if self.duration_s else self.pod)
        return f"{self.kind}@{self.at_s:g}s" + (f":{arg}" if arg else "")


def _problem(problem: str) -> ScenarioError:
    return ScenarioError("disruptions", problem)


def _build(kind: str, at_s: float, pod: str | None, duration: float | None, command: str | None) -> Disruption:
    if kind not in KINDS:
        raise _problem(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if at_s < 0:
        raise _problem(f"{kind}: time must be >= 0, got {at_s:g}")
    if kind in ("pod-restart", "pod-kill", "network-cut") and not pod:
        raise _problem(f"{kind} needs a pod, e.g. {kind}@10s:pod-0")
    if kind == "network-cut" and not duration:
        raise _problem("network-cut needs a duration, e.g. network-cut@10s:pod-0/3s")
    if kind == "exec" and not command:
        raise _problem("exec needs a command, e.g. exec@10s:kubectl delete pod echo-0")
    return Disruption(kind=kind, at_s=at_s, pod=pod, duration_s=duration, command=command)


def parse_disruption(value: Any) -> Disruption:
    """One disruption from its text form or a mapping."""
    if isinstance(value, str):
        match = _TEXT.match(value.strip())
        if not match:
            raise _problem(f"expected KIND@TIME[:ARG] like pod-restart@10s:pod-0, got {value!r}")
        kind, arg = match["kind"], match["arg"]
        at_s = float(match["at"]) * _UNITS[match["unit"]]
        pod = duration = command = None
        if kind == "exec":
            command = arg
        elif kind == "network-cut" and arg:
            cut = _CUT.match(arg)
            if not cut:
                raise _problem(f"network-cut: expected POD/DURATION like pod-0/3s, got {arg!r}")
            pod, duration = cut["pod"], float(cut["duration"]) * _UNITS[cut["unit"]]
        else:
            pod = arg
        return _build(kind, at_s, pod, duration, command)
    if isinstance(value, Mapping):
        unknown = set(value) - {"kind", "at", "pod", "duration", "command"}
        if unknown:
            raise _problem(f"unknown key {sorted(unknown)[0]!r} in {dict(value)!r}")
        try:
            at_s = float(str(value.get("at", "")).rstrip("s"))
            duration = float(str(value["duration"]).rstrip("s")) if value.get("duration") else None
        except ValueError:
            raise _problem(f"bad time in {dict(value)!r}") from None
        return _build(str(value.get("kind", "")), at_s, value.get("pod"), duration, value.get("command"))
    raise _problem(f"expected KIND@TIME[:ARG] or a mapping, got {value!r}")


def parse_disruptions(value: Any) -> tuple[Disruption, ...]:
    """A plan, sorted by time."""
    if value is None:
        return ()
    items = [value] if isinstance(value, (str, Mapping)) else value
    if not isinstance(items, (list, tuple)):
        raise _problem(f"expected a list, got {value!r}")
    return tuple(sorted((parse_disruption(item) for item in items), key=lambda d: d.at_s))
