"""Counters of the echo pod, shared by all its worker processes (one row each, no locks).

They live in a MAP_SHARED anonymous mapping created before the workers fork; ``/stats``
sums the rows.
"""

from __future__ import annotations

import mmap
from typing import Any

__all__ = ["Counters", "OPEN", "TOTAL", "RECEIVED", "ECHOED", "DROPPED", "ABORTED", "OVERFLOW",
           "CLOSE_SENT", "CLOSE_RECEIVED"]

# --- counters shared by all worker processes --------------------------------------------------

# Scalar slots of a row, then two tables of (close code, count) pairs.
_SCALARS = (
    "sessions_open",
    "sessions_total",
    "messages_received",
    "messages_echoed",
    "messages_dropped",
    "sessions_aborted",
    "close_codes_overflow",
)
OPEN, TOTAL, RECEIVED, ECHOED, DROPPED, ABORTED, OVERFLOW = range(len(_SCALARS))
CLOSE_SENT, CLOSE_RECEIVED = 0, 1
_CODE_SLOTS = 32


class Counters:
    """Counter rows (one per process) in a MAP_SHARED anonymous mapping that survives fork.

    Each process writes only its own row (``use_row`` after fork), so no locks: aligned
    8-byte stores and loads are atomic. ``snapshot()`` sums every row.
    """

    def __init__(self, rows: int) -> None:
        self._rows = rows
        self._stride = len(_SCALARS) + 2 * 2 * _CODE_SLOTS
        self._map = mmap.mmap(-1, rows * self._stride * 8)
        self._cells = memoryview(self._map).cast("q")
        self._base = 0

    def use_row(self, row: int) -> None:
        self._base = row * self._stride

    def add(self, slot: int, n: int = 1) -> None:
        self._cells[self._base + slot] += n

    def count_close(self, table: int, code: int) -> None:
        """Count one close by code: ``CLOSE_SENT`` (server initiated) or ``CLOSE_RECEIVED``."""
        cells = self._cells
        start = self._base + len(_SCALARS) + table * 2 * _CODE_SLOTS
        for pair in range(start, start + 2 * _CODE_SLOTS, 2):
            if cells[pair] == 0:
                cells[pair] = code  # claim the slot before counting: readers skip count 0
            if cells[pair] == code:
                cells[pair + 1] += 1
                return
        self.add(OVERFLOW)

    def total(self, slot: int) -> int:
        """One scalar summed over every process's row (e.g. ``OPEN``: the pod's sessions)."""
        cells, stride = self._cells, self._stride
        return sum(cells[row * stride + slot] for row in range(self._rows))

    def snapshot(self) -> dict[str, Any]:
        cells = self._cells
        totals = dict.fromkeys(_SCALARS, 0)
        tables: list[dict[str, int]] = [{}, {}]
        for row in range(self._rows):
            base = row * self._stride
            for slot, name in enumerate(_SCALARS):
                totals[name] += cells[base + slot]
            for table in (CLOSE_SENT, CLOSE_RECEIVED):
                start = base + len(_SCALARS) + table * 2 * _CODE_SLOTS
                for pair in range(start, start + 2 * _CODE_SLOTS, 2):
                    code, count = cells[pair], cells[pair + 1]
                    if code and count:
                        key = str(code)
                        tables[table][key] = tables[table].get(key, 0) + count
        stats: dict[str, Any] = dict(totals)
        stats["closes_sent_by_code"] = dict(sorted(tables[CLOSE_SENT].items()))
        stats["closes_received_by_code"] = dict(sorted(tables[CLOSE_RECEIVED].items()))
        stats["processes"] = self._rows
        return stats
