"""The case catalogue, numbered as Autobahn|Testsuite numbers its cases (pure code).

:func:`catalogue` builds every case (cheap: payloads are materialised only when a
case runs); :func:`select` picks cases with shell-style patterns such as ``1.*``,
``5.*,6.4.*`` or ``9.7.1``. A pattern ``N.*`` also matches ``N`` itself.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

from wsbench.conform.cases.basic import framing, opcodes, pings, reserved_bits
from wsbench.conform.cases.closing import closing
from wsbench.conform.cases.fragmentation import fragmentation
from wsbench.conform.cases.limits import auto_fragmentation, limits
from wsbench.conform.cases.utf8 import utf8
from wsbench.conform.model import Case
from wsbench.errors import UsageError

__all__ = ["GROUPS", "catalogue", "select", "split_patterns"]

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
}


def catalogue(*, scale: float = 1.0) -> tuple[Case, ...]:
    """Every case, in Autobahn's order; ``scale`` multiplies group 9's sizes and counts."""
    if not scale > 0:
        raise UsageError(f"scale must be positive, got {scale}")
    cases = [*framing(), *pings(), *reserved_bits(), *opcodes(), *fragmentation(), *utf8(),
             *closing(), *limits(scale), *auto_fragmentation()]
    return tuple(sorted(cases, key=lambda c: c.sort_key))


def split_patterns(values: Iterable[str]) -> list[str]:
    """``["1.*,5.*", "9.7.1"]`` -> ``["1.*", "5.*", "9.7.1"]``."""
    return [p.strip() for value in values for p in value.split(",") if p.strip()]


def _matches(case_id: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(case_id, pattern):
        return True
    return pattern.endswith(".*") and case_id == pattern[:-2]


def select(cases: Sequence[Case], *, include: Sequence[str] = (),
           exclude: Sequence[str] = ()) -> tuple[Case, ...]:
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
