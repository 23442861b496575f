"""The summary table printed at the end of a run (from the Result only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsbench.result.infrastructure import LAB_FAILURE, lab_failure_lines
from wsbench.result.model import Result
from wsbench.result.summary import Summary

__all__ = ["summary_table"]


def _ms(value: float | None) -> str:
    value = value or 0.0
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def summary_table(result: Result | Mapping[str, Any]) -> str:
    """A plain-text table, one row per target."""
    if not isinstance(result, Result):
        result = Result.from_json(result)
    header = (
        f"{'target':<18} {'opened':>7} {'failed':>6} {'dropped':>7} "
        f"{'upgrade p50/p99 ms':>19} {'rtt p50/p99/p99.9 ms':>22} {'sent':>9} {'lost':>6}"
    )
    lines = [header, "-" * len(header)]
    for name, target in result.targets.items():
        sessions, messages = target.session_counts, target.message_counts
        up = (target.upgrade or {}).get("total") or Summary()
        rtt = target.rtt or Summary()
        lines.append(
            f"{name[:18]:<18} {sessions.opened:>7} {sessions.failed:>6} {sessions.dropped:>7} "
            f"{_ms(up.p50) + ' / ' + _ms(up.p99):>19} "
            f"{_ms(rtt.p50) + ' / ' + _ms(rtt.p99) + ' / ' + _ms(rtt.p999):>22} "
            f"{messages.sent:>9} {messages.lost:>6}"
        )
        failures = {k: v for k, v in (target.upgrade_failures or {}).items() if v}
        if failures:
            lines.append("    upgrade failures: " + ", ".join(f"{k}={v}" for k, v in sorted(failures.items())))
        for line in lab_failure_lines(target):
            lines.append(f"    {LAB_FAILURE.upper()}: {line}")
        codes = (target.closes.by_code if target.closes else None) or {}
        if codes:
            lines.append("    closes by code: " + ", ".join(f"{k}={v}" for k, v in sorted(codes.items())))
    if not result.complete:
        lines.append("(partial: the run did not complete)")
    return "\n".join(lines)
