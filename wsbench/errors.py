"""The one exception tree of wsbench.

Every error says whose fault it is (``fault``: ``"user"``, ``"peer"``, ``"lab"`` or
``"wsbench"``). A user must be able to tell "your ingress dropped 12 % of sessions" (a
*measurement*, never an exception that reaches the CLI) from "wsbench could not start".

    WsbenchError                     base; never raised directly
    ├── UsageError                   the user's input is wrong (exit code 2)        fault: user
    │   ├── ScenarioError            a scenario key or value is wrong; names the field
    │   └── InputFileError           a file given to wsbench cannot be read or parsed
    │       └── HdrDecodeError       a Result's serialised histogram is corrupt
    ├── LocalError                   wsbench itself failed (exit code 3)            fault: wsbench
    ├── LabError                     a lab member (proxy, pod, namespace) failed;   fault: lab
    │   │                            carries its log lines (exit code 3)
    │   └── ProbeFailed              a lab member did not upgrade and echo in time
    └── PeerError                    the peer (the target, or whatever answers for it)  fault: peer
        ├── RemoteProtocolError      the peer broke the WebSocket protocol
        │   └── HandshakeParseError  the peer's HTTP response head cannot be parsed
        ├── HandshakeError           the upgrade did not give a WebSocket (conformance client)
        └── UpgradeFailure           a session could not be opened; ``kind`` is its failure
                                     class in the Result (a measurement: counted, not raised
                                     past the engine)

Causes are chained with ``raise ... from exc``. Library code raises only these (or Python's
own ``ValueError``/``TypeError`` for programming errors in arguments from wsbench's own code).
"""

from __future__ import annotations

from typing import ClassVar, Literal

__all__ = [
    "Fault",
    "WsbenchError",
    "UsageError",
    "ScenarioError",
    "InputFileError",
    "HdrDecodeError",
    "LocalError",
    "LabError",
    "ProbeFailed",
    "PeerError",
    "RemoteProtocolError",
    "HandshakeParseError",
    "HandshakeError",
    "UpgradeFailure",
]

Fault = Literal["user", "peer", "lab", "wsbench"]


class WsbenchError(Exception):
    """Base class of every error wsbench raises on purpose."""

    fault: ClassVar[Fault] = "wsbench"


class UsageError(WsbenchError):
    """The user's input is wrong; the CLI prints one line and exits with code 2."""

    fault: ClassVar[Fault] = "user"


class ScenarioError(UsageError):
    """A scenario field is wrong. ``field`` names it (dotted path), ``problem`` says why."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class InputFileError(UsageError):
    """A file the user pointed at cannot be read or parsed."""


class HdrDecodeError(InputFileError):
    """A serialised histogram (``hdr``) in a Result cannot be decoded; names where it is."""


class LocalError(WsbenchError):
    """wsbench itself failed (not the target, not the user's input, not the lab)."""

    fault: ClassVar[Fault] = "wsbench"


class LabError(WsbenchError):
    """A lab member failed; the message carries the process's own log lines."""

    fault: ClassVar[Fault] = "lab"


class ProbeFailed(LabError):
    """A lab member did not upgrade and echo in time; the last error is chained."""


class PeerError(WsbenchError):
    """The peer (the target, or whatever answers in its name) is at fault."""

    fault: ClassVar[Fault] = "peer"


class RemoteProtocolError(PeerError):
    """The peer broke the WebSocket protocol."""


class HandshakeParseError(RemoteProtocolError):
    """The peer's HTTP response head cannot be parsed (not HTTP/1.x, malformed, too large)."""


class HandshakeError(PeerError):
    """The upgrade did not give a WebSocket (carries the HTTP response when there was one)."""

    def __init__(self, message: str, response: object | None = None) -> None:
        super().__init__(message)
        self.response = response


class UpgradeFailure(PeerError):
    """A session could not be opened; ``kind`` is its failure class for the Result."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
