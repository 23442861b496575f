"""The one exception tree of wsbench.

Every error says who is at fault. A user must be able to tell "your ingress dropped
12 % of sessions" (a *measurement*, never an exception) from "wsbench could not start".

    WsbenchError                     base; never raised directly
    ├── UsageError                   the user's input is wrong (exit code 2)
    │   ├── ScenarioError            a scenario key or value is wrong; names the field
    │   └── InputFileError           a file given to wsbench cannot be read or parsed
    ├── LocalError                   wsbench itself failed (could not start workers, ...)
    │   └── LabError                 a lab process (proxy, pod) failed; carries its log lines
    └── RemoteProtocolError          the target broke the WebSocket protocol

Causes are chained with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "WsbenchError",
    "UsageError",
    "ScenarioError",
    "InputFileError",
    "LocalError",
    "LabError",
    "RemoteProtocolError",
]


class WsbenchError(Exception):
    """Base class of every error wsbench raises on purpose."""


class UsageError(WsbenchError):
    """The user's input is wrong; the CLI prints one line and exits with code 2."""


class ScenarioError(UsageError):
    """A scenario field is wrong. ``field`` names it (dotted path), ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InputFileError(UsageError):
    """A file the user pointed at cannot be read or parsed."""


class LocalError(WsbenchError):
    """wsbench itself failed (not the target, not the user's input)."""


class LabError(LocalError):
    """A lab process failed; the message carries the process's own log lines."""


class RemoteProtocolError(WsbenchError):
    """The target broke the WebSocket protocol."""
