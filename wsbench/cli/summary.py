"""The summary printed at the end of a run (from the Result only): a table, one line per
target that never worked saying why, and with several targets the ranked verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wsbench.protocol.failures import PROTOCOL_ERRORS
from wsbench.result import fmt
from wsbench.result.diagnosis import diagnose, failure_text
from wsbench.result.infrastructure import LAB_FAILURE, lab_failure_lines
from wsbench.result.model import Disruption, Result, TargetResult
from wsbench.result.ranking import Floor, disruption_name, rank_result
from wsbench.result.summary import Summary

__all__ = ["summary_table", "disruption_line", "send_lag_line"]


def disruption_line(item: Disruption) -> str:
    """``pod-restart@5s:pod-1: 21 sessions dropped, 5 messages lost, 10 × HTTP 502, recovery p99 806 ms``."""
    failures = item.extra.get("upgrade_failures")
    failed = ", ".join(failure_text(k, int(v)) for k, v in sorted(
        (failures or {}).items(), key=lambda kv: -kv[1]) if v) if isinstance(failures, Mapping) else ""
    recovery = item.recovery.statistic("p99") if item.recovery is not None else None
    parts = [f"{item.sessions_dropped or 0} sessions dropped", f"{item.messages_lost or 0} messages lost",
             failed or "no failed upgrades",
             f"recovery p99 {fmt.ms(recovery)}" if recovery is not None else "no recovery measured"]
    return f"{disruption_name(item)}: " + ", ".join(parts)


def _ms(value: float | None) -> str:
    value = value or 0.0
    return f"{value:.2f}" if value < 100 else f"{value:.0f}"


def send_lag_line(target: TargetResult) -> str | None:
    """Rate mode: how late the generator sent, and the RTT from the actual send (None otherwise)."""
    lag, service = target.send_lag, target.rtt_service
    if lag is None or not lag.count or service is None or not service.count:
        return None
    return (f"rtt from the actual send p50/p99 {_ms(service.p50)} / {_ms(service.p99)} ms "
            f"(rtt counts from the scheduled time, so it holds the generator's own send lag: "
            f"p50 {_ms(lag.p50)} / p99 {_ms(lag.p99)} ms)")


def summary_table(result: Result | Mapping[str, Any], *, floor: Floor | None = None) -> str:
    """A plain-text table, one row per target; then a diagnosis per target that never worked
    and, with several targets, the ranked verdict (:mod:`wsbench.result.ranking`)."""
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
        line = send_lag_line(target)
        if line is not None:
            lines.append(f"    {line}")
        failures = {k: v for k, v in (target.upgrade_failures or {}).items() if v}
        if failures:
            lines.append("    upgrade failures: " + ", ".join(f"{k}={v}" for k, v in sorted(failures.items())))
        for line in lab_failure_lines(target):
            lines.append(f"    {LAB_FAILURE.upper()}: {line}")
        codes = (target.closes.by_code if target.closes else None) or {}
        if codes:
            lines.append("    closes by code: " + ", ".join(f"{k}={v}" for k, v in sorted(codes.items())))
        for item in target.disruption_list:
            lines.append(f"    {disruption_line(item)}")
        causes = {k: v for k, v in (target.drop_causes or {}).items() if v}
        if causes:
            lines.append("    drops by cause: " + ", ".join(f"{k}={v}" for k, v in sorted(causes.items())))
        for what, count in sorted((target.protocol_errors or {}).items()):  # one line per class
            if count:
                lines.append(f"    protocol error {what}: {count} session(s): {PROTOCOL_ERRORS.get(what, what)}")
        unsent = target.message_counts.count("unsent")
        if unsent:
            lines.append(f"    unsent: {unsent} message(s) held back: the target stopped reading "
                         f"({target.session_counts.count('pushed_back')} session(s))")
    if not result.complete:
        lines.append("(partial: the run did not complete)")
    for name, target in result.targets.items():
        line = diagnose(target)
        if line is not None:
            lines.append(f"{name}: {line}")
    if len(result.targets) >= 2:
        lines += rank_result(result, floor=floor).lines()
    return "\n".join(lines)
