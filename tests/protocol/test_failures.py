"""The failure vocabulary: pure classifiers, and the README's table is the module's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wsbench.errors import UpgradeFailure
from wsbench.protocol.failures import (
    DROP_CAUSES,
    PROTOCOL_ERRORS,
    UPGRADE_FAILURES,
    classify_error,
    close_code_in,
    close_problem,
    handshake_problem,
    is_drop_cause,
    is_upgrade_failure,
    library_error,
    protocol_error,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_table_is_the_vocabulary():
    text = README.read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.M))
    for table in (UPGRADE_FAILURES, DROP_CAUSES, PROTOCOL_ERRORS):
        assert set(table) <= documented, set(table) - documented


@pytest.mark.parametrize(("payload", "expected"), [
    (b"", (None, "", None)),
    (b"\x03", (None, "", "bad_close_payload")),
    ((1000).to_bytes(2, "big") + b"bye", (1000, "bye", None)),
    ((4000).to_bytes(2, "big"), (4000, "", None)),
    ((999).to_bytes(2, "big"), (999, "", "bad_close_code")),
    ((1005).to_bytes(2, "big"), (1005, "", "bad_close_code")),
    ((1006).to_bytes(2, "big"), (1006, "", "bad_close_code")),
    ((5000).to_bytes(2, "big"), (5000, "", "bad_close_code")),
    ((1000).to_bytes(2, "big") + b"\xff", (1000, "\ufffd", "close_reason_not_utf8")),
])
def test_close_frames_as_the_peer_sent_them(payload, expected):
    assert close_problem(payload) == expected


@pytest.mark.parametrize(("text", "cause"), [  # picows' and websockets' own words
    ("Received masked frame from server, RFC 6455 section 5.1 forbids this", "protocol_error:masked_frame"),
    ("incorrect masking", "protocol_error:masked_frame"),
    ("Received frame with invalid opcode=0x3", "protocol_error:reserved_opcode"),
    ("invalid opcode", "protocol_error:reserved_opcode"),
    ("reserved bits must be 0", "protocol_error:reserved_bits"),
    ("Received fragmented control frame", "protocol_error:fragmented_control"),
    ("fragmented control frame", "protocol_error:fragmented_control"),
    ("Received control frame with payload size > 125 bytes, opcode=0x9", "protocol_error:control_too_long"),
    ("control frame too long", "protocol_error:control_too_long"),
    ("unexpected continuation frame", "protocol_error:unexpected_continuation"),
    ("expected a continuation frame", "protocol_error:unfinished_message"),
    ("Received CLOSE with invalid close code: 999", "protocol_error:bad_close_code"),
    ("invalid status code", "protocol_error:bad_close_code"),
    ("Received CLOSE with invalid UTF-8 reason", "protocol_error:close_reason_not_utf8"),
    ("close frame too short", "protocol_error:bad_close_payload"),
    ("Received frame with invalid 64-bit payload length", "protocol_error:bad_length"),
    ("Received frame with payload size exceeding max allowed size, 9 > 1", "message_too_big"),
    ("frame with 9223372036854775807 bytes exceeds limit of 1048576 bytes", "message_too_big"),
    ("something new", "protocol_error:other"),
])
def test_library_words_map_to_ours(text, cause):
    assert library_error(text) == cause
    assert is_drop_cause(cause)


def test_names():
    assert close_code_in("Received CLOSE with invalid close code: 1005") == 1005
    assert protocol_error("nonsense") == "protocol_error:other"
    assert is_upgrade_failure("http_502") and is_upgrade_failure("bad_accept") and not is_upgrade_failure("other")
    assert handshake_problem("Sec-WebSocket-Accept is 'x', expected 'y'") == "bad_accept"
    assert handshake_problem("Upgrade header is 'h2c', not 'websocket'") == "bad_upgrade"
    assert handshake_problem("the server selected subprotocol 'x', which was not offered") == "bad_subprotocol"


@pytest.mark.parametrize(("exc", "kind"), [
    (ConnectionRefusedError(111, "refused"), "refused"),
    (ConnectionResetError(104, "reset"), "reset"),
    (TimeoutError(), "timeout"),
    (EOFError("closed"), "closed_before_101"),
    (OSError(99, "Cannot assign requested address"), "local"),
    (OSError(24, "Too many open files"), "local"),
    (ValueError("???"), "bad_response"),
])
def test_exceptions_while_opening(exc, kind):
    failure = classify_error(exc)
    assert isinstance(failure, UpgradeFailure) and failure.kind == kind and is_upgrade_failure(kind)
