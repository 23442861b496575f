"""The one failure vocabulary: why an upgrade failed, why an open session ended.

Pure data and pure classifiers (no I/O). Every transport — picows, lean, websockets — hands
what it saw (an exception, a handshake problem, a library's error text, a close frame's
payload) to these functions, so a failure gets the same class whichever transport saw it.
The README's "Failure vocabulary" table is :data:`UPGRADE_FAILURES`, :data:`DROP_CAUSES` and
:data:`PROTOCOL_ERRORS`; ``tests/protocol/test_failures.py`` checks they agree.

    upgrade failure  ->  Result: targets.<t>.upgrade_failures[<class>]
    drop cause       ->  Result: targets.<t>.drop_causes[<cause>]
    protocol error   ->  Result: targets.<t>.protocol_errors[<what>] (cause protocol_error:<what>)
"""

from __future__ import annotations

import errno
import re

from wsbench.errors import UpgradeFailure

__all__ = [
    "UPGRADE_FAILURES",
    "DROP_CAUSES",
    "PROTOCOL_ERRORS",
    "CLOSE_PROBLEMS",
    "PROTOCOL_ERROR",
    "MESSAGE_TOO_BIG",
    "protocol_error",
    "is_protocol_error",
    "is_upgrade_failure",
    "is_drop_cause",
    "classify_error",
    "handshake_problem",
    "library_error",
    "close_problem",
    "is_valid_close_code",
    "close_code_in",
    "error_close_code",
]

#: Upgrade-failure classes (``http_<status>`` stands for every HTTP status but 101).
UPGRADE_FAILURES: dict[str, str] = {
    "http_<status>": "the server answered the upgrade with this HTTP status instead of 101",
    "bad_accept": "a 101 whose Sec-WebSocket-Accept does not match the key sent",
    "bad_upgrade": "a 101 without Upgrade: websocket / Connection: upgrade, or announcing a body",
    "bad_subprotocol": "a 101 selecting a subprotocol that was not offered",
    "bad_response": "a response that is not HTTP/1.1, is malformed, or whose head is too large",
    "closed_before_101": "the server closed the connection (FIN) before a complete response",
    "reset": "the connection was reset (RST) before the 101",
    "refused": "the TCP connection was refused",
    "timeout": "DNS, TCP, TLS and the upgrade together took longer than connect_timeout",
    "tls": "the TLS handshake failed (certificate, protocol version, ...)",
    "dns": "the host name did not resolve",
    "local": "this machine could not open the connection (no free port or file descriptor, ...)",
    "cancelled": "the run stopped (Ctrl-C, SIGTERM) while the upgrade was under way",
}

#: Why an open session ended other than by the client's own close (``sessions.dropped``).
DROP_CAUSES: dict[str, str] = {
    "server_close": "the server sent a valid close frame (its code in closes.by_code)",
    "eof": "the server closed the connection (FIN) without a close frame",
    "reset": "the connection was reset (RST) without a close frame",
    "message_too_big": "a message or frame over max_message_size: wsbench closed with 1009",
    "protocol_error:<what>": "the server broke RFC 6455 (<what>: see PROTOCOL_ERRORS): wsbench "
                             "closed with 1002 (1007 for a close reason that is not UTF-8)",
    "ping_timeout": "no pong within ping_interval",
    "close_timeout": "the server did not answer the client's close frame in time",
    "worker_died": "the wsbench worker process holding the session died (its sessions end there)",
    "aborted": "the run ended before the session could close",
}

#: ``<what>`` of ``protocol_error:<what>``: how the server broke RFC 6455 after the 101.
PROTOCOL_ERRORS: dict[str, str] = {
    "masked_frame": "a masked frame from the server (RFC 6455 5.1)",
    "reserved_opcode": "a frame with a reserved opcode (3-7, 11-15)",
    "reserved_bits": "RSV1-3 set without an extension that defines them",
    "bad_length": "a payload length not in its shortest form, or with the 64-bit top bit set",
    "fragmented_control": "a control frame (close, ping, pong) without FIN",
    "control_too_long": "a control frame with more than 125 bytes of payload",
    "unexpected_continuation": "a continuation frame outside a fragmented message",
    "unfinished_message": "a new data message (or a close) inside a fragmented one",
    "bad_close_code": "a close code that may not be sent (e.g. 999, 1005, 1006, 5000)",
    "bad_close_payload": "a close frame with a 1-byte payload",
    "close_reason_not_utf8": "a close reason that is not UTF-8",
    "other": "another violation (the detail is in events.jsonl)",
}

#: Protocol errors that are a close frame's: the session ended on a close frame, flagged invalid.
CLOSE_PROBLEMS = ("bad_close_code", "bad_close_payload", "close_reason_not_utf8")
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007
MESSAGE_TOO_BIG = 1009
_VALID_BELOW_3000 = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})


def protocol_error(what: str) -> str:
    """The drop cause of protocol error ``what`` (``protocol_error:masked_frame``)."""
    return f"protocol_error:{what if what in PROTOCOL_ERRORS else 'other'}"


def is_protocol_error(cause: str) -> bool:
    return cause.startswith("protocol_error:")


def is_upgrade_failure(kind: str) -> bool:
    """``kind`` is in the vocabulary (``http_<status>`` with a 3-digit status)."""
    return kind in UPGRADE_FAILURES or bool(re.fullmatch(r"http_[1-5][0-9][0-9]", kind))


def is_drop_cause(cause: str) -> bool:
    if is_protocol_error(cause):
        return cause.partition(":")[2] in PROTOCOL_ERRORS
    return cause in DROP_CAUSES


def is_valid_close_code(code: int) -> bool:
    """Whether ``code`` may be sent in a close frame (RFC 6455 7.4, the IANA registry)."""
    return 3000 <= code <= 4999 or code in _VALID_BELOW_3000


def error_close_code(cause: str) -> int:
    """The code the client closes with when it fails the connection for ``cause``."""
    if cause == "message_too_big":
        return MESSAGE_TOO_BIG
    return INVALID_DATA if cause == protocol_error("close_reason_not_utf8") else PROTOCOL_ERROR


def close_problem(payload: bytes) -> tuple[int | None, str, str | None]:
    """A close frame's payload as the peer sent it: ``(code, reason, problem)``.

    ``code`` is None for an empty payload (no status: recorded as 1005) and for a 1-byte one;
    ``problem`` is None for a valid frame, else one of :data:`CLOSE_PROBLEMS`. An invalid
    reason is shown with replacement characters.
    """
    if not payload:
        return None, "", None
    if len(payload) == 1:
        return None, "", "bad_close_payload"
    code = int.from_bytes(payload[:2], "big")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        return code, payload[2:].decode("utf-8", "replace"), "close_reason_not_utf8"
    return code, reason, None if is_valid_close_code(code) else "bad_close_code"


def close_code_in(text: str) -> int | None:
    """The close code a library's error text names (picows: ``invalid close code: 999``)."""
    match = re.search(r"close code:?\s*(\d+)", text)
    return int(match.group(1)) if match else None


# --- libraries' words -> ours --------------------------------------------------------------

#: (pattern, protocol error) for the error texts of picows and websockets (and our own lean).
_LIBRARY_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), what) for pattern, what in (
        (r"masked frame|incorrect masking|masked a frame", "masked_frame"),
        (r"invalid opcode|reserved opcode", "reserved_opcode"),
        (r"reserved bits|rsv", "reserved_bits"),
        (r"payload len|payload length", "bad_length"),
        (r"fragmented control", "fragmented_control"),
        (r"control frame (too long|with payload size > 125)|oversized control", "control_too_long"),
        (r"unexpected continuation|continuation frame outside", "unexpected_continuation"),
        (r"expected a continuation|incomplete fragmented|inside a fragmented", "unfinished_message"),
        (r"invalid close code size|close frame too short|1-byte payload", "bad_close_payload"),
        (r"invalid close code|invalid status code", "bad_close_code"),
        (r"invalid utf-8 reason|close reason", "close_reason_not_utf8"),
    )
)
_TOO_BIG = re.compile(r"too big|exceeding max|exceeds? (the )?(limit|max)|over \d+ bytes|message_too_big",
                      re.IGNORECASE)


def library_error(text: str) -> str:
    """The drop cause for a library's protocol-error text (``message_too_big`` or
    ``protocol_error:<what>``)."""
    if _TOO_BIG.search(text):
        return "message_too_big"
    for pattern, what in _LIBRARY_ERRORS:
        if pattern.search(text):
            return protocol_error(what)
    return protocol_error("other")


#: (pattern, upgrade failure) for what a 101 check found wrong (lean, picows, websockets).
_HANDSHAKE_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), kind) for pattern, kind in (
        (r"accept", "bad_accept"),
        (r"subprotocol|sec-websocket-protocol", "bad_subprotocol"),
        (r"upgrade|connection|content-length|transfer-encoding|body", "bad_upgrade"),
    )
)


def handshake_problem(text: str) -> str:
    """The upgrade failure for what was wrong with a 101 (``bad_accept``, ...)."""
    for pattern, kind in _HANDSHAKE_PROBLEMS:
        if pattern.search(text):
            return kind
    return "bad_response"


_LOCAL_ERRNOS = frozenset({errno.EADDRNOTAVAIL, errno.EADDRINUSE, errno.EMFILE, errno.ENFILE,
                           errno.ENOBUFS, errno.ENOMEM})


def classify_error(exc: BaseException) -> UpgradeFailure:
    """The upgrade failure for an exception raised while opening a session."""
    if isinstance(exc, UpgradeFailure):
        return exc
    detail = f"{type(exc).__name__}: {exc}"[:160]
    if type(exc).__name__ == "CancelledError":
        return UpgradeFailure("cancelled", "the run stopped")
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is TimeoutError
        return UpgradeFailure("timeout", "upgrade")
    if any(kind.__module__ in ("ssl", "_ssl") for kind in type(exc).__mro__):  # no ssl import: pure
        return UpgradeFailure("tls", detail)
    if isinstance(exc, ConnectionRefusedError):
        return UpgradeFailure("refused", detail)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return UpgradeFailure("reset", detail)
    if isinstance(exc, EOFError):  # asyncio.IncompleteReadError is one
        return UpgradeFailure("closed_before_101", detail)
    if isinstance(exc, OSError) and exc.errno in _LOCAL_ERRNOS:
        return UpgradeFailure("local", detail)
    if isinstance(exc, OSError) and exc.errno == errno.ECONNRESET:
        return UpgradeFailure("reset", detail)
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ETIMEDOUT):
        return UpgradeFailure("timeout", detail)
    if isinstance(exc, OSError):
        return UpgradeFailure("refused" if exc.errno == errno.ECONNREFUSED else "reset", detail)
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc and isinstance(cause, (OSError, EOFError, TimeoutError)):
        return classify_error(cause)
    return UpgradeFailure("bad_response", detail)
