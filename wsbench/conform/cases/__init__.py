"""The case catalogue, numbered as Autobahn|Testsuite numbers its cases (pure code).

:func:`catalogue` builds every case (cheap: payloads are materialised only when a
case runs) and the ingress group's checks; :func:`select` picks them with
shell-style patterns such as ``1.*``, ``5.*,6.4.*``, ``9.7.1`` or ``ingress.*``.
A pattern ``N.*`` also matches ``N`` itself.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from wsbench.conform.cases.basic import framing, opcodes, pings, reserved_bits
from wsbench.conform.cases.closing import closing
from wsbench.conform.cases.deflate import compression_parameters, compression_payloads
from wsbench.conform.cases.fragmentation import fragmentation
from wsbench.conform.cases.ingress import IngressCheck, ingress_checks
from wsbench.conform.cases.limits import auto_fragmentation, limits
from wsbench.conform.cases.utf8 import utf8
from wsbench.conform.model import Case
from wsbench.errors import UsageError

__all__ = ["GROUPS", "AnyCase", "catalogue", "select", "split_patterns"]

#: an Autobahn case (one connection, judged by :mod:`wsbench.conform.judge`) or an ingress check
AnyCase = Case | IngressCheck

#: Autobahn's group numbers and names, in order.
GROUPS: dict[str, str] = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Auto-Fragmentation",
    "12": "WebSocket Compression (payloads)",
    "13": "WebSocket Compression (parameters)",
    "ingress": "Ingress",
}


def catalogue(*, scale: float = 1.0, deflate_scale: float = 1.0) -> tuple[AnyCase, ...]:
    """Every case, in Autobahn's order, then the ingress checks.

    ``scale`` multiplies group 9's sizes and counts; ``deflate_scale`` the message
    counts of groups 12-13 (Autobahn: 1000 per case).
    """
    for name, value in (("scale", scale), ("deflate scale", deflate_scale)):
        if not value > 0:
            raise UsageError(f"{name} must be positive, got {value}")
    cases: list[AnyCase] = [
        *framing(), *pings(), *reserved_bits(), *opcodes(), *fragmentation(), *utf8(),
        *closing(), *limits(scale), *auto_fragmentation(), *compression_payloads(deflate_scale),
        *compression_parameters(deflate_scale), *ingress_checks()]
    return tuple(sorted(cases, key=lambda c: c.sort_key))


def split_patterns(values: Iterable[str]) -> list[str]:
    """``["1.*,5.*", "9.7.1"]`` -> ``["1.*", "5.*", "9.7.1"]``."""
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def _matches(case_id: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(case_id, pattern):
        return True
    return pattern.endswith(".*") and case_id == pattern[:-2]


def select(cases: Sequence[AnyCase], *, include: Sequence[str] = (),
           exclude: Sequence[str] = ()) -> tuple[AnyCase, ...]:
    """The cases matching any ``include`` pattern (all when empty) and no ``exclude`` pattern.

    A pattern that matches no case at all is a UsageError (a typo must not run nothing).
    """
    for pattern in [*include, *exclude]:
        if not any(_matches(c.id, pattern) for c in cases):
            raise UsageError(f"case pattern {pattern!r} matches no case")
    chosen = [c for c in cases
              if (not include or any(_matches(c.id, p) for p in include))
              and not any(_matches(c.id, p) for p in exclude)]
    return tuple(chosen)
