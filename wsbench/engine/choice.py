"""Which transport class a scenario gets, importing that transport's module and no other.

A worker imports only the transport it runs: a lean worker (idle-heavy runs, where the
memory of a process counts) does not load picows and the picows/websockets transports
(~3.6 MiB of RSS per worker process, measured; a 100k-session run has 6 workers).
"""

from __future__ import annotations

from wsbench.engine.contracts import Transport
from wsbench.errors import ScenarioError
from wsbench.scenario import Scenario

__all__ = ["choose_transport", "transport_name", "idle_heavy", "LEAN_MAX_RATE"]

#: ``transport: auto`` picks ``lean`` in rate mode at up to this many messages/s per session
LEAN_MAX_RATE = 1.0


def idle_heavy(scenario: Scenario) -> bool:
    """Few messages per session (rate mode, at most :data:`LEAN_MAX_RATE` per second)."""
    return scenario.mode == "rate" and scenario.rate <= LEAN_MAX_RATE


def transport_name(scenario: Scenario) -> str:
    """``websockets``, ``lean`` or ``picows``: the transport for a scenario's ``transport`` setting.

    ``auto``: ``websockets`` for permessage-deflate; ``lean`` for idle-heavy runs, where
    memory and opening cost per session matter and per-message CPU hardly does (5.3 vs
    12.2 KiB per idle session, 0.29 vs 0.34 ms per open, ~1.4x the CPU per message:
    bench/bench_engine.py); ``picows`` with the compiled listener otherwise.
    """
    name = scenario.transport
    if name == "websockets" or (name == "auto" and scenario.deflate):
        return "websockets"
    if scenario.deflate:
        raise ScenarioError("transport", f"{name} cannot do permessage-deflate")
    if name == "lean" or (name == "auto" and idle_heavy(scenario)):
        return "lean"
    return "picows"


def choose_transport(scenario: Scenario) -> type[Transport]:
    """The transport class of :func:`transport_name`, its module imported now."""
    name = transport_name(scenario)
    if name == "lean":
        from wsbench.engine.lean import LeanTransport

        return LeanTransport
    from wsbench.engine import transports

    return transports.WebsocketsTransport if name == "websockets" else transports.PicowsTransport
