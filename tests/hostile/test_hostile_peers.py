"""Every behaviour of the hostile server, against each transport: the same class, the same
counts, bounded memory and time, and a quiet terminal.

Two sessions per behaviour, no reconnects: each session meets the behaviour once, so every
count is 2. The failure vocabulary is ``wsbench/protocol/failures.py`` (README "Failure
vocabulary"); a class that differs between transports fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hostile.conftest import TRANSPORTS, UNIT, HostileServer, Run, run_all

SESSIONS = 2
#: behaviour -> what the Result must say of it: upgrade failures, or drop causes (and
#: ``codes``: closes.by_code, ``invalid``: closes.invalid, ``protocol``: a drop cause prefix)
EXPECTED: dict[str, dict[str, Any]] = {
    # the upgrade
    "http_503": {"failures": {"http_503": SESSIONS}},
    "bad_accept": {"failures": {"bad_accept": SESSIONS}},
    "no_upgrade_header": {"failures": {"bad_upgrade": SESSIONS}},
    "garbage_response": {"failures": {"bad_response": SESSIONS}},
    "endless_headers": {"failures": {"bad_response": SESSIONS}},
    "close_before_101": {"failures": {"closed_before_101": SESSIONS}},
    "half_101_then_fin": {"failures": {"closed_before_101": SESSIONS}},
    "rst_during_101": {"failures": {"reset": SESSIONS}},
    "rst_at_once": {"failures": {"reset": SESSIONS}},
    "silent": {"failures": {"timeout": SESSIONS}},
    # memory
    "endless_fragments": {"drops": {"message_too_big": SESSIONS}, "codes": {"1006": SESSIONS}},
    "huge_single": {"drops": {"message_too_big": SESSIONS}},
    "huge_fragmented": {"drops": {"message_too_big": SESSIONS}},
    "length_2_63": {"drops": {"message_too_big": SESSIONS}},
    # protocol errors
    "masked_frame": {"drops": {"protocol_error:masked_frame": SESSIONS}},
    "reserved_opcode": {"drops": {"protocol_error:reserved_opcode": SESSIONS}},
    "reserved_control_opcode": {"drops": {"protocol_error:reserved_opcode": SESSIONS}},
    "reserved_bits": {"drops": {"protocol_error:reserved_bits": SESSIONS}},
    "fragmented_ping": {"drops": {"protocol_error:fragmented_control": SESSIONS}},
    "long_ping": {"drops": {"protocol_error:control_too_long": SESSIONS}},
    "orphan_continuation": {"drops": {"protocol_error:unexpected_continuation": SESSIONS}},
    "new_message_in_fragmented": {"drops": {"protocol_error:unfinished_message": SESSIONS}},
    "garbage_after_upgrade": {"drops": {"protocol_error:reserved_opcode": SESSIONS}},  # its first byte
    # closes, as the peer sent them
    "close_1000": {"drops": {"server_close": SESSIONS}, "codes": {"1000": SESSIONS}},
    "close_4000_reason": {"drops": {"server_close": SESSIONS}, "codes": {"4000": SESSIONS},
                          "reason": "going away for maintenance"},
    "close_empty": {"drops": {"server_close": SESSIONS}, "codes": {"1005": SESSIONS}},
    "close_1005": {"drops": {"protocol_error:bad_close_code": SESSIONS}, "codes": {"1005": SESSIONS},
                   "invalid": {"bad_close_code": SESSIONS}},
    "close_999": {"drops": {"protocol_error:bad_close_code": SESSIONS}, "codes": {"999": SESSIONS},
                  "invalid": {"bad_close_code": SESSIONS}},
    "close_5000": {"drops": {"protocol_error:bad_close_code": SESSIONS}, "codes": {"5000": SESSIONS},
                   "invalid": {"bad_close_code": SESSIONS}},
    "close_bad_utf8": {"drops": {"protocol_error:close_reason_not_utf8": SESSIONS},
                       "codes": {"invalid": SESSIONS}, "invalid": {"close_reason_not_utf8": SESSIONS}},
    "close_1_byte": {"drops": {"protocol_error:bad_close_payload": SESSIONS}, "codes": {"invalid": SESSIONS},
                     "invalid": {"bad_close_payload": SESSIONS}},
    # the connection
    "eof_after_upgrade": {"drops": {"eof": SESSIONS}, "codes": {"1006": SESSIONS}},
    "rst_after_upgrade": {"drops": {"reset": SESSIONS}, "codes": {"1006": SESSIONS}},
    "ping_storm": {"drops": {}, "codes": {"1000": SESSIONS}},  # answered, harmless: closed by us at the end
}
#: stderr lines a run may print (-q): the generator's own warning on this shared machine
ALLOWED_STDERR = ("WARNING: load generator saturated",)


@pytest.fixture(scope="module")
def runs(hostile: HostileServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every behaviour on each transport: one run per transport, one target per behaviour."""
    tmp: Path = tmp_path_factory.mktemp("hostile")
    targets = [arg for name in EXPECTED for arg in ("--target", f"{name}={hostile.url(name)}")]

    def args(transport: str) -> list[str]:
        return [*targets, "--sessions", str(SESSIONS), "--processes", "1", "--duration", "1",
                "--rate", "10", "--no-reconnect", "--connect-timeout", "1", "--reply-timeout", "0.5"]

    return run_all(args, tmp, timeout=300 * UNIT)


def test_each_run_ends_well_and_quietly(runs: dict[str, Run]) -> None:
    for transport, run in runs.items():
        assert run.returncode == 0, (transport, run.stderr[-2000:])
        noise = [line for line in run.stderr.splitlines() if line and not line.startswith(ALLOWED_STDERR)]
        assert noise == [], (transport, noise[:20])
        assert run.result["complete"] is True, transport
        assert "Traceback" not in run.stderr + run.stdout and "never retrieved" not in run.stderr


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("behaviour", list(EXPECTED))
def test_behaviour_is_classed_and_counted_alike(runs: dict[str, Run], behaviour: str, transport: str) -> None:
    expected = EXPECTED[behaviour]
    target = runs[transport].target(behaviour)
    sessions = target["sessions"]
    failures = {k: v for k, v in target["upgrade_failures"].items() if v}
    drops = {k: v for k, v in (target.get("drop_causes") or {}).items() if v}
    if "failures" in expected:
        assert failures == expected["failures"], (transport, failures, drops)
        assert sessions["opened"] == 0 and sessions["failed"] == SESSIONS
        return
    assert failures == {}, (transport, failures)
    assert sessions["opened"] == SESSIONS, (transport, sessions)
    assert drops == expected["drops"], (transport, drops)
    assert sessions["dropped"] == sum(drops.values())
    protocol = {k.partition(":")[2]: v for k, v in drops.items() if k.startswith("protocol_error:")}
    assert {k: v for k, v in (target.get("protocol_errors") or {}).items() if v} == protocol
    if "codes" in expected:
        assert target["closes"]["by_code"] == expected["codes"], (transport, target["closes"])
    assert {k: v for k, v in (target["closes"].get("invalid") or {}).items() if v} == expected.get("invalid", {})
    if "reason" in expected:
        reasons = {e.get("reason") for e in runs[transport].events(behaviour) if e["kind"] == "session_dropped"}
        assert reasons == {expected["reason"]}, (transport, reasons)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_memory_and_time_stay_bounded(runs: dict[str, Run], transport: str) -> None:
    run = runs[transport]
    assert run.worker_rss_mb("endless_fragments") < 200, run.worker_rss_mb("endless_fragments")
    assert run.worker_rss_mb("huge_single") < 200
    for behaviour in EXPECTED:  # each target's worker: from its start to its end
        events = run.events(behaviour)
        started = min(e["wall"] for e in events if e["kind"] == "worker_started")
        stopped = max(e["wall"] for e in events if e["kind"] == "worker_stopped")
        assert stopped - started < 6 * UNIT, (transport, behaviour, stopped - started)


def test_the_classes_are_the_same_on_every_transport(runs: dict[str, Run]) -> None:
    """Beside the table: whatever a behaviour gives, the three transports give the same."""
    def classes(run: Run, behaviour: str) -> tuple[Any, ...]:
        target = run.target(behaviour)
        return ({k: v for k, v in target["upgrade_failures"].items() if v},
                {k: v for k, v in (target.get("drop_causes") or {}).items() if v},
                target["closes"]["by_code"])

    for behaviour in EXPECTED:
        seen = {transport: classes(run, behaviour) for transport, run in runs.items()}
        assert len({repr(value) for value in seen.values()}) == 1, (behaviour, seen)
