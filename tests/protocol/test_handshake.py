"""The hand-built upgrade: can be broken on purpose, checks the server's answer."""

from __future__ import annotations

import pytest

from wsbench.errors import HandshakeParseError
from wsbench.protocol.handshake import (
    Response,
    accept_for,
    build_request,
    check_upgrade,
    parse_extensions,
    parse_response,
)


def test_accept_matches_rfc_example() -> None:
    assert accept_for("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_request_can_leave_out_key_and_version() -> None:
    full = build_request("h:1", "/p?q=1", key="k", extra={"Origin": "http://o"}).decode()
    assert full.startswith("GET /p?q=1 HTTP/1.1\r\n") and full.endswith("\r\n\r\n")
    assert "Sec-WebSocket-Key: k\r\n" in full and "Sec-WebSocket-Version: 13\r\n" in full
    assert "Origin: http://o\r\n" in full and "Host: h:1\r\n" in full
    broken = build_request("h", "/", key=None, version="8").decode()
    assert "Sec-WebSocket-Key" not in broken and "Sec-WebSocket-Version: 8\r\n" in broken


def test_parse_response_waits_for_the_whole_head() -> None:
    head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nX-A: 1\r\nx-a: 2\r\n\r\n")
    assert parse_response(head[:-1]) is None
    response, size = parse_response(head + b"\x81\x00")  # a frame right behind the head
    assert size == len(head) and response.status == 101 and response.header("X-A") == "1, 2"
    assert check_upgrade(response, "dGhlIHNhbXBsZSBub25jZQ==") == []
    assert check_upgrade(response, "other")[0].startswith("Sec-WebSocket-Accept")


def test_check_upgrade_reports_status() -> None:
    assert check_upgrade(Response(400, "Bad Request"), "k") == ["HTTP 400 Bad Request"]


@pytest.mark.parametrize("head", [b"SSH-2.0-x\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n",
                                  b"HTTP/1.1 200 OK\r\nno-colon\r\n\r\n"])
def test_parse_response_rejects_garbage(head: bytes) -> None:
    with pytest.raises(HandshakeParseError):
        parse_response(head)


def test_parse_extensions() -> None:
    value = "permessage-deflate; client_max_window_bits=10; server_no_context_takeover, x-foo"
    assert parse_extensions(value) == [
        ("permessage-deflate", {"client_max_window_bits": "10", "server_no_context_takeover": None}),
        ("x-foo", {}),
    ]
    assert parse_extensions(None) == []


def test_answers_to_what_was_not_offered_are_problems() -> None:
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    head = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate\r\n"
            b"Set-Cookie: a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT\r\nSet-Cookie: b=2\r\n\r\n")
    parsed = parse_response(head)
    assert parsed is not None
    response = parsed[0]
    problems = check_upgrade(response, key)
    assert len(problems) == 2 and "'chat', which was not offered" in problems[0]
    assert "none were offered" in problems[1]
    assert check_upgrade(response, key, protocols=("x", "chat"), extensions=True) == []
    assert response.header_list("set-cookie") == ["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT", "b=2"]
